"""The drift check takes the live commit only as promote writes it, and a replay only for a window
whose metrics CloudWatch can still take.

R13B-2: `production/deployment.json` holding any non-empty string as `commit` went into the S3 key:
a lone surrogate ended in botocore's UnicodeEncodeError, "../x" was looked up as
models/../x/reference.json and reported as a model published without its reference.
R13B-4 and R13B-6: a replay's `window_end_ms` of 1000 passed (the window's start was negative and
botocore's parameter check was reported as a network problem), and one 15 days back or 3 hours ahead
passed too and failed only at PutMetricData, after the window was read: CloudWatch takes time stamps
"as much as two weeks before the current date, and as much as 2 hours after"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html)."""

from __future__ import annotations

import json

import boto3
import pytest

from textclf.monitoring import drift

from .test_drift_check import COMMIT, REFERENCE

BUCKET = "textclf-artifacts-live"
NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
BACK_MS = 14 * DAY_MS - 15 * 60 * 1000  # two weeks, less a Lambda's longest run before it publishes


@pytest.mark.parametrize(
    ("commit", "shown"),
    [
        ("\ud800", "'\\ud800'"),
        ("../x", "'../x'"),
        ("a" * 2000, "'" + "a" * 39),
        ("ABCDEF1", "'ABCDEF1'"),
        ("abc123", "'abc123'"),
        ("a" * 41, "'" + "a" * 39),
        ("", "''"),
        (1, "1"),
        (None, "None"),
        ([COMMIT], f"['{COMMIT[:37]}"),
    ],
)
def test_a_deployment_record_whose_commit_is_no_git_commit_id_is_named(aws_env, commit, shown):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="production/deployment.json", Body=json.dumps({"commit": commit}))
    with pytest.raises(drift.DriftError) as raised:
        drift.live_reference(s3, BUCKET)
    message = str(raised.value)
    assert message.startswith(f"s3://{BUCKET}/production/deployment.json: commit {shown}"), message
    assert message.endswith(
        "is not a git commit id (7 to 40 lowercase hex digits): promote writes it; "
        "promote the live model again"
    )


@pytest.mark.parametrize("commit", [COMMIT, COMMIT[:7], "0123456789abcdef0123"])
def test_the_commit_promote_writes_finds_its_reference(aws_env, commit):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="production/deployment.json", Body=json.dumps({"commit": commit}))
    s3.put_object(Bucket=BUCKET, Key=f"models/{commit}/reference.json", Body=json.dumps(REFERENCE))
    assert drift.live_reference(s3, BUCKET) == (commit, REFERENCE)


@pytest.mark.parametrize(
    ("end_ms", "named"),
    [
        (1000, "1000 (1970-01-01T00:00:01Z) is more than 14 days back"),
        (NOW_MS - 15 * DAY_MS, f"{NOW_MS - 15 * DAY_MS} (2026-12-31T08:00:00Z) is more than 14 days back"),
        (NOW_MS - BACK_MS - 1, "is more than 14 days back"),
        (NOW_MS + 3 * HOUR_MS, f"{NOW_MS + 3 * HOUR_MS} (2027-01-15T11:00:00Z) is more than 2 hours ahead"),
        (NOW_MS + 2 * HOUR_MS + 1, "is more than 2 hours ahead"),
        (10**18, "a number of more than 18 digits (beyond the year 9999) is more than 2 hours ahead"),
    ],
)
def test_a_replay_cloudwatch_could_not_take_the_metrics_of_is_refused_before_any_call(
    monkeypatch, end_ms, named
):
    with pytest.raises(drift.DriftError) as raised:
        drift.window_end({"window_end_ms": end_ms}, NOW)
    message = str(raised.value)
    assert message.startswith("event: window_end_ms ") and named in message, message
    assert message.endswith("as CloudWatch takes the check's metrics only then (PutMetricData)")

    # The handler refuses it before it makes any AWS client.
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "textclf-artifacts")
    monkeypatch.setattr(drift.time, "time", lambda: NOW)
    monkeypatch.setattr(drift, "_client", lambda service: pytest.fail(f"an AWS {service} client was made"))
    with pytest.raises(drift.DriftError, match=r"^event: window_end_ms "):
        drift.handler({"window_end_ms": end_ms})


@pytest.mark.parametrize("end_ms", [NOW_MS - BACK_MS, NOW_MS - 13 * DAY_MS, NOW_MS - 1, NOW_MS + 2 * HOUR_MS])
def test_a_replay_within_the_last_14_days_or_2_hours_ahead_is_taken(end_ms):
    assert drift.window_end({"window_end_ms": end_ms}, NOW) == end_ms
