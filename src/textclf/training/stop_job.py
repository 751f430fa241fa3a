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
or `{"ok": false, "status": "refused", "reason": ...}` (`"status": "failed"` when SageMaker refused
or did not answer: a reason, never an exception Lambda would retry). The token is never logged.

Environment (terraform/lambda.tf): GITHUB_REPOSITORY (owner/name), GITHUB_REPOSITORY_ID (optional,
numeric), JOB_NAME_PREFIX, TOKEN_ISSUER (default GitHub's), JWKS_URL (default the issuer's
`/.well-known/jwks`). The audience is the function's own name (AWS_LAMBDA_FUNCTION_NAME).

The same function starts a run's training job and publishes its model (`"action": "start"` and
`"action": "publish"`, below `handler`): a pull request's role may do neither itself, so which
commit a job trains and which job's bytes a commit's model is are facts this function records, from
the verified token and SageMaker's own description of the job, where no pull request can write.

Standard library and boto3 only, like the redeploy function it ships with. The signature check is
RSASSA-PKCS1-v1_5 verification as RFC 8017 section 8.2.2 specifies it: the expected encoding is
rebuilt from the message and compared whole, nothing is parsed out of the decrypted signature (the
parsing shortcut is what signature forgeries exploit).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import time
import unicodedata
import urllib.parse
import urllib.request
from typing import Any

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
CLOCK_SKEW_SECONDS = 60
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8192
JWKS_TIMEOUT_SECONDS = 5
# The issuer's key set is a few kilobytes (GitHub's holds two or three RSA keys): read at most this
# much, within this long in all (the timeout above is per read of the socket), so an endless or
# trickled answer (or JWKS_URL=file:///dev/zero) costs neither the function's memory nor its time.
MAX_JWKS_BYTES = 1024**2
JWKS_DEADLINE_SECONDS = 10
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
        try:
            modulus = int.from_bytes(_b64url(key["n"], "key modulus"), "big")
            exponent = int.from_bytes(_b64url(key["e"], "key exponent"), "big")
        except Refused:  # the issuer's key, not the token: skipped like a key of another type
            continue
        keys[key["kid"]] = (modulus, exponent)
    return keys


def token_header(token: str) -> dict:
    """The header of a token shaped as GitHub signs them (three base64url parts, RS256, a string
    key id); else Refused. Checked before the issuer's keys are fetched for it."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused("the token is not a signed JWT (header.payload.signature)")
    for part, what in zip(parts, ("header", "payload", "signature"), strict=True):
        _b64url(part, what)  # each part is checked before any is decoded or encoded as ASCII
    header = _json_part(parts[0], "header")
    if header.get("alg") != "RS256":  # never "none", never an HMAC keyed with the public key
        raise Refused(f"the token's algorithm {_shown(header.get('alg'))} is not RS256")
    if not isinstance(header.get("kid"), str):
        raise Refused("the token's key id (kid) is not a string")
    return header


def verify(token: str, keys: dict[str, tuple[int, int]], issuer: str, audience: str, now: float) -> dict:
    """The token's claims, if GitHub signed it for `audience` and it is valid now; else Refused."""
    parts = token.split(".")
    kid = token_header(token)["kid"]
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
    number, run_id, run_attempt = pull_request_run(claims, repository, repository_id)
    if not run_job_pattern(prefix, run_id, run_attempt).fullmatch(job_name):
        raise Refused(
            f"{job_name} is not the training job of run {run_id} attempt {run_attempt} "
            f"({prefix}-<commit 8>-run{run_id}-{run_attempt}): a run stops its own job only"
        )
    return number


def pull_request_run(claims: dict, repository: str, repository_id: str | None) -> tuple[str, str, str]:
    """(pull request number, run id, run attempt) of verified claims of a pull request run of this
    repository; else Refused."""
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
    if not (re.fullmatch(r"[0-9]{1,20}", run_id) and re.fullmatch(r"[0-9]{1,5}", run_attempt)):
        raise Refused("the token lacks numeric run_id and run_attempt")
    return ref.group(1), run_id, run_attempt


# --- the function ------------------------------------------------------------------------------

_cached_keys: dict[str, tuple[int, int]] = {}
_fetched_at = -math.inf  # time.monotonic() of the last JWKS read


def _issuer_keys(kid: str) -> dict[str, tuple[int, int]]:
    """The issuer's keys, fetched again when a token names a key not seen yet (key rotation), at
    most once in JWKS_REFETCH_SECONDS."""
    global _cached_keys, _fetched_at
    if kid in _cached_keys or time.monotonic() - _fetched_at < JWKS_REFETCH_SECONDS:
        return _cached_keys
    issuer = os.environ.get("TOKEN_ISSUER", GITHUB_ISSUER)
    url = os.environ.get("JWKS_URL") or f"{issuer}/.well-known/jwks"
    problem = _jwks_url_problem(url)
    if problem:
        raise Refused(
            f"JWKS_URL {_shown(url)} (or TOKEN_ISSUER's /.well-known/jwks) {problem}: terraform/lambda.tf "
            "sets it from github_oidc_jwks_url"
        )
    try:
        body = _read_bounded(url)
        keys = public_keys(json.loads(body))
    # Unreachable, timed out, not JSON: nothing verifies. http.client's own errors (InvalidURL, a body
    # cut short: IncompleteRead) are HTTPException, which is not an OSError.
    except (OSError, ValueError, RecursionError, http.client.HTTPException) as error:
        raise Refused(f"could not read the issuer's keys from {url}: {error}") from None
    _cached_keys, _fetched_at = keys, time.monotonic()
    return _cached_keys


def _jwks_url_problem(url: str) -> str | None:
    """Why `url` is no http(s) URL to read keys from (urllib also opens file:, ftp: and data: URLs)."""
    if re.search(r"[^\x21-\x7E]", url):
        return "holds a space, a control or a non-ASCII character"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises ValueError here
    except ValueError as error:  # "Invalid IPv6 URL", "Port could not be cast to integer value"
        return f"is not a URL ({error})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an https:// URL with a host"
    return None


def _read_bounded(url: str) -> bytes:
    """The answer at `url`: at most MAX_JWKS_BYTES, within JWKS_DEADLINE_SECONDS; else ValueError."""
    deadline = time.monotonic() + JWKS_DEADLINE_SECONDS
    chunks: list[bytes] = []
    size = 0
    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as response:
        read = getattr(response, "read1", response.read)  # read1: what one read of the socket returns
        while chunk := read(64 * 1024):
            size += len(chunk)
            if size > MAX_JWKS_BYTES:
                raise ValueError(f"the answer is longer than {MAX_JWKS_BYTES} bytes (a key set is a few KB)")
            if time.monotonic() > deadline:
                raise ValueError(f"the answer took longer than {JWKS_DEADLINE_SECONDS} s")
            chunks.append(chunk)
    return b"".join(chunks)


def _kid(token: str) -> str:
    """The key id of a well-formed token: a malformed one is refused before any key is fetched."""
    return str(token_header(token)["kid"])


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
    if isinstance(event, dict) and event.get("action") in ACTIONS:
        return run_action(event, function_name, time.time())
    try:
        job_name, claims, number = check_request(event, function_name, time.time())
    except Refused as refusal:
        print(json.dumps({"outcome": "refused", "reason": str(refusal)}))
        return {"ok": False, "status": "refused", "reason": str(refusal)}
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    audit = {
        "job_name": job_name,
        "pull_request": number,
        "run_id": claims["run_id"],
        "actor": claims.get("actor"),
    }
    try:
        outcome, status = _stop(boto3.client("sagemaker"), job_name)
    except (BotoCoreError, ClientError) as error:
        # SageMaker refused (the role's policy, throttling) or never answered: a reason the run can
        # print, as the start and publish paths give (run_action), not botocore's exception, which is
        # a stack in the function's log and a retry of an asynchronous invocation.
        reason = f"SageMaker could not stop {job_name}: {error}"
        print(json.dumps({**audit, "outcome": "failed", "reason": reason}))
        return {"ok": False, "status": "failed", "reason": reason}
    print(json.dumps({**audit, "outcome": outcome, "status": status}))
    return {"ok": True, "outcome": outcome, "job_name": job_name, "status": status}


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _stop(sagemaker: Any, job_name: str) -> tuple[str, str | None]:
    """(outcome, status) of stopping a verified run's job: not-started, finished or stopped."""
    from botocore.exceptions import ClientError

    try:
        status = sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
    except ClientError as error:
        if _error_code(error) == "ValidationException":  # no such job
            return "not-started", None
        raise
    if status in TERMINAL or status == "Stopping":
        return "finished", status
    try:
        sagemaker.stop_training_job(TrainingJobName=job_name)
    except ClientError as error:
        # StopTrainingJob refuses a job that is no longer InProgress (ValidationException): it ended
        # between the two calls, which is what the run asked for. Anything else is SageMaker's refusal.
        if _error_code(error) != "ValidationException":
            raise
        now = sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
        if now in TERMINAL or now == "Stopping":
            return "finished", now
        raise
    return "stopped", status


# --- starting and publishing a run's job -------------------------------------------------------
#
# A run proves which commit it is for with the merge commit GitHub made for it: the verified token's
# `sha` is that merge commit (refs/pull/<n>/merge, GitHub's "Events that trigger workflows",
# pull_request: GITHUB_SHA is the last merge commit), and the request carries the commit object
# itself (`git cat-file commit $GITHUB_SHA`, base64). Its SHA-1, computed here the way git names
# objects, must be the token's `sha`; its second parent is the pull request's head. So a run can start
# and publish for its own head commit only, and the job's name, channels, checkpoints, output and
# environment are set here, not by the request.

ACTIONS = ("start", "publish")
# What each request holds (textclf.training.sagemaker sends them so): nothing else is taken.
ACTION_KEYS = {
    "start": frozenset({"action", "token", "merge_commit", "job"}),
    "publish": frozenset({"action", "token", "merge_commit", "job_name", "files"}),
}
GIT_SHA = re.compile(r"[0-9a-f]{40}")
DATASET_MD5 = re.compile(r"[0-9a-f]{32}\.dir")
SHA256 = re.compile(r"[0-9a-f]{64}")
# What the runner may say about the job besides what this function sets itself.
JOB_KEYS = {
    "TrainingJobName", "RoleArn", "AlgorithmSpecification", "HyperParameters", "InputDataConfig",
    "OutputDataConfig", "ResourceConfig", "StoppingCondition", "EnableManagedSpotTraining",
    "CheckpointConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "Tags",
    "Environment",
}  # fmt: skip
CHANNELS = {"train": ("train.jsonl", "labels.json"), "validation": ("validation.jsonl",)}
# The files a run publishes beside the job's model (textclf.release.promote), at most this large.
PUBLISHED_FILES = ("eval.json", "gate.json", "reference.json", "test_predictions.jsonl")
MAX_FILE_BYTES = 256 * 1024**2
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
INSTANCE_TYPE = re.compile(r"ml\.([a-z0-9-]+)\.[a-z0-9-]+")
# Training instance families with local NVMe instance storage: SageMaker encrypts those volumes
# with a hardware module and refuses a VolumeKmsKeyId for them (CreateTrainingJob API reference,
# ResourceConfig.VolumeKmsKeyId: "Certain Nitro-based instances include local storage, dependent on
# the instance type. Local storage volumes are encrypted using a hardware module on the instance.
# You can't request a VolumeKmsKeyId when using an instance type with local storage."). The list
# follows "Instance store volumes" of the Amazon EC2 User Guide for the families botocore's
# TrainingInstanceType enum offers (tests/training/test_job_lifecycle.py checks every family of the
# enum is classified, so a new botocore release with a new family fails the test until it is added).
# Here because this module ships alone in the function's zip: the train backend
# (training/sagemaker.py) and the local cloud (localcloud/training.py, which refuses a
# VolumeKmsKeyId for these families as SageMaker does) use these sets.
LOCAL_STORAGE_FAMILIES = {
    "c5d", "c6id", "g4dn", "g5", "g6", "g6e", "g7", "g7e", "m5d", "m6id", "p3dn", "p4d", "p4de", "p5",
    "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "r5d", "r6id", "trn1", "trn1n", "trn2",
}  # fmt: skip
# The other families of the enum: EBS only, so the volume takes the project's KMS key. A family
# the documentation does not settle belongs above: omitting the key leaves the volume encrypted with
# the AWS managed key, while a key sent for local storage fails the job.
EBS_ONLY_FAMILIES = {
    "c4", "c5", "c5n", "c6i", "c7i", "c7i-flex", "c8i", "c8i-flex", "m4", "m5", "m6i", "m7i", "m7i-flex",
    "m8i", "m8i-flex", "p2", "p3", "r5", "r6i", "r7i", "r8i", "r8i-flex", "t3",
}  # fmt: skip


# The training program's hyperparameters (textclf.pipeline.train.Hyperparameters, as
# Hyperparameters.for_sagemaker writes them: every value a string) and the bounds params.yaml puts on
# each (textclf.config: TrainParams, ModelParams.max_length, ServeParams.quantize and
# int8_tolerance). A job the runner asks for with epochs 1e300 or a learning rate of 50 is refused
# before it starts. Here as plain data because this module ships alone in the function's zip (no
# pydantic); tests/training/test_stop_job_hyperparameters.py derives the same table from the config
# sections' own field bounds, so the two cannot drift apart.
HYPERPARAMETER_BOUNDS: dict[str, dict[str, Any]] = {
    "max_length": {"kind": "integer", "ge": 8, "le": 512},
    "epochs": {"kind": "number", "ge": 0.01, "le": 10_000},
    "batch_size": {"kind": "integer", "ge": 1, "le": 1024},
    "learning_rate": {"kind": "number", "gt": 0, "lt": 1},
    "weight_decay": {"kind": "number", "ge": 0, "lt": 1},
    "warmup_ratio": {"kind": "number", "ge": 0, "lt": 1},
    "seed": {"kind": "integer", "ge": 0, "le": 2**32 - 1},
    "group_by_length": {"kind": "boolean"},
    "eval_steps": {"kind": "integer", "ge": 1, "le": 10**9},
    "save_steps": {"kind": "integer", "ge": 1, "le": 10**9},
    "save_total_limit": {"kind": "integer", "ge": 1, "le": 1000},
    "logging_steps": {"kind": "integer", "ge": 1, "le": 10**9},
    "quantize": {"kind": "choice", "choices": ("none", "int8", "auto")},
    "int8_tolerance": {"kind": "number", "ge": 0, "le": 1},
}
# The others the program takes: the base model (a hub id or the image's folder) and the labels.
OTHER_HYPERPARAMETERS = ("model_name", "labels")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?")
INTEGER = re.compile(r"-?[0-9]{1,20}")
COMPARISONS = {
    "gt": (float.__gt__, ">"),
    "ge": (float.__ge__, ">="),
    "lt": (float.__lt__, "<"),
    "le": (float.__le__, "<="),
}


def hyperparameter_problems(hyperparameters: Any) -> list[str]:
    """What in the runner's HyperParameters the training program would refuse: an unknown key, a
    value that is not a string, or one outside params.yaml's bounds (HYPERPARAMETER_BOUNDS)."""
    if not isinstance(hyperparameters, dict):
        return ["HyperParameters must be a map of strings"]
    problems = []
    for key, value in hyperparameters.items():
        if key in OTHER_HYPERPARAMETERS:
            if not isinstance(value, str):
                problems.append(f"{_shown(key)} must be a string")
            continue
        rule = HYPERPARAMETER_BOUNDS.get(key)
        if rule is None:
            known = sorted([*HYPERPARAMETER_BOUNDS, *OTHER_HYPERPARAMETERS])
            problems.append(
                f"{_shown(key)} is not a hyperparameter of the training program ({', '.join(known)})"
            )
        elif not isinstance(value, str):
            problems.append(f"{key} must be a string, as SageMaker passes it")
        else:
            problem = _bound_problem(value, rule)
            if problem:
                problems.append(f"{key} {_shown(value)} {problem} (params.yaml's bound)")
    return problems


def _bound_problem(value: str, rule: dict[str, Any]) -> str | None:
    kind = rule["kind"]
    if kind == "boolean":
        return None if value in ("true", "false") else "must be true or false"
    if kind == "choice":
        return None if value in rule["choices"] else f"must be one of {', '.join(rule['choices'])}"
    if not (INTEGER if kind == "integer" else NUMBER).fullmatch(value):
        return f"is not {'a whole number' if kind == 'integer' else 'a finite decimal number'}"
    number = float(value)
    for name, (holds, sign) in COMPARISONS.items():
        if name in rule and not holds(number, float(rule[name])):
            return f"must be {sign} {rule[name]}"
    return None


def has_local_storage(instance_type: str) -> bool:
    """Whether `ml.<family>.<size>` is of a family with local NVMe storage (no VolumeKmsKeyId)."""
    return instance_type.split(".")[1] in LOCAL_STORAGE_FAMILIES


def pull_request_head(merge_commit: Any, merge_sha: Any) -> tuple[str, str]:
    """(base, head) of the run's merge commit, whose object `merge_commit` (base64) must hash to
    `merge_sha` (the verified token's `sha`); else Refused."""
    if not isinstance(merge_sha, str) or not GIT_SHA.fullmatch(merge_sha):
        raise Refused("the token has no commit sha (`sha`) of the run's merge commit")
    if not isinstance(merge_commit, str) or len(merge_commit) > 262144:
        raise Refused("merge_commit must be the base64 of `git cat-file commit $GITHUB_SHA`")
    try:
        raw = base64.b64decode(merge_commit, validate=True)
    except ValueError:
        raise Refused("merge_commit is not base64") from None
    if hashlib.sha1(b"commit %d\x00" % len(raw) + raw, usedforsecurity=False).hexdigest() != merge_sha:
        raise Refused(f"merge_commit is not the object of commit {merge_sha} (the run's merge commit)")
    header = raw.split(b"\n\n", 1)[0].split(b"\n")
    parents = [line[7:].decode("ascii", "replace") for line in header if line.startswith(b"parent ")]
    if len(parents) != 2 or not all(GIT_SHA.fullmatch(parent) for parent in parents):
        raise Refused(f"commit {merge_sha} is not a merge of a pull request's head into its base")
    return parents[0], parents[1]


def _configured(*names: str) -> dict[str, str]:
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise Refused(
            f"the function is not configured: {', '.join(missing)} unset (terraform/lambda.tf sets them)"
        )
    return {name: os.environ[name] for name in names}


def verified_run(event: dict, function_name: str, now: float) -> dict[str, str]:
    """The facts of the run a start or publish request comes from, each from the verified token
    or the merge commit it names; else Refused."""
    config = _configured("GITHUB_REPOSITORY", "JOB_NAME_PREFIX")
    if not function_name:
        raise Refused("the function is not configured: AWS_LAMBDA_FUNCTION_NAME unset")
    token = event.get("token")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise Refused("token is not a JWT string")
    issuer = os.environ.get("TOKEN_ISSUER", GITHUB_ISSUER)
    claims = verify(token, _issuer_keys(_kid(token)), issuer, function_name, now)
    repository = config["GITHUB_REPOSITORY"]
    number, run_id, attempt = pull_request_run(
        claims, repository, os.environ.get("GITHUB_REPOSITORY_ID") or None
    )
    # The workflow file the run's job comes from: only the pull request workflow starts jobs.
    workflow = f"{repository}/.github/workflows/{os.environ.get('PR_WORKFLOW', 'pr.yml')}@"
    if not str(claims.get("job_workflow_ref", "")).startswith(workflow):
        raise Refused(f"the token's job_workflow_ref {claims.get('job_workflow_ref')!r} is not {workflow}...")
    base, head = pull_request_head(event.get("merge_commit"), claims.get("sha"))
    prefix = config["JOB_NAME_PREFIX"]
    return {
        "pull_request": number,
        "run_id": run_id,
        "run_attempt": attempt,
        "merge_commit": str(claims["sha"]),
        "base": base,
        "head": head,
        "workflow": str(claims["job_workflow_ref"]),
        "actor": str(claims.get("actor", "")),
        "job_name": f"{prefix}-{head[:8]}-run{run_id}-{attempt}",
    }


def _bucket_settings() -> dict[str, str]:
    return _configured(
        "ARTIFACTS_BUCKET", "DATASETS_PREFIX", "JOBS_PREFIX", "CHECKPOINTS_PREFIX", "ARTIFACT_PREFIX"
    )


def job_request(request: Any, run: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request for the run's job: the runner's settings, checked, with the
    name, role, image repository, channels, output, checkpoints, the volume's key and environment set
    here."""
    if not isinstance(request, dict) or not set(request) <= JOB_KEYS:
        extra = sorted(set(request) - JOB_KEYS) if isinstance(request, dict) else []
        raise Refused(f"job must be a CreateTrainingJob request of the keys {sorted(JOB_KEYS)} (not {extra})")
    config = {**_bucket_settings(), **_configured("SAGEMAKER_ROLE_ARN", "TRAINING_REPOSITORY_URI")}
    bucket = config["ARTIFACTS_BUCKET"]
    name = run["job_name"]
    if len(name) > 63:
        raise Refused(f"training job name {name} is longer than 63 characters: shorten JOB_NAME_PREFIX")
    if request.get("TrainingJobName", name) != name:
        raise Refused(f"the run's training job is named {name}, not {request.get('TrainingJobName')!r}")
    algorithm = request.get("AlgorithmSpecification")
    image = algorithm.get("TrainingImage") if isinstance(algorithm, dict) else None
    repository = re.escape(config["TRAINING_REPOSITORY_URI"])
    if not isinstance(image, str) or not re.fullmatch(
        rf"{repository}(:[\w.-]{{1,128}}|@sha256:[0-9a-f]{{64}})", image
    ):
        raise Refused(f"the training image {image!r} is not one of {config['TRAINING_REPOSITORY_URI']}")
    if (
        set(algorithm) - {"TrainingImage", "TrainingInputMode"}
        or algorithm.get("TrainingInputMode", "File") != "File"
    ):
        raise Refused("AlgorithmSpecification may name the training image and File input only")
    environment = request.get("Environment") or {}
    data_keys = {"TEXTCLF_DATASET_MD5", "TEXTCLF_DATASET_LISTING"}
    if not isinstance(environment, dict) or not data_keys <= set(environment) <= {
        *data_keys,
        "TEXTCLF_RAW_DATA_MD5",
    }:
        raise Refused(
            "Environment must be TEXTCLF_DATASET_MD5 and TEXTCLF_DATASET_LISTING (and TEXTCLF_RAW_DATA_MD5)"
        )
    raw = environment.get("TEXTCLF_RAW_DATA_MD5")
    if raw is not None and not (isinstance(raw, str) and re.fullmatch(r"[0-9a-f]{32}(\.dir)?", raw)):
        raise Refused("TEXTCLF_RAW_DATA_MD5 is not a DVC md5")
    digest = environment["TEXTCLF_DATASET_MD5"]
    if not isinstance(digest, str) or not DATASET_MD5.fullmatch(digest):
        raise Refused("TEXTCLF_DATASET_MD5 is not a DVC directory md5 (<32 hex>.dir)")
    listing = environment["TEXTCLF_DATASET_LISTING"]
    if (
        not isinstance(listing, str)
        or hashlib.md5(listing.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest() + ".dir"
        != digest
    ):
        raise Refused("TEXTCLF_DATASET_LISTING is not the listing whose md5 is TEXTCLF_DATASET_MD5")
    if request.get("EnableNetworkIsolation") is not True:
        raise Refused("the job must run with network isolation (EnableNetworkIsolation: true)")
    problems = hyperparameter_problems(request.get("HyperParameters") or {})
    if problems:
        raise Refused("HyperParameters: " + "; ".join(problems[:5]))
    dataset_uri = f"s3://{bucket}/{config['DATASETS_PREFIX']}{digest.removesuffix('.dir')}/"
    channels = [
        {
            "ChannelName": channel,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{dataset_uri}{channel}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "application/jsonlines",
            "InputMode": "File",
        }
        for channel in CHANNELS
    ]
    given = request.get("InputDataConfig")
    if given is not None and given != channels:
        raise Refused(f"InputDataConfig must be the train and validation channels of {dataset_uri}")
    output = {"S3OutputPath": f"s3://{bucket}/{config['JOBS_PREFIX']}{run['head']}/"}
    if os.environ.get("KMS_KEY_ARN"):
        output["KmsKeyId"] = os.environ["KMS_KEY_ARN"]
    resources = _resources(request.get("ResourceConfig"))
    tags = _tags(request.get("Tags"))
    return {
        **request,
        "TrainingJobName": name,
        "RoleArn": config["SAGEMAKER_ROLE_ARN"],
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "InputDataConfig": channels,
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        # Its own prefix, named after a job name no other job can have: a job resumes from its own
        # checkpoints only (after a Spot interruption), never from another run's.
        "CheckpointConfig": {
            "S3Uri": f"s3://{bucket}/{config['CHECKPOINTS_PREFIX']}{name}/",
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        },
        "Environment": {
            **({"TEXTCLF_RAW_DATA_MD5": raw} if raw else {}),
            "TEXTCLF_DATASET_MD5": digest,
            "TEXTCLF_DATASET_LISTING": listing,
            "TEXTCLF_GIT_COMMIT": run["head"],
            "TEXTCLF_PULL_REQUEST": run["pull_request"],
            "TEXTCLF_RUN": f"{run['run_id']}-{run['run_attempt']}",
        },
        "Tags": [*tags, {"Key": "git-commit", "Value": run["head"]}],
    }


# SageMaker's Tag: a Key of 1 to 128 and a Value of 0 to 256 letters, numbers, separators and
# _.:/=+-@ (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html), at most 50 on a
# job (CreateTrainingJob, Tags), one of them the function's own git-commit (the runner's git-* tags
# give way to it); `aws:` is AWS's prefix.
MAX_TAGS = 50
TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_text(text: Any, low: int, high: int) -> bool:
    return (
        isinstance(text, str)
        and low <= len(text) <= high
        and all(unicodedata.category(c)[0] in "LNZ" or c in TAG_PUNCTUATION for c in text)
    )


def _tags(given: Any) -> list[dict[str, str]]:
    """The runner's tags but its git-* ones, each checked as SageMaker would (a Refused naming the first
    bad one), where a number, a string or a malformed tag was a TypeError (a stack trace to the
    caller) or dropped."""
    if given is None:
        return []
    rule = 'Tags must be a list of at most 50 {"Key": "...", "Value": "..."} objects (SageMaker\'s Tag)'
    if not isinstance(given, list) or len(given) > MAX_TAGS:
        raise Refused(f"{rule}, not {_shown(given)}")
    for index, tag in enumerate(given):
        if (
            not isinstance(tag, dict)
            or set(tag) != {"Key", "Value"}
            or not _tag_text(tag["Key"], 1, 128)
            or not _tag_text(tag["Value"], 0, 256)
            or tag["Key"].lower().startswith("aws:")
        ):
            raise Refused(
                f"{rule}: Tags[{index}] {_shown(tag)} is not one (a Key of 1-128 and a Value of 0-256 "
                "letters, digits, spaces or _.:/=+-@; no aws: prefix)"
            )
    keys = [tag["Key"] for tag in given]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:  # "Tag keys must be unique per resource" (the Tag reference above)
        raise Refused(f"{rule}: the Key {_shown(twice[0])} is given twice")
    kept = [tag for tag in given if not tag["Key"].startswith("git-")]
    if len(kept) >= MAX_TAGS:
        raise Refused(f"{rule}, the function's own git-commit among them: {len(kept)} others is too many")
    return kept


# How many instances and how large a volume a pull request's run may ask for: IAM bounds the instance
# type and MaxRuntimeInSeconds (terraform/iam.tf) but has no condition key for the count or the
# volume, so the function does. Terraform sets both (variables training_max_instances and
# training_max_volume_gb); without them, params.yaml's own limits (config.SageMakerParams).
SIZE_LIMITS = (
    ("InstanceCount", "TRAINING_MAX_INSTANCES", 32),
    ("VolumeSizeInGB", "TRAINING_MAX_VOLUME_GB", 16384),
)


# What a run's ResourceConfig may hold: what the function bounds (SIZE_LIMITS), the instance type IAM
# bounds, and the volume's key, which the function sets itself.
RESOURCE_KEYS = frozenset({"InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId"})


def _limit(setting: str, default: int) -> int:
    text = os.environ.get(setting, "")
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= default:
        raise Refused(f"the function's {setting} {text!r} is not a whole number from 1 to {default}")
    return int(text)


def _resources(given: Any) -> dict[str, Any]:
    """The runner's ResourceConfig with the storage volume's key set here: the project's key
    (KMS_KEY_ARN) for an EBS volume, whatever the runner sent or left out; none for an instance
    type with local storage, where SageMaker refuses one (LOCAL_STORAGE_FAMILIES). One instance
    type, no instance groups: the key is chosen by that type's family."""
    instance_type = given.get("InstanceType") if isinstance(given, dict) else None
    if not isinstance(instance_type, str) or not INSTANCE_TYPE.fullmatch(instance_type):
        raise Refused("ResourceConfig must name the job's InstanceType (ml.<family>.<size>)")
    if "InstanceGroups" in given:
        raise Refused("ResourceConfig may not name InstanceGroups: the job runs on one InstanceType")
    other = sorted(set(given) - RESOURCE_KEYS)
    if other:
        # IAM has no condition key for them either: a warm pool (KeepAlivePeriodInSeconds) kept the
        # run's instances, billed, after each job; TrainingPlanArn spent the account's reserved capacity.
        raise Refused(
            f"ResourceConfig may not name {', '.join(map(_shown, other))}: a run's job takes "
            f"{', '.join(sorted(RESOURCE_KEYS - {'VolumeKmsKeyId'}))} (the volume's key is the function's)"
        )
    for key, setting, default in SIZE_LIMITS:
        largest = _limit(setting, default)
        value = given.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
            raise Refused(
                f"ResourceConfig.{key} must be a whole number from 1 to {largest} (the function's {setting}, "
                f"Terraform's {setting.lower()}), not {value!r}"
            )
    resources = {key: value for key, value in given.items() if key != "VolumeKmsKeyId"}
    if os.environ.get("KMS_KEY_ARN") and not has_local_storage(instance_type):
        resources["VolumeKmsKeyId"] = os.environ["KMS_KEY_ARN"]
    return resources


def start_job(event: dict, run: dict[str, str]) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import ClientError

    request = job_request(event.get("job"), run)
    try:
        boto3.client("sagemaker").create_training_job(**request)
    except ClientError as error:
        raise Refused(f"SageMaker refused the training job {request['TrainingJobName']}: {error}") from None
    return {"ok": True, "outcome": "started", "job_name": request["TrainingJobName"]}


# The copy goes through memory one part at a time, never through /tmp: the function's ephemeral
# storage is 512 MB by default ("Configure ephemeral storage for Lambda functions"), smaller than a
# base-size model's archive. S3's parts are 5 MiB to 5 GiB, at most 10,000 of them, the last one
# any size ("Amazon S3 multipart upload limits"): 16 MiB parts reach 156 GiB in 512 MB of memory.
PART_BYTES = 16 * 1024**2


def _read_part(body: Any) -> bytes:
    """The next PART_BYTES of a streamed body (fewer only at its end): a read may return less."""
    chunks, size = [], 0
    while size < PART_BYTES and (chunk := body.read(PART_BYTES - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _precondition_failed(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412")


def _copy_verified(
    s3, bucket: str, source_key: str, target_key: str, expected: str | None
) -> tuple[str, int]:
    """Copy one object into the write-once prefix, byte for byte as read, with its sha256 (which
    must be `expected`, when given). An object of one part is one conditional PutObject; a larger
    one goes up in parts, completed (If-None-Match: *) only once every byte is read and hashed, and
    aborted otherwise, so a wrong or failed copy leaves no object and no open upload. A target
    already there with the same bytes is kept."""
    from botocore.exceptions import ClientError

    digest, size = hashlib.sha256(), 0
    body = s3.get_object(Bucket=bucket, Key=source_key)["Body"]

    def next_part() -> bytes:
        nonlocal size
        part = _read_part(body)
        size += len(part)
        if size > MAX_FILE_BYTES and expected is not None:
            raise Refused(f"s3://{bucket}/{source_key} is larger than {MAX_FILE_BYTES} bytes")
        digest.update(part)
        return part

    def check_digest() -> None:
        if expected is not None and digest.hexdigest() != expected:
            raise Refused(f"s3://{bucket}/{source_key} does not have the sha256 the run gave ({expected})")

    first = next_part()
    following = next_part() if len(first) == PART_BYTES else b""
    try:
        if not following:
            check_digest()
            s3.put_object(Bucket=bucket, Key=target_key, Body=first, IfNoneMatch="*")
        else:
            _upload_in_parts(s3, bucket, target_key, [first, following], next_part, check_digest)
    except ClientError as error:
        if not _precondition_failed(error):
            raise
        existing = hashlib.sha256()
        for chunk in s3.get_object(Bucket=bucket, Key=target_key)["Body"].iter_chunks(1 << 20):
            existing.update(chunk)
        if existing.hexdigest() != digest.hexdigest():
            raise Refused(f"s3://{bucket}/{target_key} exists with other content: write-once") from None
    return digest.hexdigest(), size


def _upload_in_parts(s3, bucket: str, key: str, parts: list[bytes], next_part, check_digest) -> None:
    """`parts`, then next_part() until it is empty, as one multipart upload completed only if the
    key is new (the write-once policy lets staging calls through and requires If-None-Match on
    CompleteMultipartUpload, terraform/storage.tf); aborted on any failure."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        sent = []
        part = parts.pop(0)
        while part:
            number = len(sent) + 1
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=part)
            sent.append({"PartNumber": number, "ETag": answer["ETag"]})
            part = parts.pop(0) if parts else next_part()
        check_digest()
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": sent}, IfNoneMatch="*"
        )
    except BaseException:
        # Nothing staged is left behind (a failed complete leaves the upload open); the first error
        # is the one to report.
        with contextlib.suppress(Exception):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise


MAX_EVAL_BYTES = 16 * 1024**2  # the evaluate stage's metrics: a few kilobytes


def _metrics(s3, bucket: str, source: dict[str, str]) -> dict[str, Any]:
    """The run's eval.json (its candidate object, with the sha256 the run gave): a JSON object."""
    where = f"eval.json (s3://{bucket}/{source['key']})"
    body = s3.get_object(Bucket=bucket, Key=source["key"])["Body"].read(MAX_EVAL_BYTES + 1)
    if len(body) > MAX_EVAL_BYTES:
        raise Refused(f"{where} is larger than {MAX_EVAL_BYTES} bytes: nothing was published")
    if hashlib.sha256(body).hexdigest() != source["sha256"]:
        raise Refused(f"{where} does not have the sha256 the run gave ({source['sha256']})")
    try:
        metrics = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply
        raise Refused(f"{where} is not JSON (or nested too deeply): nothing was published") from None
    if not isinstance(metrics, dict):
        raise Refused(f"{where} is not a JSON object: nothing was published")
    return metrics


def publish_job(event: dict, run: dict[str, str]) -> dict[str, Any]:
    """Copy a completed job of this run's head commit and the run's files to the write-once
    `<artifact prefix><head>/`, the manifest last, with where each byte comes from."""
    import boto3
    from botocore.exceptions import ClientError

    config = _bucket_settings()
    bucket, head, prefix = config["ARTIFACTS_BUCKET"], run["head"], os.environ["JOB_NAME_PREFIX"]
    job_name = event.get("job_name")
    if not isinstance(job_name, str) or not re.fullmatch(
        rf"{re.escape(prefix)}-{head[:8]}-run[0-9]{{1,20}}-[0-9]{{1,5}}", job_name
    ):
        raise Refused(
            f"job_name {job_name!r} is not a training job of commit {head} "
            f"({prefix}-{head[:8]}-run<id>-<attempt>)"
        )
    files = event.get("files")
    if not isinstance(files, dict) or "eval.json" not in files or not set(files) <= set(PUBLISHED_FILES):
        raise Refused(f"files must name eval.json and at most {', '.join(PUBLISHED_FILES)}")
    for name, source in files.items():
        if not (
            isinstance(source, dict)
            and set(source) == {"key", "sha256"}
            and isinstance(source["key"], str)
            and source["key"].startswith(os.environ.get("CANDIDATES_PREFIX", "candidates/"))
            and isinstance(source["sha256"], str)
            and SHA256.fullmatch(source["sha256"])
        ):
            raise Refused(f'files[{name!r}] must be {{"key": "candidates/...", "sha256": "<64 hex>"}}')
    sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
    try:
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as error:
        raise Refused(f"no training job {job_name}: {error}") from None
    environment = job.get("Environment") or {}
    if environment.get("TEXTCLF_GIT_COMMIT") != head:
        raise Refused(f"{job_name} was not started for commit {head} (by this function)")
    if job.get("TrainingJobStatus") != "Completed":
        raise Refused(f"{job_name} is {job.get('TrainingJobStatus')}, not Completed")
    artifacts = f"s3://{bucket}/{config['JOBS_PREFIX']}{head}/{job_name}/output/model.tar.gz"
    if job.get("ModelArtifacts", {}).get("S3ModelArtifacts") != artifacts:
        raise Refused(f"{job_name}'s model is not at {artifacts}")
    target = f"{config['ARTIFACT_PREFIX']}{head}/"
    manifest_key = target + "manifest.json"
    try:
        existing = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        existing = None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply
        raise Refused(
            f"s3://{bucket}/{manifest_key} exists but is no manifest (not JSON): write-once, so no publish "
            f"of {head} can replace it"
        ) from None
    if existing is not None:
        published_from = (
            (existing.get("provenance") or {}).get("job_name") if isinstance(existing, dict) else None
        )
        if published_from != job_name:
            raise Refused(
                f"s3://{bucket}/{manifest_key} holds the model of {published_from!r} already: write-once"
            )
        return {"ok": True, "outcome": "published-already", "manifest": existing}
    # eval.json is read and checked before anything is copied: a copy into the write-once prefix
    # cannot be taken back, so a bad eval.json found after it blocked every later publish of `head`.
    metrics = _metrics(s3, bucket, files["eval.json"])
    sha256, size = _copy_verified(s3, bucket, artifacts.split("/", 3)[3], target + "model.tar.gz", None)
    digests = {}
    for name, source in sorted(files.items()):
        digests[name] = _copy_verified(s3, bucket, source["key"], target + name, source["sha256"])[0]
    manifest = {
        "commit": head,
        "model_data_url": f"s3://{bucket}/{target}model.tar.gz",
        "sha256": sha256,
        "size_bytes": size,
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "metrics": metrics,
        "files": digests,
        # Where the bytes come from: SageMaker's description of the job this function started for
        # the run of `head` (textclf.release.promote.verify_provenance checks it against the commit).
        "provenance": {
            "job_name": job_name,
            "job_arn": job["TrainingJobArn"],
            "model_artifacts": artifacts,
            "training_image": job["AlgorithmSpecification"]["TrainingImage"],
            "hyperparameters": job.get("HyperParameters") or {},
            "dataset_md5": environment.get("TEXTCLF_DATASET_MD5"),
            "raw_data_md5": environment.get("TEXTCLF_RAW_DATA_MD5"),
            "input_data": [
                c["DataSource"]["S3DataSource"]["S3Uri"] for c in job.get("InputDataConfig") or []
            ],
            "checkpoint_uri": (job.get("CheckpointConfig") or {}).get("S3Uri"),
            "job_pull_request": environment.get("TEXTCLF_PULL_REQUEST"),
            "job_run": environment.get("TEXTCLF_RUN"),
            "published_by_run": f"{run['run_id']}-{run['run_attempt']}",
            "pull_request": run["pull_request"],
            "merge_commit": run["merge_commit"],
            "base": run["base"],
            "workflow": run["workflow"],
        },
    }
    body = (json.dumps(manifest, indent=2) + "\n").encode()
    try:
        s3.put_object(
            Bucket=bucket, Key=manifest_key, Body=body, ContentType="application/json", IfNoneMatch="*"
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
        raise Refused(f"s3://{bucket}/{manifest_key} was written meanwhile by another publish") from None
    return {"ok": True, "outcome": "published", "manifest": manifest}


def run_action(event: dict, function_name: str, now: float) -> dict[str, Any]:
    """A start or publish request: always an answer, a refusal with its reason on any problem."""
    action = event["action"]
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        unknown = sorted(map(str, set(event) - ACTION_KEYS[action]))
        if unknown:  # ignored, it would be a setting silently not applied
            raise Refused(
                f"the {action} request holds {', '.join(map(_shown, unknown))}, which the function does not "
                f"take: send exactly {', '.join(sorted(ACTION_KEYS[action]))}"
            )
        run = verified_run(event, function_name, now)
        answer = start_job(event, run) if action == "start" else publish_job(event, run)
    except Refused as refusal:
        print(json.dumps({"action": action, "outcome": "refused", "reason": str(refusal)}))
        return {"ok": False, "status": "refused", "reason": str(refusal)}
    except (BotoCoreError, ClientError) as error:  # S3 or SageMaker: a reason, not a stack trace
        print(json.dumps({"action": action, "outcome": "failed", "reason": str(error)}))
        return {"ok": False, "status": "failed", "reason": f"{action}: {error}"}
    except Exception as error:  # a defect here: an answer the run can print, not Lambda's stack trace
        reason = f"{type(error).__name__}: {error}"
        print(json.dumps({"action": action, "outcome": "failed", "reason": reason}))
        return {"ok": False, "status": "failed", "reason": f"{action}: {reason}"}
    audit = {key: run[key] for key in ("pull_request", "run_id", "run_attempt", "head", "actor")}
    print(
        json.dumps(
            {
                "action": action,
                **audit,
                "outcome": answer["outcome"],
                "job_name": answer.get("job_name") or event.get("job_name"),
            }
        )
    )
    return answer


# The zip: this module and the import-free `__init__.py` files on the way to it. It ships in the
# redeploy function's package (textclf.release.redeploy.ZIP_FILES), one build for both handlers.
ZIP_FILES = ("textclf/__init__.py", "textclf/training/__init__.py", "textclf/training/stop_job.py")
