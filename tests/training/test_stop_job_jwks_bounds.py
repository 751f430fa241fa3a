"""The stop-training function reads the issuer's keys only from an http(s) URL it can send to, at
most a megabyte within a deadline, and refuses anything else with a reason, never an exception
Lambda would retry (R13B-1: `JWKS_URL=https://host:abc/jwks` raised http.client.InvalidURL;
R13B-3: the answer was read whole, so `file:///dev/zero` or an endless answer took the memory)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator

import pytest

from tests.github_issuer import Issuer
from tests.slow_answers import answering
from textclf.training import stop_job


@pytest.fixture(autouse=True)
def no_cached_keys(monkeypatch) -> None:
    monkeypatch.setattr(stop_job, "_cached_keys", {})
    monkeypatch.setattr(stop_job, "_fetched_at", -math.inf)


@pytest.fixture
def issuer_at() -> Iterator:
    """The JWKS URL of an issuer answering `body` (no Content-Length), `size` bytes every `pause` s."""
    with contextlib.ExitStack() as stack:

        def start(body: bytes, size: int = 0, pause: float = 0.0) -> str:
            pieces = [body[i : i + size] for i in range(0, len(body), size)] if size else [body]
            return stack.enter_context(answering(pieces, None, pause)) + "/.well-known/jwks"

        yield start


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://host:abc/jwks", r"is not a URL \(Port could not be cast"),
        ("https://host:99999/jwks", r"is not a URL \(Port out of range"),
        ("https://[::1/jwks", r"is not a URL \(Invalid IPv6 URL\)"),
        ("not a url", "holds a space, a control or a non-ASCII character"),
        ("https://ho\u00e9st/jwks", "holds a space, a control or a non-ASCII character"),
        ("ftp://example.com/jwks", "is not an https:// URL with a host"),
        ("https:///jwks", "is not an https:// URL with a host"),
    ],
)
def test_a_jwks_url_that_cannot_be_sent_is_refused_naming_the_setting(monkeypatch, url, reason):
    monkeypatch.setenv("JWKS_URL", url)
    with pytest.raises(stop_job.Refused, match=rf"^JWKS_URL .*{reason}.*github_oidc_jwks_url$"):
        stop_job._issuer_keys("k1")


def test_a_file_url_is_not_read_even_when_it_holds_a_key_set(monkeypatch, tmp_path):
    """urllib opens file: URLs: `file:///dev/zero` read until the memory ended (R13B-3)."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(Issuer(kid="k1").jwks()))
    monkeypatch.setenv("JWKS_URL", jwks.as_uri())
    with pytest.raises(stop_job.Refused, match="is not an https:// URL with a host"):
        stop_job._issuer_keys("k1")


def test_an_answer_longer_than_a_megabyte_is_refused_not_read_whole(monkeypatch, issuer_at):
    """A valid key set padded past MAX_JWKS_BYTES: the old code read it all (and any endless body)."""
    body = json.dumps(Issuer(kid="k1").jwks()).encode() + b" " * (stop_job.MAX_JWKS_BYTES + 1)
    monkeypatch.setenv("JWKS_URL", issuer_at(body))
    with pytest.raises(
        stop_job.Refused, match=r"could not read the issuer's keys from .*longer than 1048576"
    ):
        stop_job._issuer_keys("k1")


def test_a_trickled_answer_is_refused_after_the_deadline(monkeypatch, issuer_at):
    """The socket timeout is per read: a byte every 0.02 s never reaches it (R13B-3)."""
    body = json.dumps({"keys": []}).encode() + b" " * 200
    monkeypatch.setattr(stop_job, "JWKS_DEADLINE_SECONDS", 0.5)
    monkeypatch.setenv("JWKS_URL", issuer_at(body, size=1, pause=0.02))
    started = time.monotonic()
    with pytest.raises(stop_job.Refused, match=r"took longer than 0\.5 s"):
        stop_job._issuer_keys("k1")
    assert time.monotonic() - started < 3


def test_a_key_set_within_the_bounds_is_read(monkeypatch, issuer_at):
    monkeypatch.setenv("JWKS_URL", issuer_at(json.dumps(Issuer(kid="k1").jwks()).encode()))
    assert set(stop_job._issuer_keys("k1")) == {"k1"}


@pytest.mark.parametrize(
    "bad",
    [
        {"kty": "RSA", "kid": "odd", "n": "not base64url!", "e": "AQAB"},
        {"kty": "RSA", "kid": "odd", "n": "AAAAA", "e": "AQAB"},  # 4k+1 characters
        {"kty": "RSA", "kid": "odd", "n": "AQAB", "e": "é"},
    ],
)
def test_a_malformed_key_in_the_jwks_is_skipped_not_taken_for_the_tokens_fault(bad):
    """R14C-16: one RSA key whose modulus or exponent is not base64url made public_keys raise "the
    token's key modulus is not base64url": every token refused, each for a fault of the issuer's key
    set, not of the token. It is skipped like an EC or encryption key; the others still verify."""
    issuer = Issuer()
    jwks = {"keys": [bad, *issuer.jwks()["keys"]]}
    assert set(stop_job.public_keys(jwks)) == {issuer.kid}
