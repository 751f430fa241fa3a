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
import unicodedata
from typing import Any

ZIP_FILES = ("textclf/__init__.py", "textclf/frontdoor/__init__.py", "textclf/frontdoor/proxy.py")
# API Gateway HTTP APIs accept 10 MB; the endpoint much less (Serverless: 4 MB). Texts are short.
# Each may be set in the function's environment: (default, lowest, highest).
LIMITS = {
    "MAX_BODY_BYTES": (256 * 1024, 1, 4 * 1024 * 1024),
    "MAX_TEXTS": (32, 1, 10_000),
    "MAX_CHARS": (5000, 1, 1_000_000),
}


class Misconfigured(ValueError):
    """A limit in the function's environment is not a whole number in its range."""


def limit(name: str, env: dict | os._Environ = os.environ) -> int:
    default, low, high = LIMITS[name]
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else -1
    if not low <= value <= high:
        raise Misconfigured(f"{name}={str(raw)[:40]!r} must be a whole number from {low} to {high}")
    return value


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


def _object(value: object, where: str) -> dict:
    """A JSON object of the event, or Refused naming the field (API Gateway always sends objects;
    anything else is a malformed or forged event)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused(400, f"malformed event: {where} is {type(value).__name__}, not an object")
    return value


def _caller(event: dict) -> str:
    context = _object(event.get("requestContext"), "requestContext")
    authorizer = _object(context.get("authorizer"), "requestContext.authorizer")
    identity = _object(authorizer.get("iam"), "requestContext.authorizer.iam")
    caller = identity.get("userArn") or identity.get("userId")
    if not caller or not isinstance(caller, str):
        raise Refused(401, "not authenticated: sign the request with SigV4 (IAM authorization)")
    return caller


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """The object, or Refused naming the first key given twice (one pass: an object of 40,000 copies
    of one key must not cost a count per key)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise Refused(400, f"key {key[:60]!r} is given twice in one object: send it once")
        seen.add(key)
    return dict(pairs)


def _body(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise Refused(400, f"malformed event: body is {type(body).__name__}, not a string")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise Refused(400, "malformed event: isBase64Encoded but the body is not base64") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as error:
        raise Refused(
            400, f"body holds a lone surrogate (U+{ord(body[error.start]):04X}): send valid Unicode"
        ) from None


def _headers(given: dict) -> dict[str, str]:
    """The request's headers by lower-case name. Two names that differ only in case would leave
    the last one standing unseen: refused (HTTP field names are case-insensitive, RFC 9110 5.1)."""
    headers: dict[str, str] = {}
    for name, value in given.items():
        lower = str(name).lower()
        if lower in headers:
            raise Refused(400, f"header {lower!r} given twice (names are case-insensitive): send it once")
        headers[lower] = str(value)
    return headers


# The charsets the server decodes (textclf.serving.server.CHARSETS): the front door refuses the
# others as the server does, 415, rather than forwarding a latin-1 label on a UTF-8 re-encoding.
CHARSETS = ("utf-8", "us-ascii")


# The whitespace HTTP allows around a field's parts (OWS: SP and HTAB, RFC 9110 section 5.6.3), and
# only that, as the server strips it (textclf.serving.server.OWS): str.strip() also took VT, NBSP and
# U+2003, so `charset=<VT>utf-8` passed here and the server refused it.
OWS = " \t"


def _check_charset(parameters: list[str]) -> None:
    charsets = [
        value.strip(OWS).strip('"').lower()
        for name, _, value in (parameter.partition("=") for parameter in parameters)
        if name.strip(OWS).lower() == "charset"
    ]
    if len(charsets) > 1:  # RFC 6838 section 4.3: a parameter given twice is an error
        raise Refused(400, f"Content-Type names {len(charsets)} charsets: send one (charset=utf-8)")
    if charsets and charsets[0] not in CHARSETS:
        raise Refused(415, f"charset {charsets[0][:40]!r} is not supported: send the body in UTF-8")


# What shows nothing on its own, as textclf.text.normalise counts it (the server's and prepare's
# empty text; not imported, as this module ships alone): controls, format characters (U+200D, U+2060,
# U+00AD, bidirectional marks, tags), combining marks, spaces and separators, and Unicode's
# default-ignorable marks and letters with the blank braille pattern (text.LABEL_REFUSED_BLANKS).
# tests/batch/test_proxy_invisible_texts.py checks the two agree on every code point.
SHOWS_NOTHING = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})
BLANKS = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164, 0xFFA0),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)


def _shows(character: str) -> bool:
    return unicodedata.category(character) not in SHOWS_NOTHING and ord(character) not in BLANKS


# The container's 4xx that are the caller's request (the server's limits and rules: 400, 413, 415,
# ...); not 401, 403 or 407, which a caller would take for the front door's own authentication.
NOT_PASSED_ON = frozenset({401, 403, 407})


def _model_refused(error: Any) -> dict:
    """A ModelError of InvokeEndpoint: "Model (owned by the customer in the container) returned 4xx
    or 5xx error code", its status as the response's OriginalStatusCode and its body as
    OriginalMessage (https://docs.aws.amazon.com/botocore/latest/reference/services/sagemaker-runtime/
    client/exceptions/ModelError.html).
    A 4xx is the caller's request, which no retry will pass: answered with that status and the
    model's own `error` text; anything else is a 502."""
    response = getattr(error, "response", None)
    response = response if isinstance(response, dict) else {}
    status, original = response.get("OriginalStatusCode"), response.get("OriginalMessage")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status < 500:
        return _answer(502, {"error": f"the model failed the request: {_short(str(error))}"})
    if status in NOT_PASSED_ON:
        return _answer(502, {"error": f"the model answered {status}: see the endpoint's log"})
    try:
        told = json.loads(original) if isinstance(original, str) else None
    except (ValueError, RecursionError):
        told = None
    text = told.get("error") if isinstance(told, dict) else None
    reason = text if isinstance(text, str) else f"HTTP {status}"
    return _answer(status, {"error": f"the model refused the request: {_short(reason)}"})


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _short(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def parse(event: dict) -> list[str]:
    """The texts of a request, or Refused with what to change."""
    http = _object(_object(event.get("requestContext"), "requestContext").get("http"), "requestContext.http")
    if http.get("method") != "POST":
        raise Refused(405, "use POST with a JSON body")
    headers = _headers(_object(event.get("headers"), "headers"))
    media_type, *parameters = headers.get("content-type", "").split(";")
    if media_type.strip(OWS).lower() != "application/json":
        raise Refused(415, "send Content-Type: application/json")
    _check_charset(parameters)
    max_body, max_texts, max_chars = (limit(name) for name in LIMITS)
    raw = _body(event)
    if len(raw) > max_body:
        raise Refused(413, f"body of {len(raw)} bytes; at most {max_body}")
    try:
        # Decoded as UTF-8 here: json.loads on bytes guesses UTF-16 and UTF-32 too (and a str with a
        # byte order mark is refused), where the server reads UTF-8 only (RFC 8259 section 8.1).
        payload = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise Refused(400, "body is not valid JSON in UTF-8 (without a byte order mark)") from None
    if not isinstance(payload, dict) or set(payload) != {"inputs"}:
        raise Refused(400, 'expected {"inputs": "text"} or {"inputs": ["text", ...]} and no other keys')
    texts = payload["inputs"] if isinstance(payload["inputs"], list) else [payload["inputs"]]
    if not texts or len(texts) > max_texts:
        raise Refused(400 if not texts else 413, f"send 1 to {max_texts} texts; got {len(texts)}")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise Refused(400, f"inputs[{index}] must be a non-empty string")
        if not any(map(_shows, text)):  # U+200D alone was sent on, and classified
            raise Refused(
                400,
                f"inputs[{index}] shows nothing (only spaces, control, format or combining characters): "
                "send the text itself",
            )
        if len(text) > max_chars:
            raise Refused(413, f"inputs[{index}] has {len(text)} characters; at most {max_chars}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(text[error.start])
            raise Refused(
                400, f"inputs[{index}] holds a lone surrogate (U+{code:04X}): send valid Unicode"
            ) from None
    return texts


def handler(event: object, context: object = None) -> dict:
    import boto3

    try:
        if not isinstance(event, dict):
            raise Refused(400, f"malformed event: {type(event).__name__}, not an API Gateway request object")
        caller = _caller(event)
        texts = parse(event)
    except Refused as refused:
        return _answer(refused.status, {"error": str(refused)})
    except Misconfigured as error:  # the function's configuration, not the caller's mistake
        print(json.dumps({"component": "api-proxy", "error": str(error)}))
        return _answer(500, {"error": "the front door is misconfigured (see its log)"})
    endpoint = os.environ.get("ENDPOINT_NAME")
    if not endpoint:  # the function's configuration, not the caller's mistake
        print(json.dumps({"component": "api-proxy", "error": "ENDPOINT_NAME is not set"}))
        return _answer(500, {"error": "the front door is not configured (no endpoint)"})
    runtime = boto3.client("sagemaker-runtime")
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="application/json",
            Accept="application/json",
            # UTF-8 as received, compact: json.dumps's default \uXXXX escapes made a text of Chinese or
            # emoji two to three times larger, past what the endpoint takes (Serverless: 4 MB), for a
            # body within MAX_BODY_BYTES. At most the 2 bytes of `[]` larger than the body accepted.
            Body=json.dumps({"inputs": texts}, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        )
    except runtime.exceptions.ModelError as error:
        return _model_refused(error)
    except Exception as error:  # the endpoint is down, updating or not allowed: the caller cannot fix it
        print(json.dumps({"component": "api-proxy", "caller": caller, "error": str(error)}))
        return _answer(502, {"error": f"the endpoint did not answer: {type(error).__name__}"})
    print(json.dumps({"component": "api-proxy", "caller": caller, "texts": len(texts)}))  # no raw text
    try:
        # The answer's body is a stream read after the call returned: a read timeout or a connection
        # cut mid-answer (botocore's ReadTimeoutError, ResponseStreamingError) is the endpoint's.
        raw = response["Body"].read()
    except Exception as error:
        print(json.dumps({"component": "api-proxy", "caller": caller, "error": str(error)}))
        return _answer(502, {"error": f"the endpoint's answer did not arrive: {type(error).__name__}"})
    try:
        # NaN and Infinity are no JSON (RFC 8259 section 6): passed on, no strict parser reads the body.
        answer = json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return _answer(502, {"error": "the endpoint's answer is not JSON"})
    if not isinstance(answer, dict):
        return _answer(502, {"error": "the endpoint's answer is not a JSON object"})
    return _answer(200, answer)
