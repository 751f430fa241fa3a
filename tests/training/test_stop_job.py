"""The stop-training function's checks: only a token GitHub signed for this function, of a pull
request run of this repository, stops that run's job (the IAM-enforced scenario is in
tests/iam/test_attacks.py)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        monkeypatch.setattr(stop_job, "_fetched_at", -math.inf)
        assert set(stop_job._issuer_keys("k1")) == {"k1"}
        first.stop()
        assert set(stop_job._issuer_keys("k1")) == {"k1"}  # cached: no fetch while the key is known
        url = rotated.serve()
        monkeypatch.setenv("JWKS_URL", url)
        assert set(stop_job._issuer_keys("k2")) == {"k1"}  # read a moment ago: not again yet
        monkeypatch.setattr(stop_job, "_fetched_at", time.monotonic() - stop_job.JWKS_REFETCH_SECONDS)
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
    monkeypatch.setattr(stop_job, "_fetched_at", -math.inf)
    with pytest.raises(stop_job.Refused, match=r"could not read the issuer's keys from http://127.0.0.1:9/"):
        stop_job._issuer_keys("k1")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jwt", "not a signed JWT"),
        ("a.b", "not a signed JWT"),
        (b64url(b'{"alg": "none", "kid": "k1"}') + ".e30.", "algorithm 'none' is not RS256"),
        (b64url(b'{"alg": "RS256", "kid": 7}') + ".e30.c2ln", r"key id \(kid\) is not a string"),
    ],
)
def test_a_malformed_token_is_refused_for_itself_before_any_key_is_fetched(monkeypatch, token, reason):
    """Bad input, round 4: a token that is no JWT was refused as "could not read the issuer's keys"
    after a fetch it should never have caused."""
    monkeypatch.setenv("JWKS_URL", "http://127.0.0.1:9/.well-known/jwks")  # nothing listens
    monkeypatch.setattr(stop_job, "_cached_keys", {})
    monkeypatch.setattr(stop_job, "_fetched_at", -math.inf)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", "textclf-")
    monkeypatch.setattr(stop_job, "_issuer_keys", lambda kid: pytest.fail("the keys were fetched"))
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.check_request({"job_name": "textclf-x", "token": token}, FUNCTION, 0.0)


# --- hostile tokens and requests (issue 25's lower points, issue 27) ------------------------------


def part(value: object) -> str:
    return b64url(json.dumps(value).encode())


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: i.token(FUNCTION, REPOSITORY, exp=math.inf), "finite numbers of seconds"),
        (lambda i: i.token(FUNCTION, REPOSITORY, exp=math.nan), "finite numbers of seconds"),
        (lambda i: i.token(FUNCTION, REPOSITORY, nbf=-math.inf), "finite numbers of seconds"),
        (lambda i: i.token(FUNCTION, REPOSITORY, exp=10**400), "finite numbers of seconds"),
        (
            lambda i: part({"alg": "RS256", "kid": ["test-key-1"]}) + ".e30.",
            r"key id \(kid\) is not a string",
        ),
        (lambda i: part({"alg": "RS256", "kid": {"a": 1}}) + ".e30.", r"key id \(kid\) is not a string"),
        (lambda i: part({"alg": "RS256", "kid": i.kid}) + ".é30.AAAA", "payload is not base64url"),
        (lambda i: i.token(FUNCTION, REPOSITORY) + "AAA", "signature is not base64url"),  # 4k+1 long
        (lambda i: part({"alg": "RS256", "kid": i.kid}) + ".e30.AAAAA", "signature is not base64url"),
        (lambda i: "\u0661\u0662.e30.AAAA", "header is not base64url"),
    ],
)
def test_hostile_tokens_are_refused_with_the_reason(issuer, keys, make, reason):
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.verify(make(issuer), keys, ISSUER, FUNCTION, time.time())


def test_a_flood_of_unknown_key_ids_reads_the_jwks_once(issuer, monkeypatch):
    fetched = []

    def Response() -> io.BytesIO:  # stands in for the answer urlopen gives
        return io.BytesIO(json.dumps(issuer.jwks()).encode())  # a file-like answer, read in parts

    monkeypatch.setattr(
        stop_job.urllib.request, "urlopen", lambda url, timeout: fetched.append(url) or Response()
    )
    monkeypatch.setattr(stop_job, "_cached_keys", {})
    monkeypatch.setattr(stop_job, "_fetched_at", -math.inf)
    for number in range(50):
        assert stop_job._issuer_keys(f"made-up-{number}") == {
            issuer.kid: stop_job.public_keys(issuer.jwks())[issuer.kid]
        }
    assert len(fetched) == 1


@pytest.mark.parametrize("unset", ["GITHUB_REPOSITORY", "JOB_NAME_PREFIX"])
def test_a_function_without_its_settings_refuses_and_says_which(issuer, monkeypatch, unset):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", PREFIX)
    monkeypatch.delenv(unset)
    event = {"job_name": OWN_JOB, "token": issuer.token(FUNCTION, REPOSITORY)}
    result = stop_job.handler(event, type("Context", (), {"function_name": FUNCTION})())
    assert result["status"] == "refused" and f"{unset} unset" in result["reason"]


TOKEN_TEXT = st.text(alphabet=st.sampled_from("AZaz09-_.=+/é\x00 {}"), max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=JSON | st.fixed_dictionaries({"alg": st.just("RS256"), "kid": JSON}),
    payload=JSON,
    signature=TOKEN_TEXT,
    raw=TOKEN_TEXT,
    use_raw=st.booleans(),
    event=JSON,
    use_event=st.booleans(),
)
def test_any_request_is_answered_with_a_refusal_never_an_exception(
    keys, monkeypatch, header, payload, signature, raw, use_raw, event, use_event
):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", PREFIX)
    monkeypatch.setattr(stop_job, "_cached_keys", keys)
    monkeypatch.setattr(stop_job, "_fetched_at", time.monotonic())  # no network in this test
    token = raw if use_raw else f"{part(header)}.{part(payload)}.{signature}"
    request = event if use_event else {"job_name": OWN_JOB, "token": token}
    result = stop_job.handler(request, type("Context", (), {"function_name": FUNCTION})())
    assert result == {"ok": False, "status": "refused", "reason": result["reason"]} and result["reason"]


# --- starting and publishing: the run's merge commit names its head -------------------------------

BASE = "b" * 40
HEAD = "c" * 40


def merge_commit(base: str = BASE, head: str = HEAD, parents: int = 2) -> tuple[str, str]:
    """(base64 of the object, its sha) of a merge commit as GitHub makes refs/pull/<n>/merge."""
    import base64

    lines = [f"tree {'d' * 40}", *[f"parent {p}" for p in (base, head)[:parents]]]
    signature = "GitHub <noreply@github.com> 1700000000 +0000"
    raw = (
        "\n".join(
            [*lines, f"author {signature}", f"committer {signature}", "", f"Merge {head} into {base}", ""]
        )
    ).encode()
    sha = hashlib.sha1(b"commit %d\x00" % len(raw) + raw).hexdigest()
    return base64.b64encode(raw).decode(), sha


def test_the_merge_commit_is_hashed_as_git_does_and_its_second_parent_is_the_head(tmp_path):
    import base64
    import subprocess

    body, sha = merge_commit()
    raw = base64.b64decode(body)
    by_git = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "--stdin"],
            input=raw,
            capture_output=True,
            check=True,
            cwd=tmp_path,
        )
        .stdout.decode()
        .strip()
    )
    assert by_git == sha
    assert stop_job.pull_request_head(body, sha) == (BASE, HEAD)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: (merge_commit()[0], merge_commit(head="e" * 40)[1]), "is not the object of commit"),
        (lambda: merge_commit(parents=1), "is not a merge of a pull request's head"),
        (lambda: ("not base64!", merge_commit()[1]), "not base64"),
        (lambda: (merge_commit()[0], None), "no commit sha"),
        (lambda: (7, merge_commit()[1]), "must be the base64"),
    ],
)
def test_a_merge_commit_that_is_not_the_tokens_is_refused(make, reason):
    body, sha = make()
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.pull_request_head(body, sha)


RUN_SETTINGS = {
    "GITHUB_REPOSITORY": REPOSITORY,
    "JOB_NAME_PREFIX": PREFIX,
    "ARTIFACTS_BUCKET": "textclf-prod-artifacts",
    "DATASETS_PREFIX": "datasets/",
    "CHECKPOINTS_PREFIX": "checkpoints/",
    "JOBS_PREFIX": "jobs/",
    "ARTIFACT_PREFIX": "models/",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/textclf-prod-sagemaker",
    "TRAINING_REPOSITORY_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-training",
}
LISTING = json.dumps([{"md5": "1" * 32, "relpath": "train.jsonl"}], sort_keys=True)
DIGEST = hashlib.md5(LISTING.encode()).hexdigest() + ".dir"
IMAGE = RUN_SETTINGS["TRAINING_REPOSITORY_URI"] + ":abc"
OTHER_CHECKPOINTS = "s3://textclf-prod-artifacts/checkpoints/textclf-other-run1-1/"
RUN = {
    "pull_request": "7",
    "run_id": "4242",
    "run_attempt": "1",
    "head": HEAD,
    "job_name": f"textclf-{HEAD[:8]}-run4242-1",
}


def runner_request(**changes) -> dict:
    """What textclf.training.sagemaker.plan_job asks for, in the run of HEAD."""
    request = {
        "TrainingJobName": RUN["job_name"],
        "RoleArn": RUN_SETTINGS["SAGEMAKER_ROLE_ARN"],
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"epochs": "1"},
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "EnableNetworkIsolation": True,
        # Another run's checkpoints: the function replaces them by the job's own.
        "CheckpointConfig": {"S3Uri": OTHER_CHECKPOINTS, "LocalPath": "/opt/ml/checkpoints"},
        "Environment": {"TEXTCLF_DATASET_MD5": DIGEST, "TEXTCLF_DATASET_LISTING": LISTING},
    }
    return {**request, **changes}


def test_the_function_names_the_job_and_sets_its_channels_checkpoints_and_environment(monkeypatch):
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)
    job = stop_job.job_request(runner_request(), RUN)
    assert job["TrainingJobName"] == f"textclf-{HEAD[:8]}-run4242-1"
    # Its own checkpoint prefix, whatever the request said: it resumes from no other job's weights.
    assert (
        job["CheckpointConfig"]["S3Uri"]
        == f"s3://textclf-prod-artifacts/checkpoints/{job['TrainingJobName']}/"
    )
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://textclf-prod-artifacts/jobs/{HEAD}/"
    uris = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]]
    digest = DIGEST.removesuffix(".dir")
    assert uris == [f"s3://textclf-prod-artifacts/datasets/{digest}/{c}/" for c in ("train", "validation")]
    assert (
        job["Environment"]["TEXTCLF_GIT_COMMIT"] == HEAD and job["Environment"]["TEXTCLF_PULL_REQUEST"] == "7"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"TrainingJobName": f"textclf-{'a' * 8}-run4242-1"}, "the run's training job is named"),
        ({"AlgorithmSpecification": {"TrainingImage": "docker.io/evil:1"}}, "is not one of"),
        (
            {
                "AlgorithmSpecification": {
                    "TrainingImage": RUN_SETTINGS["TRAINING_REPOSITORY_URI"] + ":abc",
                    "ContainerEntrypoint": ["sh"],
                }
            },
            "may name the training image and File input only",
        ),
        ({"Environment": {"TEXTCLF_DATASET_MD5": DIGEST}}, "Environment must be TEXTCLF_DATASET_MD5"),
        (
            {"Environment": {"TEXTCLF_DATASET_MD5": "0" * 32 + ".dir", "TEXTCLF_DATASET_LISTING": LISTING}},
            "is not the listing",
        ),
        ({"InputDataConfig": [{"ChannelName": "train"}]}, "InputDataConfig must be"),
        ({"EnableNetworkIsolation": False}, "network isolation"),
        ({"VpcConfig": {}}, "must be a CreateTrainingJob request"),
    ],
)
def test_a_start_request_outside_the_runs_job_is_refused(monkeypatch, changes, reason):
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.job_request(runner_request(**changes), RUN)


def test_start_and_publish_need_a_token_of_the_pull_request_workflow(issuer, keys, monkeypatch):
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(stop_job, "_cached_keys", keys)
    monkeypatch.setattr(stop_job, "_fetched_at", time.monotonic())
    body, sha = merge_commit()
    context = type("Context", (), {"function_name": FUNCTION})()
    workflow = f"{REPOSITORY}/.github/workflows/pr.yml@refs/pull/7/merge"
    event = {"action": "start", "merge_commit": body, "job": runner_request()}
    other = issuer.token(
        FUNCTION,
        REPOSITORY,
        sha=sha,
        job_workflow_ref=f"{REPOSITORY}/.github/workflows/release.yml@refs/heads/main",
    )
    answer = stop_job.handler({**event, "token": other}, context)
    assert answer["status"] == "refused" and "job_workflow_ref" in answer["reason"]
    # The token of another run (another merge commit): its head is not this one.
    answer = stop_job.handler(
        {**event, "token": issuer.token(FUNCTION, REPOSITORY, sha="e" * 40, job_workflow_ref=workflow)},
        context,
    )
    assert answer["status"] == "refused" and "is not the object of commit" in answer["reason"]
    run = stop_job.verified_run(
        {**event, "token": issuer.token(FUNCTION, REPOSITORY, sha=sha, job_workflow_ref=workflow)},
        FUNCTION,
        time.time(),
    )
    assert (run["head"], run["pull_request"], run["job_name"]) == (HEAD, "7", RUN["job_name"])
