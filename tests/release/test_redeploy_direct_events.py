"""The redeploy Lambda's direct events (the release workflow's) and its environment, malformed
(issue 27): every shape is a `rejected` result with a reason (`misconfigured` for the environment),
never an exception or a traceback, and the endpoint keeps its model, configs and models untouched.

The Model Registry event's shapes are in test_redeploy_events.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redeploy_world import BUCKET, COMMITS, artifact_url, direct_event, lambda_environment

from textclf.release import redeploy

A, B = COMMITS[:2]
SHA = "ab" * 32
NOT_STRING = "model_version must be a string (the commit), not "


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def url(commit: str) -> str:
    return artifact_url(commit)


# (event, what the reason says). Every one of them is refused before anything is read or created.
MALFORMED = [
    # Not an object.
    (["model_data_url", url(A)], "must be a JSON object, not list"),
    (42, "must be a JSON object, not int"),
    (1.5, "must be a JSON object, not float"),
    (True, "must be a JSON object, not bool"),
    # Missing fields.
    ({"model_version": A}, "unrecognised event"),
    ({"sha256": SHA, "release_id": "r1"}, "unrecognised event"),
    # model_data_url of another type.
    ({"model_data_url": None}, "model_data_url must be a string, not NoneType"),
    ({"model_data_url": [url(A)]}, "model_data_url must be a string, not list"),
    ({"model_data_url": {"s3": url(A)}}, "model_data_url must be a string, not dict"),
    ({"model_data_url": True}, "model_data_url must be a string, not bool"),
    # No digest: nothing is deployed without the published archive's sha256.
    ({"model_data_url": url(A)}, "the event has no sha256"),
    ({"model_data_url": url(A), "model_version": A}, "the event has no sha256"),
    ({"model_data_url": url(A), "model_version": A, "release_id": "r-1"}, "the event has no sha256"),
    # Bad commits in the URL.
    ({"model_data_url": url("a1b2c3")}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url("a" * 41)}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A.upper())}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url("g1b2c3d4")}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url("\u0661" * 8)}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A) + "/"}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A).replace(A, f"{A}/../{B}")}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A).replace(A, "..")}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A) + "\n"}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A).replace("s3://", "S3://")}, "outside the artifacts bucket"),
    ({"model_data_url": url(A).replace("models/", "models//")}, "commit: 7-40 lowercase hex digits"),
    # model_version.
    ({"model_data_url": url(A), "model_version": None}, f"{NOT_STRING}NoneType"),
    ({"model_data_url": url(A), "model_version": 1234567}, f"{NOT_STRING}int"),
    ({"model_data_url": url(A), "model_version": [A]}, f"{NOT_STRING}list"),
    ({"model_data_url": url(A), "model_version": A.upper()}, "does not match the commit"),
    ({"model_data_url": url(A), "model_version": A[:7]}, "does not match the commit"),
    ({"model_data_url": url(A), "model_version": ""}, "does not match the commit"),
    # sha256.
    ({"model_data_url": url(A), "sha256": None}, "sha256 None must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": 7}, "sha256 7 must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": SHA.upper()}, "must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": SHA[:63]}, "must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": SHA + "a"}, "must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": "sha256:" + SHA}, "must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "sha256": [SHA]}, "must be 64 lowercase hex digits"),
    # release_id.
    ({"model_data_url": url(A), "release_id": None}, "release_id None must be 1-100 letters"),
    ({"model_data_url": url(A), "release_id": ""}, "release_id '' must be 1-100 letters"),
    ({"model_data_url": url(A), "release_id": "a b"}, "must be 1-100 letters"),
    ({"model_data_url": url(A), "release_id": "r" * 101}, "must be 1-100 letters"),
    ({"model_data_url": url(A), "release_id": 5}, "must be 1-100 letters"),
    # Unknown keys, huge values, deep nesting.
    ({"model_data_url": url(A), "Model_Data_Url": url(B)}, "unknown keys ['Model_Data_Url']"),
    ({"model_data_url": url(A), "k" * 100_000: 1}, "unknown keys ['kkkk"),
    ({"model_data_url": url(A) + "x" * 1_000_000}, "commit: 7-40 lowercase hex digits"),
    ({"model_data_url": url(A), "model_version": A + "0" * 1_000_000}, "does not match the commit"),
    ({"model_data_url": url(A), "sha256": "a" * 1_000_000}, "must be 64 lowercase hex digits"),
    ({"model_data_url": url(A), "model_version": nested(5000)}, "nested too deeply to show"),
    ({"model_data_url": url(A), "sha256": nested(5000)}, "nested too deeply to show"),
    ({"model_data_url": nested(5000)}, "model_data_url must be a string, not list"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "reason"), MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_direct_event_is_rejected_with_a_reason(world, event, reason):
    world.upload(A)

    result = redeploy.handler(event, None)

    assert result["status"] == "rejected" and result["ok"] is False, result
    assert reason in result["reason"], result["reason"][:300]
    assert len(result["reason"]) < 1500  # a hostile value is cut, not echoed whole
    assert world.model_names() == [] and world.config_names() == []


def test_malformed_events_leave_a_live_endpoint_as_it_was(world):
    world.upload(A)
    world.upload(B)
    assert redeploy.handler(direct_event(A), None)["status"] == "deployed"
    before = (world.endpoint()["EndpointConfigName"], world.config_names(), world.model_names())
    bad_b = [{**event, "model_data_url": url(B)} for event, _ in MALFORMED if isinstance(event, dict)]

    for event in [e for e, _ in MALFORMED] + [e for e in bad_b if e != {"model_data_url": url(B)}]:
        result = redeploy.handler(event, None)
        assert result["status"] == "rejected", (str(event)[:200], result)

    assert (world.endpoint()["EndpointConfigName"], world.config_names(), world.model_names()) == before
    assert world.live_model_url() == url(A)
    assert not [item for item in world.locks() if item["lock_id"]["S"].startswith("redeploy/")]


def test_the_well_formed_events_still_deploy(world):
    """The shapes the release sends: url and sha256, with model_version and release_id or without."""
    world.upload(A)
    digest = hashlib.sha256(world.tarballs["good"]).hexdigest()
    assert redeploy.handler({"model_data_url": url(A), "sha256": digest}, None)["status"] == "deployed"
    event = {"model_data_url": url(A), "model_version": A, "sha256": digest, "release_id": "r-2"}
    assert redeploy.handler(event, None)["status"] == "already_live"


# --- the environment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "ARTIFACT_PREFIX is set but empty"),
        ("/", "ARTIFACT_PREFIX='/' is not a safe S3 key prefix"),
        ("../", "ARTIFACT_PREFIX='../' is not a safe S3 key prefix"),
        ("..", "ARTIFACT_PREFIX='..' is not a safe S3 key prefix"),
        ("./", "is not a safe S3 key prefix"),
        ("models/../", "is not a safe S3 key prefix"),
        ("models/./x/", "is not a safe S3 key prefix"),
        ("models//", "is not a safe S3 key prefix"),
        ("/models/", "is not a safe S3 key prefix"),
        ("models /", "is not a safe S3 key prefix"),
        ("models/\n", "is not a safe S3 key prefix"),
        ("m\u00f6dels/", "is not a safe S3 key prefix"),
        ("models/?x=1", "is not a safe S3 key prefix"),
        ("models/%2e%2e/", "is not a safe S3 key prefix"),
        ("x" * 2000 + "/", "is not a safe S3 key prefix"),
    ],
)
def test_an_artifact_prefix_that_is_not_a_safe_key_prefix_is_a_misconfiguration(
    world, monkeypatch, value, message
):
    """Before: "" was reported as "not set", and `/` or `../` were accepted as prefixes."""
    world.upload(A)
    monkeypatch.setenv("ARTIFACT_PREFIX", value)

    result = redeploy.handler(direct_event(A), None)

    assert result["status"] == "misconfigured" and message in result["reason"], result
    assert len(result["reason"]) < 1000
    assert world.model_names() == [] and world.config_names() == []


@pytest.mark.parametrize(
    ("value", "prefix"), [(None, "models/"), ("models", "models/"), ("team/models/", "team/models/")]
)
def test_good_artifact_prefixes_end_with_one_slash(value, prefix):
    env = lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker")
    env.pop("ARTIFACT_PREFIX")
    if value is not None:
        env["ARTIFACT_PREFIX"] = value
    assert redeploy.Settings.from_env(env).artifact_prefix == prefix


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ARTIFACT_BUCKET", "Textclf_Artifacts", "='Textclf_Artifacts' is not an S3 bucket name"),
        ("ARTIFACT_BUCKET", f"{BUCKET}/models", "is not an S3 bucket name"),
        ("ARTIFACT_BUCKET", "a..b", "is not an S3 bucket name"),
        ("KMS_KEY_ARN", "my-key", "KMS_KEY_ARN='my-key' is not a KMS key or alias ARN"),
        ("LOCK_TABLE", "t", "LOCK_TABLE='t' is not a DynamoDB table name"),
        ("LOCK_TABLE", "locks; drop", "is not a DynamoDB table name"),
        ("SERVING_IMAGE_URI", "an image", "SERVING_IMAGE_URI='an image' is not an image URI"),
        ("SERVING_IMAGE_URI", "i" * 300, "is not an image URI"),
        ("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:user/x", "is not an IAM role ARN"),
        ("CAPTURE_URI", "s3://Bad_Bucket/x/", "CAPTURE_URI='s3://Bad_Bucket/x/' must be an s3:// URI"),
        ("CAPTURE_URI", "s3://textclf-data/../x/", "must be an s3:// URI"),
        ("POLL_SECONDS", "nan", "POLL_SECONDS='nan' must be between"),
        ("DEPLOY_TIMEOUT_SECONDS", "inf", "must be between"),
        ("KEEP_CONFIGS", "1e3", "KEEP_CONFIGS='1e3' is not a number"),
    ],
)  # fmt: skip
def test_an_environment_value_aws_would_refuse_is_a_misconfiguration(
    world, monkeypatch, name, value, message
):
    """Before: a bad bucket, key, table or image name passed the settings and failed (or not) halfway
    through a deploy, after a model had been created."""
    world.upload(A)
    monkeypatch.setenv(name, value)

    result = redeploy.handler(direct_event(A), None)

    assert result["status"] == "misconfigured" and message in result["reason"], result
    assert world.model_names() == [] and world.config_names() == []


def test_a_command_line_event_nested_deeply_is_one_rejection(tmp_path):
    """`textclf redeploy --event` with a file Python's JSON reader takes but that nests near its
    limit: one JSON result, no traceback."""
    event = tmp_path / "event.json"
    event.write_text('{"model_data_url": "s3://x", "model_version": ' + "[" * 900 + "]" * 900 + "}")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin"}
    env |= lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker")
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "redeploy", "--event", str(event)],
        capture_output=True,
        text=True,
        env={
            **env,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
        },
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode in (1, 2) and '"status": "rejected"' in done.stdout, done.stdout[-500:]


# --- any direct event --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(["model_data_url", "model_version", "sha256", "release_id", "other"])
TEXTS = st.sampled_from([url(A), A, A[:7], SHA, "r-1", "", url(A).upper(), "s3://" + BUCKET + "/models/"])


@st.composite
def direct_events(draw) -> object:
    """A good direct event with fields replaced by arbitrary JSON or near-miss strings, or removed."""
    event = {"model_data_url": url(A), "model_version": A, "sha256": SHA, "release_id": "r-1"}
    for _ in range(draw(st.integers(1, 3))):
        field = draw(FIELDS)
        choice = draw(st.integers(0, 2))
        if choice == 0:
            event.pop(field, None)
        else:
            event[field] = draw(JSON if choice == 1 else TEXTS)
    return event


def lambda_settings() -> redeploy.Settings:
    return redeploy.Settings.from_env(lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker"))


@settings(max_examples=400, deadline=None)
@given(event=direct_events())
def test_any_direct_event_is_the_release_of_its_commit_or_a_rejection(event):
    try:
        release = redeploy.parse_event(event, lambda_settings())
    except redeploy.Rejected as error:
        assert str(error) and len(str(error)) < 1500
    else:
        assert release.model_data_url == url(A) and release.model_version == A
        assert event.get("model_version", A) == A
        assert release.sha256 == event["sha256"] == SHA  # never a release without its digest


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVERLESS_MAX_CONCURRENCY", "1_0"),
        ("SERVERLESS_MAX_CONCURRENCY", "\u0665"),
        ("SERVERLESS_MAX_CONCURRENCY", "+5"),
        ("KEEP_CONFIGS", "\uff13"),
        ("POLL_SECONDS", "1_5"),
        ("DEPLOY_TIMEOUT_SECONDS", "\u0667\u0662\u0660"),
    ],
)
def test_a_number_in_a_form_only_python_reads_is_a_misconfiguration(name, value):
    """R14C-19: int() and float() read `1_0` as 10, `+5` as 5 and other scripts' digits as theirs:
    Terraform writes ASCII digits, so these are refused naming the variable, as the API proxy's and
    the training-run function's limits already were."""
    env = {**lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker"), name: value}
    with pytest.raises(redeploy.ConfigError, match=rf"^environment variable {name}=.* is not a number"):
        redeploy.Settings.from_env(env)
