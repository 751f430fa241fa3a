"""The stop-training function: a pull request's workflow run stops its own training job, no other.

Why a function and not a permission: one IAM role serves every pull request, and IAM cannot tell
PR 7's job from PR 8's. GitHub's OIDC tokens carry no session tags, and the claims STS checks in a
trust policy (`ref`, `run_id`, ...) are not available to the role's permission policies
(https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/:
trust policies only). So the PR role has no `sagemaker:StopTrainingJob`. It may invoke this
function with a token GitHub minted for the run, whose audience is this function's name; the
function

1. verifies the token: RS256 signature against the issuer's published keys (JWKS), issuer,
   audience, expiry and not-before, with a minute of clock skew;
2. checks the claims (GitHub's OIDC reference, https://docs.github.com/en/actions/reference/security/oidc):
   this repository (by id when configured), a `pull_request` event, a `refs/pull/<n>/merge` ref,
   numeric `run_id` and `run_attempt`;
3. stops the job only if its name is the one that run gives its job,
   `<prefix>-<commit 8>-run<run_id>-<run_attempt>` (textclf.training.sagemaker.run_job_name), with
   the run id and attempt taken from the verified token, never from the request.

A run cannot mint a token for another run (GitHub issues them per job), so a pull request stops its
own run's job and nothing else. The request is `{"job_name": "...", "token": "<JWT>"}`; the answer
`{"ok": true, "outcome": "stopped" | "finished" | "not-started", "job_name": ..., "status": ...}`
or `{"ok": false, "status": "refused", "reason": ...}` (a reason, never an exception Lambda would
retry). The token is never logged.

Environment (terraform/lambda.tf): GITHUB_REPOSITORY (owner/name), GITHUB_REPOSITORY_ID (optional,
numeric), JOB_NAME_PREFIX, TOKEN_ISSUER (default GitHub's), JWKS_URL (default the issuer's
`/.well-known/jwks`). The audience is the function's own name (AWS_LAMBDA_FUNCTION_NAME).

Standard library and boto3 only, like the redeploy function it ships with. The signature check is
RSASSA-PKCS1-v1_5 verification as RFC 8017 section 8.2.2 specifies it: the expected encoding is
rebuilt from the message and compared whole, nothing is parsed out of the decrypted signature (the
parsing shortcut is what signature forgeries exploit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import re
import time
import urllib.request
from typing import Any

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
CLOCK_SKEW_SECONDS = 60
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8192
JWKS_TIMEOUT_SECONDS = 5
# A token naming a key not seen yet makes the function read the JWKS again (key rotation), at most
# once in this long: a flood of made-up key ids costs one fetch a minute, not one each.
JWKS_REFETCH_SECONDS = 60
# DER prefix of DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
PULL_REQUEST_REF = re.compile(r"refs/pull/([0-9]{1,10})/merge")
TERMINAL = ("Completed", "Failed", "Stopped")


class Refused(Exception):
    """The request does not prove it comes from the run whose job it names."""


# --- the token ---------------------------------------------------------------------------------


def _b64url(text: str, what: str) -> bytes:
    # ASCII only: str.isalnum-style classes would let other scripts' letters through.
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text, flags=re.ASCII) or len(text) % 4 == 1:
        raise Refused(f"the token's {what} is not base64url")  # 4k+1 characters decode to nothing
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(text, what))
    except (ValueError, RecursionError):
        raise Refused(f"the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(f"the token's {what} is not a JSON object")
    return value


def rsa_sha256_verify(modulus: int, exponent: int, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2.2): encode and compare."""
    size = (modulus.bit_length() + 7) // 8
    if modulus.bit_length() < MIN_RSA_BITS or len(signature) != size:
        return False
    number = int.from_bytes(signature, "big")
    if number >= modulus:
        return False
    encoded = pow(number, exponent, modulus).to_bytes(size, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def public_keys(jwks: Any) -> dict[str, tuple[int, int]]:
    """kid -> (modulus, exponent) of the RSA signing keys in a JWKS document."""
    keys = {}
    listed = jwks.get("keys") if isinstance(jwks, dict) else None
    for key in listed if isinstance(listed, list) else []:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or key.get("use", "sig") != "sig":
            continue
        if not isinstance(key.get("kid"), str) or not all(isinstance(key.get(k), str) for k in ("n", "e")):
            continue
        modulus = int.from_bytes(_b64url(key["n"], "key modulus"), "big")
        exponent = int.from_bytes(_b64url(key["e"], "key exponent"), "big")
        keys[key["kid"]] = (modulus, exponent)
    return keys


def verify(token: str, keys: dict[str, tuple[int, int]], issuer: str, audience: str, now: float) -> dict:
    """The token's claims, if GitHub signed it for `audience` and it is valid now; else Refused."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused("the token is not a signed JWT (header.payload.signature)")
    for part, what in zip(parts, ("header", "payload", "signature"), strict=True):
        _b64url(part, what)  # each part is checked before any is decoded or encoded as ASCII
    header = _json_part(parts[0], "header")
    if header.get("alg") != "RS256":  # never "none", never an HMAC keyed with the public key
        raise Refused(f"the token's algorithm {_shown(header.get('alg'))} is not RS256")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise Refused("the token's key id (kid) is not a string")
    key = keys.get(kid)
    if key is None:
        raise Refused(f"the token's key {_shown(kid)} is not one of the issuer's keys")
    signature = _b64url(parts[2], "signature")
    if not rsa_sha256_verify(*key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
        raise Refused("the token's signature does not verify with the issuer's key")
    claims = _json_part(parts[1], "payload")
    if claims.get("iss") != issuer:
        raise Refused(f"the token's issuer {claims.get('iss')!r} is not {issuer}")
    if claims.get("aud") != audience:
        raise Refused(f"the token's audience {claims.get('aud')!r} is not {audience!r}")
    times = {name: claims.get(name) for name in ("exp", "nbf", "iat")}
    if not all(_numeric_date(value) for value in times.values()):
        raise Refused("the token lacks numeric exp, nbf and iat (finite numbers of seconds)")
    if times["exp"] < now - CLOCK_SKEW_SECONDS:
        raise Refused("the token has expired")
    if times["nbf"] > now + CLOCK_SKEW_SECONDS or times["iat"] > now + CLOCK_SKEW_SECONDS:
        raise Refused("the token is not valid yet")
    return claims


def _numeric_date(value: Any) -> bool:
    """A JWT NumericDate: seconds since 1970, finite (JSON's NaN and Infinity never expire)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value < 2**53 if isinstance(value, int) else math.isfinite(value) and value >= 0


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


# --- what the token allows ---------------------------------------------------------------------


def run_job_pattern(prefix: str, run_id: str, run_attempt: str) -> re.Pattern[str]:
    """The name textclf.training.sagemaker.run_job_name gives the job of this run attempt."""
    return re.compile(rf"{re.escape(prefix)}-[a-z0-9]{{1,8}}-run{run_id}-{run_attempt}")


def allowed_job(claims: dict, job_name: str, repository: str, repository_id: str | None, prefix: str) -> str:
    """`job_name` if the verified claims are of a pull request run of this repository that gives
    its job that name; else Refused. Returns the pull request's number (for the log)."""
    if repository_id and str(claims.get("repository_id")) != repository_id:
        raise Refused(f"the token is of repository id {claims.get('repository_id')!r}, not {repository_id}")
    if claims.get("repository") != repository:
        raise Refused(f"the token is of repository {claims.get('repository')!r}, not {repository}")
    if claims.get("event_name") != "pull_request":
        raise Refused(f"the token is of a {claims.get('event_name')!r} event, not a pull_request one")
    ref = PULL_REQUEST_REF.fullmatch(str(claims.get("ref", "")))
    if ref is None:
        raise Refused(f"the token's ref {claims.get('ref')!r} is not a pull request's refs/pull/<n>/merge")
    run_id, run_attempt = str(claims.get("run_id", "")), str(claims.get("run_attempt", ""))
    if not (run_id.isdigit() and run_attempt.isdigit() and len(run_id) <= 20 and len(run_attempt) <= 5):
        raise Refused("the token lacks numeric run_id and run_attempt")
    if not run_job_pattern(prefix, run_id, run_attempt).fullmatch(job_name):
        raise Refused(
            f"{job_name} is not the training job of run {run_id} attempt {run_attempt} "
            f"({prefix}-<commit 8>-run{run_id}-{run_attempt}): a run stops its own job only"
        )
    return ref.group(1)


# --- the function ------------------------------------------------------------------------------

_cached_keys: dict[str, tuple[int, int]] = {}
_fetched_at = -math.inf  # time.monotonic() of the last JWKS read


def _issuer_keys(kid: str | None) -> dict[str, tuple[int, int]]:
    """The issuer's keys, fetched again when a token names a key not seen yet (key rotation), at
    most once in JWKS_REFETCH_SECONDS."""
    global _cached_keys, _fetched_at
    if kid in _cached_keys or time.monotonic() - _fetched_at < JWKS_REFETCH_SECONDS:
        return _cached_keys
    issuer = os.environ.get("TOKEN_ISSUER", GITHUB_ISSUER)
    url = os.environ.get("JWKS_URL") or f"{issuer}/.well-known/jwks"
    try:
        with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as response:
            keys = public_keys(json.loads(response.read()))
    except (OSError, ValueError, RecursionError) as error:  # unreachable, not JSON: nothing verifies
        raise Refused(f"could not read the issuer's keys from {url}: {error}") from None
    _cached_keys, _fetched_at = keys, time.monotonic()
    return _cached_keys


def _kid(token: str) -> str | None:
    try:
        kid = _json_part(token.split(".")[0], "header").get("kid")
    except Refused:
        return None
    return kid if isinstance(kid, str) else None


def check_request(event: Any, function_name: str, now: float) -> tuple[str, dict, str]:
    """(job name, verified claims, pull request number) of a valid request; else Refused."""
    if not isinstance(event, dict) or set(event) != {"job_name", "token"}:
        raise Refused('the request must be exactly {"job_name": "...", "token": "<GitHub OIDC token>"}')
    job_name, token = event["job_name"], event["token"]
    if not isinstance(job_name, str) or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job_name):
        raise Refused("job_name is not a SageMaker training job name")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise Refused("token is not a JWT string")
    missing = [name for name in ("GITHUB_REPOSITORY", "JOB_NAME_PREFIX") if not os.environ.get(name)]
    if missing or not function_name:
        names = missing + ([] if function_name else ["AWS_LAMBDA_FUNCTION_NAME"])
        raise Refused(
            f"the function is not configured: {', '.join(names)} unset (terraform/lambda.tf sets them)"
        )
    issuer = os.environ.get("TOKEN_ISSUER", GITHUB_ISSUER)
    claims = verify(token, _issuer_keys(_kid(token)), issuer, function_name, now)
    number = allowed_job(
        claims,
        job_name,
        os.environ["GITHUB_REPOSITORY"],
        os.environ.get("GITHUB_REPOSITORY_ID") or None,
        os.environ["JOB_NAME_PREFIX"],
    )
    return job_name, claims, number


def handler(event: Any, context: Any) -> dict[str, Any]:
    function_name = getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    try:
        job_name, claims, number = check_request(event, function_name, time.time())
    except Refused as refusal:
        print(json.dumps({"outcome": "refused", "reason": str(refusal)}))
        return {"ok": False, "status": "refused", "reason": str(refusal)}
    import boto3
    from botocore.exceptions import ClientError

    sagemaker = boto3.client("sagemaker")
    audit = {
        "job_name": job_name,
        "pull_request": number,
        "run_id": claims["run_id"],
        "actor": claims.get("actor"),
    }
    try:
        status = sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":  # no such job
            print(json.dumps({**audit, "outcome": "not-started"}))
            return {"ok": True, "outcome": "not-started", "job_name": job_name, "status": None}
        raise
    if status in TERMINAL or status == "Stopping":
        print(json.dumps({**audit, "outcome": "finished", "status": status}))
        return {"ok": True, "outcome": "finished", "job_name": job_name, "status": status}
    sagemaker.stop_training_job(TrainingJobName=job_name)
    print(json.dumps({**audit, "outcome": "stopped", "status": status}))
    return {"ok": True, "outcome": "stopped", "job_name": job_name, "status": status}


# The zip: this module and the import-free `__init__.py` files on the way to it. It ships in the
# redeploy function's package (textclf.release.redeploy.ZIP_FILES), one build for both handlers.
ZIP_FILES = ("textclf/__init__.py", "textclf/training/__init__.py", "textclf/training/stop_job.py")
