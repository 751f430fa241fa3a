"""What the API front door sends the endpoint is never larger than what it accepted (R14C-13): it
re-encoded the texts with json.dumps's default `ensure_ascii`, so each non-ASCII character became a
six-byte `\\uXXXX` escape (twelve for an emoji's surrogate pair): a body of Chinese or emoji text
within MAX_BODY_BYTES (up to 4 MB) reached InvokeEndpoint two to three times larger, past the 4 MB a
Serverless endpoint takes, and the caller got a 502 for a request the front door had accepted."""

from __future__ import annotations

import copy
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.batch.test_proxy_events import GOOD

from textclf.frontdoor import proxy


@pytest.fixture
def sent(monkeypatch) -> list[bytes]:
    bodies: list[bytes] = []

    class Runtime:
        class exceptions:
            ModelError = type("ModelError", (Exception,), {})

        def invoke_endpoint(self, **call):
            bodies.append(call["Body"])
            return {"Body": io.BytesIO(b'{"predictions": []}')}

    monkeypatch.setattr("boto3.client", lambda service, **_: Runtime())
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-production")
    monkeypatch.setenv("MAX_CHARS", "1000000")
    monkeypatch.setenv("MAX_BODY_BYTES", str(4 * 1024 * 1024))
    return bodies


def event(body: str) -> dict:
    request = copy.deepcopy(GOOD)
    request["body"] = body
    return request


@pytest.mark.parametrize("character", ["\u4e2d", "\U0001f600", "\u00e9"])
def test_non_ascii_texts_are_sent_as_utf_8_not_six_byte_escapes(sent, character):
    body = json.dumps({"inputs": [character * 300_000]}, ensure_ascii=False)
    assert proxy.handler(event(body))["statusCode"] == 200
    assert len(sent[0]) <= len(body.encode("utf-8"))
    assert json.loads(sent[0]) == {"inputs": [character * 300_000]}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(min_size=1, max_size=40).filter(lambda t: t.strip()), min_size=1, max_size=5),
    one=st.booleans(),
)
def test_the_forwarded_body_is_never_larger_than_the_accepted_one(sent, texts, one):
    sent.clear()
    inputs = texts[0] if one else texts
    for ascii_only in (True, False):
        body = json.dumps({"inputs": inputs}, ensure_ascii=ascii_only, separators=(",", ":"))
        if proxy.handler(event(body))["statusCode"] == 200:
            assert len(sent[-1]) <= len(body.encode("utf-8", "surrogatepass")) + 2  # a text becomes [text]
            assert json.loads(sent[-1]) == {"inputs": [inputs] if one else texts}
