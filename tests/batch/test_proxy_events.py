"""The API proxy Lambda answers every malformed event with its own 4xx, never a traceback, and
calls the endpoint only for a well-formed, authenticated request."""

from __future__ import annotations

import base64
import copy
import io
import json
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from textclf.frontdoor import proxy

GOOD = {
    "version": "2.0",
    "headers": {"content-type": "application/json"},
    "body": '{"inputs": ["Where is my parcel?"]}',
    "requestContext": {
        "http": {"method": "POST", "path": "/predict"},
        "authorizer": {"iam": {"userArn": "arn:aws:sts::123456789012:assumed-role/app/x"}},
    },
}


class Runtime:
    """boto3's sagemaker-runtime client, recording calls (no network)."""

    calls: ClassVar[list[dict]] = []

    class exceptions:
        ModelError = type("ModelError", (Exception,), {})

    def invoke_endpoint(self, **call):
        self.calls.append(call)
        return {"Body": io.BytesIO(b'{"predictions": [{"label": "delivery", "score": 0.9}]}')}


@pytest.fixture(autouse=True)
def runtime(monkeypatch):
    Runtime.calls = []
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-production")
    monkeypatch.setattr("boto3.client", lambda service, **_: Runtime())
    return Runtime


def answer(event) -> tuple[int, dict]:
    result = proxy.handler(event)
    return result["statusCode"], json.loads(result["body"])


def changed(path: tuple, value) -> dict:
    event = copy.deepcopy(GOOD)
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return event


def test_a_good_request_reaches_the_endpoint(runtime):
    assert answer(GOOD)[0] == 200 and len(runtime.calls) == 1


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        (None, 400, "malformed event: NoneType"),
        ([GOOD], 400, "malformed event: list"),
        ("POST", 400, "malformed event: str"),
        (changed(("requestContext",), "x"), 400, "requestContext is str"),
        (changed(("requestContext", "authorizer"), ["iam"]), 400, "requestContext.authorizer is list"),
        (changed(("requestContext", "authorizer", "iam", "userArn"), ["a"]), 401, "not authenticated"),
        (changed(("requestContext", "http"), 7), 400, "requestContext.http is int"),
        (changed(("headers",), [["content-type", "application/json"]]), 400, "headers is list"),
        (changed(("body",), {"inputs": "x"}), 400, "body is dict, not a string"),
        (changed(("body",), '{"inputs": "\ud800"}'), 400, "body holds a lone surrogate (U+D800)"),
        (changed(("body",), '{"inputs": "\\ud800 x"}'), 400, "inputs[0] holds a lone surrogate (U+D800)"),
        ({**GOOD, "isBase64Encoded": True, "body": "***not base64"}, 400, "the body is not base64"),
        (
            {**GOOD, "isBase64Encoded": True, "body": base64.b64encode(b"\xff\xfe").decode()},
            400,
            "not valid JSON",
        ),
        (changed(("body",), '{"inputs": "a", "inputs": "b"}'), 400, "key 'inputs' is given twice"),
    ],
)
def test_a_malformed_event_is_refused_before_the_endpoint(runtime, event, status, message):
    got, body = answer(event)
    assert (got, message in body["error"]) == (status, True), body
    assert runtime.calls == []


def test_no_endpoint_configured_is_a_500_that_says_so(runtime, monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME")
    assert answer(GOOD) == (500, {"error": "the front door is not configured (no endpoint)"})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
PATHS = st.sampled_from(
    [
        ("requestContext",),
        ("requestContext", "http"),
        ("requestContext", "http", "method"),
        ("requestContext", "authorizer"),
        ("requestContext", "authorizer", "iam"),
        ("requestContext", "authorizer", "iam", "userArn"),
        ("headers",),
        ("headers", "content-type"),
        ("body",),
        ("isBase64Encoded",),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS, value=JSON | st.text(max_size=20), whole=st.booleans(), event=JSON)
def test_any_event_gets_an_answer_and_only_good_ones_reach_the_endpoint(runtime, path, value, whole, event):
    runtime.calls.clear()
    got, body = answer(event if whole else changed(path, value))
    assert isinstance(body, dict)
    if got == 200:
        assert len(runtime.calls) == 1
        texts = json.loads(runtime.calls[0]["Body"])["inputs"]
        assert texts and all(isinstance(text, str) and text.strip() for text in texts)
    else:
        assert 400 <= got < 500 and runtime.calls == [] and body["error"]


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        (
            {"content-type": "application/json; charset=latin-1"},
            '{"inputs": "café"}',
            415,
            "charset 'latin-1'",
        ),
        ({"content-type": "application/json; charset=utf-8; charset=latin-1"}, None, 400, "names 2 charsets"),
        ({"Content-Type": "text/plain", "content-type": "application/json"}, None, 400, "given twice"),
        ({"content-type": "application/json"}, '\ufeff{"inputs": "hi"}', 400, "without a byte order mark"),
    ],
)
def test_what_the_server_refuses_the_front_door_refuses(headers, body, status, message):
    """The proxy took a latin-1 label, two charsets, two Content-Types (the last won) and a byte
    order mark, each refused by the server behind it (issue 27 round 9, U-s5)."""
    event = changed(("headers",), headers)
    if body is not None:
        event["body"] = body
    got, payload = answer(event)

    assert got == status and message in payload["error"], payload
    assert Runtime.calls == []


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_body_is_refused(codec):
    event = changed(("body",), base64.b64encode('{"inputs": "hi"}'.encode(codec)).decode())
    event["isBase64Encoded"] = True

    assert answer(event) == (400, {"error": "body is not valid JSON in UTF-8 (without a byte order mark)"})


def test_a_utf8_or_ascii_charset_is_classified():
    for charset in ("utf-8", '"UTF-8"', "us-ascii"):
        assert (
            answer(changed(("headers",), {"content-type": f"application/json; charset={charset}"}))[0] == 200
        )


CONTENT_TYPE_PIECES = st.sampled_from(
    ["application/json", "text/csv", ";", " ", "\t", "\x0b", "\xa0", "\u2003", "charset=", "utf-8", "UTF-8",
     '"', "us-ascii", "latin-1", "=", "foo", ","]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@example(media="application/json", pieces=[";", " ", "charset=", "\x0b", "utf-8"])
@example(media="application/json", pieces=[";", "charset=", "\xa0", "utf-8"])
@example(media="application/json\x0b", pieces=[])
@given(
    media=st.sampled_from(
        ["application/json", " application/json", "APPLICATION/JSON\t", "application/json\x0b"]
    ),
    pieces=st.lists(CONTENT_TYPE_PIECES, max_size=7),
)
def test_the_front_door_takes_a_content_type_exactly_when_the_server_does(media, pieces):
    """R14C-15: the proxy stripped any whitespace around a charset (Python's str.strip: VT, NBSP,
    U+2003), where the server strips only the optional whitespace HTTP allows (SP, HTAB; RFC 9110
    section 5.6.3): `charset=<VT>utf-8` passed the front door and the server would refuse it 415."""
    from textclf.serving import server

    content_type = media + "".join(pieces)
    try:
        server.parse_texts(b'{"inputs": "hi"}', content_type)
        served = True
    except server.RequestError:
        served = False
    got, payload = answer(changed(("headers",), {"content-type": content_type}))
    assert (got == 200) == served, (content_type, got, payload)
