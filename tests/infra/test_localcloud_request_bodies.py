"""A request body that is not UTF-8 is handed on as bytes where the operation takes a blob (SageMaker
Runtime InvokeEndpoint, Lambda Invoke) and is a 400 elsewhere, never the HTML 500 of moto's decode
(R14B-33)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.infra import test_localcloud_lambda_checks as lambda_checks


def error_of(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"].get("Message", ""),
    )


lambda_function = lambda_checks.function  # the fixture: a python3.12 zip function "fp"


@pytest.mark.parametrize("payload", [b'"\xff"', b'{"a": "\xed\xa0\x80"}'])  # the second: an encoded surrogate
def test_a_lambda_payload_that_is_not_utf8_is_invalid_request_content(lambda_function, payload):
    code, status, _ = error_of(lambda: lambda_function.invoke(FunctionName="fp", Payload=payload))
    assert (code, status) == ("InvalidRequestContentException", 400)


def test_an_endpoint_request_that_is_not_utf8_is_routed_with_its_bytes(aws_env):
    runtime = boto3.client("sagemaker-runtime")
    code, status, message = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="nope", ContentType="text/csv; charset=latin-1", Body=b"caf\xe9"
        )
    )
    assert (code, status) == ("ValidationError", 400)  # routed: the endpoint does not exist
    assert "nope" in message


def test_another_services_body_that_is_not_utf8_is_a_400(aws_env):
    body = b'{"x": "\xff"}'
    request = AWSRequest(
        method="POST",
        url=aws_env["AWS_ENDPOINT_URL"] + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        },
    )
    SigV4Auth(botocore.session.get_session().get_credentials(), "dynamodb", "us-east-1").add_auth(request)
    sent = urllib.request.Request(request.url, data=body, headers=dict(request.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(sent, timeout=30)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["__type"] == "SerializationException"
