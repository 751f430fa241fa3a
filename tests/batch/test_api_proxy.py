"""The API front door's proxy Lambda, run by the local cloud's Lambda invoke as its own role
against the production endpoint (API Gateway itself is not in moto: its authorizer's verdict
reaches the proxy as the event's requestContext)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from batch_world import ENDPOINT
from tests.conftest import LABELS
from tests.roles import ACCOUNT, REGION, create_role

from textclf import lambda_zip
from textclf.frontdoor import proxy
from textclf.localcloud.iam import admin_env

CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/checkout"


def event(body: object, *, signed: bool = True, method: str = "POST", content_type: str = "application/json"):
    context: dict = {"http": {"method": method, "path": "/predict"}}
    if signed:
        context["authorizer"] = {"iam": {"userArn": CALLER, "accountId": ACCOUNT}}
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "version": "2.0",
        "headers": {"content-type": content_type},
        "body": text,
        "requestContext": context,
    }


def proxy_role(name: str, endpoint: str) -> str:
    """api.tf's statements: InvokeEndpoint on the one endpoint, and its own log group."""
    return create_role(
        name,
        "lambda.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}",
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"],
                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:*",
            },
        ],
    )


@pytest.fixture
def deploy(world, tmp_path, monkeypatch):
    for key, value in admin_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    code = Path(lambda_zip.build(proxy.ZIP_FILES, str(tmp_path / "api-proxy.zip"))).read_bytes()
    client = boto3.client("lambda")

    def make(name: str, role_endpoint: str = ENDPOINT) -> str:
        client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=proxy_role(name, role_endpoint),
            Handler="textclf.frontdoor.proxy.handler",
            Code={"ZipFile": code},
            Timeout=60,
            Environment={"Variables": {"ENDPOINT_NAME": ENDPOINT}},
        )
        return name

    def invoke(name: str, payload: dict) -> dict:
        answer = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        assert "FunctionError" not in answer, answer["Payload"].read()
        return json.loads(answer["Payload"].read())

    return make, invoke


def test_an_authorized_request_is_answered_by_the_endpoint_as_the_proxy_role(deploy):
    make, invoke = deploy
    name = make("textclf-prod-api-proxy")

    answer = invoke(name, event({"inputs": ["Where is my parcel?", "I was charged twice"]}))

    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body["model_version"] == "a1b2c3d4" and len(body["predictions"]) == 2
    assert {p["label"] for p in body["predictions"]} <= set(LABELS)


def test_an_unauthenticated_request_never_reaches_the_endpoint(deploy):
    make, invoke = deploy
    name = make("textclf-prod-api-proxy")

    answer = invoke(name, event({"inputs": "hello"}, signed=False))

    assert answer["statusCode"] == 401 and "SigV4" in json.loads(answer["body"])["error"]


def test_the_proxy_role_may_invoke_its_own_endpoint_only(deploy, world):
    make, invoke = deploy
    name = make("textclf-prod-api-proxy-other", role_endpoint="another-endpoint")  # the live one exists

    answer = invoke(name, event({"inputs": "hello"}))

    assert answer["statusCode"] == 502  # AccessDenied on another endpoint: not the caller's to fix
    assert json.loads(answer["body"])["error"] == "the endpoint did not answer: ClientError"


@pytest.mark.parametrize(
    ("request_event", "status", "message"),
    [
        (event({"inputs": "a"}, method="GET"), 405, "POST"),
        (event({"inputs": "a"}, content_type="text/plain"), 415, "application/json"),
        (event("{not json"), 400, "not valid JSON"),
        (event({"inputs": "a", "extra": 1}), 400, "no other keys"),
        (event({"inputs": [1]}), 400, "inputs[0] must be a non-empty string"),
        (event({"inputs": ["a"] * 33}), 413, "1 to 32 texts"),
        (event({"inputs": "x" * 5001}), 413, "at most 5000"),
        (event("x" * (256 * 1024 + 1)), 413, "bytes; at most"),
    ],
    ids=["method", "content-type", "json", "keys", "type", "count", "chars", "size"],
)
def test_requests_of_the_wrong_size_or_shape_are_refused_in_the_proxy(request_event, status, message):
    answer = proxy.handler(request_event)  # refused before any AWS call: no client is needed

    assert answer["statusCode"] == status and message in json.loads(answer["body"])["error"]


def test_the_zip_is_deterministic_and_carries_the_proxy_alone(tmp_path):
    first = Path(lambda_zip.build(proxy.ZIP_FILES, str(tmp_path / "a.zip"))).read_bytes()
    second = Path(lambda_zip.build(proxy.ZIP_FILES, str(tmp_path / "b.zip"))).read_bytes()
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == list(proxy.ZIP_FILES)
