"""The stop-training function's checks: only a token GitHub signed for this function, of a pull
request run of this repository, stops that run's job (the IAM-enforced scenario is in
tests/iam/test_attacks.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.github_issuer import ISSUER, Issuer
from textclf.localcloud.oidc import b64url
from textclf.training import stop_job
from textclf.training.sagemaker import run_job_name

REPOSITORY = "acme/text-classifier"
FUNCTION = "textclf-prod-stop-training"
PREFIX = "textclf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OWN_JOB = run_job_name(PREFIX, COMMIT, "4242", "1")


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def keys(issuer) -> dict:
    return stop_job.public_keys(issuer.jwks())


def check(token: str, keys: dict, job: str = OWN_JOB, repository_id: str | None = None) -> str:
    claims = stop_job.verify(token, keys, ISSUER, FUNCTION, time.time())
    return stop_job.allowed_job(claims, job, REPOSITORY, repository_id, PREFIX)


def test_the_runs_own_token_stops_the_runs_own_job(issuer, keys):
    assert check(issuer.token(FUNCTION, REPOSITORY), keys) == "7"
    assert check(issuer.token(FUNCTION, REPOSITORY), keys, repository_id="123456789") == "7"


def test_the_signature_check_agrees_with_a_reference_implementation(issuer, keys):
    """Signed by `cryptography`: accepted; any changed byte of the message or signature: refused."""
    (modulus, exponent) = keys[issuer.kid]
    message = b"header.payload"
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = issuer.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert stop_job.rsa_sha256_verify(modulus, exponent, message, signature)
    assert not stop_job.rsa_sha256_verify(modulus, exponent, message + b"!", signature)
    for index in (0, len(signature) // 2, len(signature) - 1):
        forged = bytearray(signature)
        forged[index] ^= 1
        assert not stop_job.rsa_sha256_verify(modulus, exponent, message, bytes(forged))
    assert not stop_job.rsa_sha256_verify(modulus, exponent, message, signature[1:])
    assert not stop_job.rsa_sha256_verify(modulus, exponent, message, modulus.to_bytes(256, "big"))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda i: i.token(FUNCTION, REPOSITORY, pr=8)[:-10] + "A" * 10, "signature does not verify"),
        (lambda i: Issuer(kid=i.kid).token(FUNCTION, REPOSITORY), "signature does not verify"),
        (lambda i: Issuer(kid="other").token(FUNCTION, REPOSITORY), "key 'other' is not one of"),
        (lambda i: i.token("sts.amazonaws.com", REPOSITORY), "audience 'sts.amazonaws.com'"),
        (lambda i: i.token(FUNCTION, REPOSITORY, iss="https://evil.example"), "issuer"),
        (lambda i: i.token(FUNCTION, REPOSITORY, exp=int(time.time()) - 120), "expired"),
        (lambda i: i.token(FUNCTION, REPOSITORY, nbf=int(time.time()) + 600), "not valid yet"),
        (lambda i: i.token(FUNCTION, REPOSITORY, exp=None), "numeric exp"),
        (lambda i: "only.two", "not a signed JWT"),
        (lambda i: "a.b.c.d", "not a signed JWT"),
        (lambda i: "!!.e30.sig", "not base64url"),
    ],
)
def test_a_token_github_did_not_sign_for_this_function_is_refused(issuer, keys, tamper, reason):
    with pytest.raises(stop_job.Refused, match=reason):
        check(tamper(issuer), keys)


def test_unsigned_and_hmac_tokens_are_refused(issuer, keys):
    """alg "none", and HS256 keyed with the public key (the algorithm confusion attack)."""
    claims = issuer.claims(FUNCTION, REPOSITORY)
    payload = b64url(json.dumps(claims).encode())
    unsigned = f"{b64url(json.dumps({'alg': 'none', 'kid': issuer.kid}).encode())}.{payload}."
    header = b64url(json.dumps({"alg": "HS256", "kid": issuer.kid}).encode())
    secret = json.dumps(issuer.jwks()["keys"][0]).encode()
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    for token in (unsigned, f"{header}.{payload}.{b64url(mac)}"):
        with pytest.raises(stop_job.Refused, match="is not RS256"):
            check(token, keys)


@pytest.mark.parametrize(
    ("claims", "job", "reason"),
    [
        ({"repository": "mallory/fork"}, OWN_JOB, "repository 'mallory/fork'"),
        ({"repository_id": "999"}, OWN_JOB, "repository id '999'"),
        ({"event_name": "push", "ref": "refs/heads/main"}, OWN_JOB, "'push' event"),
        ({"event_name": "pull_request_target"}, OWN_JOB, "'pull_request_target' event"),
        ({"ref": "refs/heads/feature"}, OWN_JOB, "not a pull request's"),
        ({"run_id": None}, OWN_JOB, "numeric run_id"),
        (
            {},
            run_job_name(PREFIX, COMMIT, "4243", "1"),
            "not the training job of run 4242",
        ),  # another PR's run
        ({}, run_job_name(PREFIX, COMMIT, "4242", "2"), "not the training job of run 4242 attempt 1"),
        ({}, "textclf-release-job-4242", "not the training job"),
        ({}, f"other-{COMMIT[:8]}-run4242-1", "not the training job"),  # another project's prefix
        ({}, f"textclf-{COMMIT[:8]}-run4242-1-run4242-1", "not the training job"),
    ],
)
def test_a_valid_token_stops_nothing_but_its_runs_job(issuer, keys, claims, job, reason):
    with pytest.raises(stop_job.Refused, match=reason):
        check(issuer.token(FUNCTION, REPOSITORY, **claims), keys, job, repository_id="123456789")


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {"job_name": OWN_JOB},
        {"job_name": OWN_JOB, "token": "x", "role": "admin"},
        {"job_name": "bad name!", "token": "x"},
        {"job_name": OWN_JOB, "token": 7},
        {"job_name": OWN_JOB, "token": "x" * 9000},
    ],
)
def test_malformed_requests_are_refused_with_the_reason(event, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", PREFIX)
    result = stop_job.handler(event, type("Context", (), {"function_name": FUNCTION})())
    assert result["ok"] is False and result["status"] == "refused" and result["reason"]


def test_the_keys_come_from_the_issuers_jwks_and_are_fetched_again_for_a_new_key(monkeypatch):
    first, rotated = Issuer(kid="k1"), Issuer(kid="k2")
    url = first.serve()
    try:
        monkeypatch.setenv("JWKS_URL", url)
        monkeypatch.setattr(stop_job, "_cached_keys", {})
        assert set(stop_job._issuer_keys("k1")) == {"k1"}
        first.stop()
        assert set(stop_job._issuer_keys("k1")) == {"k1"}  # cached: no fetch while the key is known
        url = rotated.serve()
        monkeypatch.setenv("JWKS_URL", url)
        assert set(stop_job._issuer_keys("k2")) == {"k2"}
    finally:
        first.stop()
        rotated.stop()


def test_only_rsa_signing_keys_of_2048_bits_or_more_count():
    small = Issuer(kid="small", bits=1024)
    jwks = {
        "keys": [
            *small.jwks()["keys"],
            {"kty": "EC", "kid": "ec", "crv": "P-256"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
        ]
    }
    keys = stop_job.public_keys(jwks)
    assert set(keys) == {"small"}  # the EC and encryption keys are ignored
    with pytest.raises(stop_job.Refused, match="signature does not verify"):  # 1024 bits: never verifies
        stop_job.verify(small.token(FUNCTION, REPOSITORY), keys, ISSUER, FUNCTION, time.time())


def test_unreachable_keys_refuse_with_the_url(monkeypatch):
    monkeypatch.setenv("JWKS_URL", "http://127.0.0.1:9/.well-known/jwks")  # discard port: nothing listens
    monkeypatch.setattr(stop_job, "_cached_keys", {})
    with pytest.raises(stop_job.Refused, match=r"could not read the issuer's keys from http://127.0.0.1:9/"):
        stop_job._issuer_keys("k1")
