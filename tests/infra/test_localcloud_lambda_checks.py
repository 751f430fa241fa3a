"""Lambda in the local cloud refuses what Lambda refuses, with Lambda's error code and status, before
the function runs: a payload that is not JSON (R14B-13)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def refused(call, code: str, status: int) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error
    return error["Error"].get("Message", "")


@pytest.fixture
def function(aws_env):
    role = boto3.client("iam").create_role(RoleName="fn-checks", AssumeRolePolicyDocument=TRUST)["Role"][
        "Arn"
    ]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName="fp", Runtime="python3.12", Role=role, Handler="h.handler", Code={"ZipFile": code()}
    )
    return client


@pytest.mark.parametrize("payload", [b"not json", b'{"a": ', b"[" * 100000])
def test_invoke_with_a_payload_that_is_not_json_is_refused_before_the_function_runs(function, payload):
    message = refused(
        lambda: function.invoke(FunctionName="fp", Payload=payload), "InvalidRequestContentException", 400
    )
    assert "Could not parse request body into json" in message
    logs = boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/fp")["logGroups"]
    assert logs == []  # nothing ran


def test_invoke_takes_any_json_value(function):
    answer = function.invoke(FunctionName="fp", Payload=b'"just a string"')
    assert json.loads(answer["Payload"].read()) == "just a string"
