"""The API front door passes on the model's own refusal of the caller's request (R13B-25): every
ModelError was a 502 "the model refused the request: <botocore's text>", the model's JSON escaped
inside, whatever the container's status: a caller was told to retry (5xx) a request that would never
pass (a params.yaml with a lower max_batch_size than the proxy's 32 gave a 413 at the server)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from tests.batch.test_proxy_events import GOOD

from textclf.frontdoor import proxy


class ModelError(ClientError):
    pass


def model_error(status: object, message: object) -> ModelError:
    """botocore's ModelError: the container's status and body at the response's top level."""
    response = {
        "Error": {"Code": "ModelError", "Message": f"Received client error ({status}) from primary"},
        "OriginalStatusCode": status,
        "OriginalMessage": message,
    }
    return ModelError(response, "InvokeEndpoint")


@pytest.fixture
def refusing(monkeypatch):
    def install(error: Exception) -> None:
        class Runtime:
            class exceptions:
                pass

            def invoke_endpoint(self, **call):
                raise error

        Runtime.exceptions.ModelError = ModelError
        monkeypatch.setattr("boto3.client", lambda service, **_: Runtime())

    monkeypatch.setenv("ENDPOINT_NAME", "textclf-production")
    return install


def answer() -> tuple[int, dict]:
    result = proxy.handler(GOOD)
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (413, "20 texts in one request; at most 16 (deploy.serve.max_batch_size): split the batch"),
        (400, "text 0 is empty once normalised"),
        (415, "content type 'text/plain' is not supported"),
    ],
)
def test_the_models_4xx_is_the_callers_answer_with_its_own_text(refusing, status, error):
    refusing(model_error(status, json.dumps({"error": error})))
    assert answer() == (status, {"error": f"the model refused the request: {error}"})


@pytest.mark.parametrize("message", ["not json", "[1]", json.dumps({"error": 5}), None, "[" * 100_000])
def test_a_4xx_without_the_servers_error_text_keeps_its_status(refusing, message):
    refusing(model_error(400, message))
    assert answer() == (400, {"error": "the model refused the request: HTTP 400"})


@pytest.mark.parametrize("status", [500, 503, 401, 403, None, "413", True])
def test_a_5xx_or_an_authentication_status_is_a_502(refusing, status):
    refusing(model_error(status, json.dumps({"error": "x"})))
    code, body = answer()
    assert code == 502 and body["error"].startswith("the model ")
