"""The Lambda as it ships: the zip, invoked through the local cloud's Lambda API, and the CLI."""

from __future__ import annotations

import ast
import base64
import io
import json
import subprocess
import sys
import time
import zipfile

import boto3
import pytest
from redeploy_world import (
    BUCKET,
    COMMITS,
    ENDPOINT,
    LOCK_TABLE,
    direct_event,
    lambda_environment,
)
from tests.roles import redeploy_lambda_role

from textclf.lambda_zip import build as build_lambda_zip
from textclf.release import redeploy

SAGEMAKER_ROLE = "arn:aws:iam::123456789012:role/textclf-sagemaker"  # make_world's

A, B = COMMITS[:2]


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory) -> bytes:
    target = tmp_path_factory.mktemp("zip") / "redeploy.zip"
    build_lambda_zip(redeploy.ZIP_FILES, str(target))
    return target.read_bytes()


def create_function(code: bytes, handler: str, env: dict[str, str], timeout: int = 60) -> str:
    role_arn = redeploy_lambda_role(
        "textclf-redeploy-lambda",
        BUCKET,
        ENDPOINT,
        LOCK_TABLE,
        env.get("SAGEMAKER_ROLE_ARN") or SAGEMAKER_ROLE,
    )
    boto3.client("lambda").create_function(
        FunctionName="textclf-redeploy",
        Runtime="python3.13",
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=timeout,
        Environment={"Variables": env},
    )
    return "textclf-redeploy"


def invoke(name: str, event: dict) -> tuple[dict, dict]:
    response = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    payload = json.loads(response["Payload"].read())
    return payload, response


def test_the_zip_holds_the_handler_and_an_import_free_package_only(tmp_path, lambda_zip):
    again = tmp_path / "again.zip"
    build_lambda_zip(redeploy.ZIP_FILES, str(again))

    assert again.read_bytes() == lambda_zip  # deterministic
    archive = zipfile.ZipFile(io.BytesIO(lambda_zip))
    packages = ["textclf/__init__.py", "textclf/release/__init__.py", "textclf/training/__init__.py"]
    handlers = ["textclf/release/redeploy.py", "textclf/training/stop_job.py"]  # two functions, one package
    shared = ["textclf/s3uri.py"]  # the bucket-name rules redeploy imports
    assert sorted(archive.namelist()) == sorted([*packages, *handlers, *shared])
    for package in packages:
        tree = ast.parse(archive.read(package))
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    for module in [*handlers, *shared]:
        imports = {
            alias.name
            for node in ast.walk(ast.parse(archive.read(module)))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        # The standard library, boto3 and botocore (the Lambda runtime has both), and of ours only
        # modules the zip carries.
        ours = {name for name in imports if name.split(".")[0] == "textclf"}
        assert {name.replace(".", "/") + ".py" for name in ours} <= set(archive.namelist()), module
        others = {name.split(".")[0] for name in imports - ours} - set(sys.stdlib_module_names)
        assert others <= {"boto3", "botocore"}, module


def test_invoking_the_lambda_deploys_the_release(world, lambda_zip):
    world.upload(A)
    name = create_function(lambda_zip, "textclf.release.redeploy.handler", lambda_environment(world.role_arn))

    payload, response = invoke(name, direct_event(A))

    assert "FunctionError" not in response, payload
    assert payload["status"] == "deployed" and payload["model_version"] == A
    assert world.endpoint()["EndpointStatus"] == "InService"
    logs = base64.b64decode(response["LogResult"]).decode()
    assert '"step": "result"' in logs  # the structured log line
    events = boto3.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert any('"status": "deployed"' in event["message"] for event in events)


def test_a_lambda_that_raises_reports_a_function_error(world, lambda_zip):
    world.upload(A)
    env = {**lambda_environment(world.role_arn), "LOCK_WAIT_SECONDS": "0.2"}
    held = {"lock_id": {"S": f"redeploy/{ENDPOINT}"}, "holder": {"S": "x"}, "note": {"S": "x"}}
    world.ddb.put_item(TableName=LOCK_TABLE, Item={**held, "expires_at": {"N": str(int(time.time()) + 600)}})
    name = create_function(lambda_zip, "textclf.release.redeploy.handler", env)

    payload, response = invoke(name, direct_event(A))

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "DeployBusy"  # Lambda retries an asynchronous event


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_the_function_runs_its_own_code_with_its_environment(world):
    probe = (
        "import os\n"
        "def handler(event, context):\n"
        "    left = context.get_remaining_time_in_millis()\n"
        "    return {'file': __file__, 'bucket': os.environ['BUCKET'], 'event': event, 'left_ms': left}\n"
    )
    code = _zip({"textclf/__init__.py": "", "textclf/probe.py": probe})
    name = create_function(code, "textclf.probe.handler", {"BUCKET": "from-the-function"}, timeout=30)

    payload, _ = invoke(name, {"hello": 1})

    assert payload["file"].endswith("task/textclf/probe.py")  # not the installed package
    assert payload["bucket"] == "from-the-function" and payload["event"] == {"hello": 1}
    assert 0 < payload["left_ms"] <= 30_000


def test_the_function_timeout_is_enforced(world):
    code = _zip({"slow.py": "import time\ndef handler(event, context):\n    time.sleep(30)\n"})
    name = create_function(code, "slow.handler", {}, timeout=1)

    payload, response = invoke(name, {})

    assert response["FunctionError"] == "Unhandled"
    assert "timed out" in payload["errorMessage"]


def test_the_cli_runs_the_handler_and_exits_non_zero_on_failure(world, tmp_path, aws_env):
    world.upload(A)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(direct_event(A)))
    bad.write_text(json.dumps({"model_data_url": "s3://elsewhere/models/abcdef1/model.tar.gz"}))
    command = [sys.executable, "-m", "textclf.cli", "redeploy", "--event"]

    deployed = subprocess.run([*command, str(good)], capture_output=True, text=True, timeout=120)
    rejected = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=120)

    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["status"] == "deployed"
    assert rejected.returncode == 1
    assert "outside the artifacts bucket" in json.loads(rejected.stdout)["reason"]


def test_an_asynchronous_event_whose_handler_raises_is_retried_then_dead_lettered(world):
    """Lambda retries an asynchronous invocation twice while the handler raises, then sends the
    event to the dead-letter queue, as the function's role (which must be allowed to send)."""
    from tests.roles import create_role

    from textclf.localcloud import lambdas

    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="redeploy-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    role = create_role(
        "textclf-failing-fn",
        "lambda.amazonaws.com",
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}],
    )
    code = _zip(
        {"boom.py": "def handler(event, context):\n    raise RuntimeError('cannot deploy ' + event['x'])\n"}
    )
    boto3.client("lambda").create_function(
        FunctionName="failing",
        Runtime="python3.13",
        Role=role,
        Handler="boom.handler",
        Code={"ZipFile": code},
        DeadLetterConfig={"TargetArn": queue_arn},
    )
    lambdas.async_attempts.clear()

    response = boto3.client("lambda").invoke(
        FunctionName="failing", InvocationType="Event", Payload=b'{"x": "A"}'
    )
    assert response["StatusCode"] == 202

    deadline = time.monotonic() + 30
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
    assert [a["attempt"] for a in lambdas.async_attempts if a["function"] == "failing"] == [0, 1, 2]
    (message,) = messages
    assert json.loads(message["Body"]) == {"x": "A"}
    assert "cannot deploy A" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
