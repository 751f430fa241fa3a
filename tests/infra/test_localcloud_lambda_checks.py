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


# --- CreateFunction and Invoke limits (R14B-14) ---------------------------------------------------


def create(function, **changes):
    role = boto3.client("iam").get_role(RoleName="fn-checks")["Role"]["Arn"]
    request = {
        "FunctionName": "fp2",
        "Runtime": "python3.12",
        "Role": role,
        "Handler": "h.handler",
        "Code": {"ZipFile": code()},
    } | changes
    return function.create_function(**request)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"Timeout": 901}, "InvalidParameterValueException"),
        ({"MemorySize": 20000}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"1-bad": "x"}}}, "ValidationException"),
        ({"Runtime": "python9.9"}, "ValidationException"),
        ({"FunctionName": "bad name!"}, "ValidationException"),
        ({"FunctionName": "f" * 65}, "ValidationException"),
        ({"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException"),
        ({"Handler": "../../x y"}, "ValidationException"),
    ],
)
def test_create_function_refuses_what_lambda_refuses_and_creates_nothing(function, changes, error):
    refused(lambda: create(function, **changes), error, 400)
    names = [f["FunctionName"] for f in function.list_functions()["Functions"]]
    assert names == ["fp"]


def test_update_function_configuration_is_checked_as_create_is(function):
    refused(
        lambda: function.update_function_configuration(FunctionName="fp", Timeout=901),
        "InvalidParameterValueException",
        400,
    )
    refused(
        lambda: function.update_function_code(FunctionName="fp", ZipFile=b"not a zip"),
        "InvalidParameterValueException",
        400,
    )
    assert function.get_function_configuration(FunctionName="fp")["Timeout"] == 3


def test_invoke_refuses_payloads_over_lambdas_limits_and_unknown_types_or_versions(function):
    big = json.dumps("x" * (6 * 1024 * 1024)).encode()
    refused(lambda: function.invoke(FunctionName="fp", Payload=big), "RequestTooLargeException", 413)
    medium = json.dumps("x" * (1024 * 1024 + 10)).encode()
    refused(
        lambda: function.invoke(FunctionName="fp", InvocationType="Event", Payload=medium),
        "RequestTooLargeException",
        413,
    )
    refused(
        lambda: function.invoke(FunctionName="fp", InvocationType="Bogus", Payload=b"{}"),
        "ValidationException",
        400,
    )
    refused(
        lambda: function.invoke(FunctionName="fp", Qualifier="99", Payload=b"{}"),
        "ResourceNotFoundException",
        404,
    )
    assert json.loads(
        function.invoke(FunctionName="fp", Qualifier="$LATEST", Payload=b"[1]")["Payload"].read()
    ) == [1]


def test_add_permission_refuses_a_repeated_statement_id_or_a_missing_role(function):
    """R14B-44: AddPermission's StatementId is unique in the policy, and its principal exists."""
    grant = {
        "FunctionName": "fp",
        "StatementId": "s3",
        "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com",
    }
    function.add_permission(**grant)
    refused(lambda: function.add_permission(**grant), "ResourceConflictException", 409)
    ghost = grant | {"StatementId": "s1", "Principal": "arn:aws:iam::123456789012:role/does-not-exist"}
    refused(lambda: function.add_permission(**ghost), "InvalidParameterValueException", 400)
    assert len(json.loads(function.get_policy(FunctionName="fp")["Policy"])["Statement"]) == 1
