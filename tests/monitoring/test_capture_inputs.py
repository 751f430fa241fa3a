"""Sampled capture's settings, hostile (issue 27's fresh round): a capture URI whose bucket or key
is not what it looks like, and a flush interval that would make the writer spin (0), die (NaN,
negative, infinite) or never write. Each is refused when the server starts, naming the setting;
`textclf serve` turns it into one message (tests/serving/test_serve_framing.py)."""

from __future__ import annotations

import pytest

from textclf.serving import capture

BUCKET = "textclf-data"


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://{BUCKET}/captured/../models/",
        f"s3://{BUCKET}/captured/x?versionId=1",
        f"s3://{BUCKET}/captured/x#y",
        f"s3://user@{BUCKET}/captured/x/",
        f"s3://{BUCKET}:443/captured/x/",
        "s3://Bad_Bucket/captured/x/",
        f"s3://{BUCKET}/captured/a b/",
        f"s3://{BUCKET}//captured/x/",
        f"s3://{BUCKET}/incoming/",
        f"S3://{BUCKET}/captured/x/",
    ],
)
def test_a_capture_uri_that_is_not_a_plain_bucket_and_captured_prefix_is_refused(uri):
    """Before: `?versionId=1`, `#y`, a user part or a port were dropped or kept by urlsplit without
    a word, and `..` went into every key."""
    with pytest.raises(ValueError, match="expected s3://<bucket>/captured/<prefix>/"):
        capture.split_uri(uri)


def test_a_plain_capture_uri_is_its_bucket_and_prefix():
    assert capture.split_uri(f"s3://{BUCKET}/captured/textclf-prod") == (BUCKET, "captured/textclf-prod/")


@pytest.mark.parametrize("value", ["0", "nan", "-5", "inf", "1e9", "abc", "0.01", "6_0", "\u0666\u0660"])
def test_a_flush_interval_the_writer_cannot_use_is_refused(value):
    # R14C-19: `6_0` and Arabic-Indic digits were read as 60 by float().
    """Before: 0 made the writer thread flush in a busy loop; NaN, negative or infinite waits raised
    inside the thread (a traceback on stderr, then no capture at all)."""
    env = {capture.URI_ENV: f"s3://{BUCKET}/captured/x/", "TEXTCLF_CAPTURE_FLUSH_SECONDS": value}
    with pytest.raises(ValueError, match=r"FLUSH_SECONDS=.*a number of seconds, 0\.1 to 3600"):
        capture.from_environment(0.5, env)


def test_no_flush_interval_is_the_default():
    assert capture.flush_seconds(None) == capture.FLUSH_SECONDS == capture.flush_seconds("")
    assert capture.flush_seconds("2.5") == 2.5


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("AWS_REGION", "us\neast-1", "AWS_REGION="),
        ("AWS_ENDPOINT_URL", "http://[::1", "AWS_ENDPOINT_URL"),
        ("AWS_ENDPOINT_URL", "notaurl", "AWS_ENDPOINT_URL"),
    ],
)
def test_aws_settings_the_writer_cannot_use_are_refused_at_start(setting, value, named):
    """Before: checked only when the first flush signed a request, and then logged on every flush
    ("never cost a prediction"), so a capture that could never write started as "on"."""
    env = {capture.URI_ENV: f"s3://{BUCKET}/captured/x/", setting: value}
    with pytest.raises(ValueError, match=named):
        capture.from_environment(0.5, env)
