"""InvokeEndpoint on the local cloud is answered by `textclf serve` running the endpoint's model."""

from __future__ import annotations

import json
import shutil
import tarfile

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.roles import sagemaker_role
from tests.workflows.conftest import ARTIFACTS

ENDPOINT = "textclf-test-endpoint"
COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def deploy(tmp_path, model_dir, version: str) -> str:
    """Upload the model as model.tar.gz and put an endpoint on it, as the redeploy Lambda does."""
    archive = tmp_path / f"{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    key = f"models/{version}/model.tar.gz"
    boto3.client("s3").upload_file(str(archive), ARTIFACTS, key)
    sm = boto3.client("sagemaker")
    name = f"{ENDPOINT}-{version[:8]}"
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=serving_role(),
        PrimaryContainer={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-serving:initial",
            "ModelDataUrl": f"s3://{ARTIFACTS}/{key}",
            "Environment": {"MODEL_VERSION": version},
        },
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
    }
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    return name


def serving_role() -> str:
    """The model's execution role: the local cloud reads model data as it (IAM enforced)."""
    try:
        return boto3.client("iam").get_role(RoleName="textclf-serving")["Role"]["Arn"]
    except ClientError:
        return sagemaker_role("textclf-serving", ARTIFACTS)


def wait_in_service(sm) -> None:
    waiter = sm.get_waiter("endpoint_in_service")
    waiter.wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def invoke(texts: list[str]) -> dict:
    runtime = boto3.client("sagemaker-runtime")
    response = runtime.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="application/json", Body=json.dumps({"inputs": texts}).encode()
    )
    return json.loads(response["Body"].read())


def test_invoke_is_served_by_the_live_model(
    buckets, tiny_model_dir, tmp_path, repo_root, monkeypatch
) -> None:
    monkeypatch.setenv("TEXTCLF_PARAMS", str(repo_root / "params.yaml"))
    sm = boto3.client("sagemaker")
    first = deploy(tmp_path, tiny_model_dir, COMMIT)
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=first)
    wait_in_service(sm)
    answer = invoke(["where is my parcel?", "refund please"])
    assert answer["model_version"] == COMMIT
    assert len(answer["predictions"]) == 2
    assert {p["label"] for p in answer["predictions"]} <= {"billing", "delivery", "returns"}

    # The endpoint moves to another model: the next request is answered by that one.
    other = "f" * 40
    second_dir = tmp_path / "second"
    shutil.copytree(tiny_model_dir, second_dir)
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=deploy(tmp_path, second_dir, other))
    wait_in_service(sm)
    assert invoke(["hello"])["model_version"] == other

    # A bad request reaches the server and comes back as SageMaker's ModelError.
    with pytest.raises(ClientError, match="ModelError") as raised:
        invoke([])
    assert "400" in str(raised.value)


def test_invoke_unknown_endpoint(buckets) -> None:
    with pytest.raises(ClientError, match="not found"):
        invoke(["hello"])
