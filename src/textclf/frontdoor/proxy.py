"""The API front door's proxy Lambda: API Gateway HTTP API -> this handler -> InvokeEndpoint.

Standard library and boto3 only; its zip carries this module and the import-free package
`__init__.py` files (`python -m textclf.lambda_zip textclf.frontdoor.proxy build/api-proxy.zip`).
API Gateway authenticates the caller (IAM authorization: a SigV4-signed request from a principal
allowed `execute-api:Invoke`) and throttles; this handler checks what API Gateway does not, before
anything reaches the endpoint:

- the caller really was authenticated: the event carries the IAM authorizer's identity (a route
  left without authorization by mistake answers 401 instead of serving anonymous callers);
- `POST` with `Content-Type: application/json`, a body of at most MAX_BODY_BYTES;
- `{"inputs": "text"}` or `{"inputs": ["a", "b"]}`: at most MAX_TEXTS texts of at most MAX_CHARS
  characters each, no other keys.

Then it calls InvokeEndpoint on the one endpoint it may call (ENDPOINT_NAME) and answers the
endpoint's JSON. Errors are JSON `{"error": ...}` with a 4xx for the caller's mistakes and 502 when
the model refused or failed (the endpoint's message included; no stack traces).
Payload format 2.0 of HTTP API Lambda integrations:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
import json
import os

ZIP_FILES = ("textclf/__init__.py", "textclf/frontdoor/__init__.py", "textclf/frontdoor/proxy.py")
# API Gateway HTTP APIs accept 10 MB; the endpoint much less (Serverless: 4 MB). Texts are short.
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", 256 * 1024))
MAX_TEXTS = int(os.environ.get("MAX_TEXTS", 32))
MAX_CHARS = int(os.environ.get("MAX_CHARS", 5000))


def _answer(status: int, payload: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
    }


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _caller(event: dict) -> str:
    identity = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    if not identity.get("userArn") and not identity.get("userId"):
        raise Refused(401, "not authenticated: sign the request with SigV4 (IAM authorization)")
    return str(identity.get("userArn") or identity.get("userId"))


def parse(event: dict) -> list[str]:
    """The texts of a request, or Refused with what to change."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if method != "POST":
        raise Refused(405, "use POST with a JSON body")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415, "send Content-Type: application/json")
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise Refused(413, f"body of {len(raw)} bytes; at most {MAX_BODY_BYTES}")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(payload, dict) or set(payload) != {"inputs"}:
        raise Refused(400, 'expected {"inputs": "text"} or {"inputs": ["text", ...]} and no other keys')
    texts = payload["inputs"] if isinstance(payload["inputs"], list) else [payload["inputs"]]
    if not texts or len(texts) > MAX_TEXTS:
        raise Refused(400 if not texts else 413, f"send 1 to {MAX_TEXTS} texts; got {len(texts)}")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise Refused(400, f"inputs[{index}] must be a non-empty string")
        if len(text) > MAX_CHARS:
            raise Refused(413, f"inputs[{index}] has {len(text)} characters; at most {MAX_CHARS}")
    return texts


def handler(event: dict, context: object = None) -> dict:
    import boto3

    try:
        caller = _caller(event)
        texts = parse(event)
    except Refused as refused:
        return _answer(refused.status, {"error": str(refused)})
    runtime = boto3.client("sagemaker-runtime")
    try:
        response = runtime.invoke_endpoint(
            EndpointName=os.environ["ENDPOINT_NAME"],
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps({"inputs": texts}).encode("utf-8"),
        )
    except runtime.exceptions.ModelError as error:
        return _answer(502, {"error": f"the model refused the request: {error}"})
    except Exception as error:  # the endpoint is down, updating or not allowed: the caller cannot fix it
        print(json.dumps({"component": "api-proxy", "caller": caller, "error": str(error)}))
        return _answer(502, {"error": f"the endpoint did not answer: {type(error).__name__}"})
    print(json.dumps({"component": "api-proxy", "caller": caller, "texts": len(texts)}))  # no raw text
    return _answer(200, json.loads(response["Body"].read()))
