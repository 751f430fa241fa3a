"""The API front door answers an endpoint answer it cannot read with its own 502 (R14C-3): the call to
InvokeEndpoint was guarded, but reading the answer's body (a stream botocore reads after the call
returns: a read timeout, a connection cut mid-answer) was not, so the Lambda failed with botocore's
stack and API Gateway answered its bare "Internal Server Error"; and an answer holding NaN or
Infinity (which Python's JSON reader takes) was passed on as a body no strict JSON parser reads."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ReadTimeoutError, ResponseStreamingError
from tests.batch.test_proxy_events import GOOD

from textclf.frontdoor import proxy


class Body:
    def __init__(self, read) -> None:
        self.read = read


@pytest.fixture
def answering(monkeypatch):
    def install(body: Body) -> None:
        class Runtime:
            class exceptions:
                ModelError = type("ModelError", (Exception,), {})

            def invoke_endpoint(self, **call):
                return {"Body": body}

        monkeypatch.setattr("boto3.client", lambda service, **_: Runtime())

    monkeypatch.setenv("ENDPOINT_NAME", "textclf-production")
    return install


def raising(error: Exception):
    def read(*_):
        raise error

    return read


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com/"),
        ResponseStreamingError(error="IncompleteRead(12 bytes read, 40 more expected)"),
    ],
)
def test_an_answer_that_stops_arriving_is_a_502_not_a_lambda_error(answering, error):
    answering(Body(raising(error)))
    result = proxy.handler(GOOD)
    assert result["statusCode"] == 502
    assert json.loads(result["body"]) == {
        "error": f"the endpoint's answer did not arrive: {type(error).__name__}"
    }


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_an_answer_holding_nan_or_infinity_is_a_502_not_invalid_json(answering, constant):
    answering(Body(lambda *_: f'{{"predictions": [{{"label": "a", "score": {constant}}}]}}'.encode()))
    result = proxy.handler(GOOD)
    assert result["statusCode"] == 502
    assert json.loads(result["body"]) == {"error": "the endpoint's answer is not JSON"}


def test_a_good_answer_is_passed_on(answering):
    answering(Body(lambda *_: b'{"model_version": "abc1234", "predictions": [{"label": "a", "score": 0.5}]}'))
    result = proxy.handler(GOOD)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["predictions"] == [{"label": "a", "score": 0.5}]
