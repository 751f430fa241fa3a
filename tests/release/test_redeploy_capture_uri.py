"""The redeploy function takes only a CAPTURE_URI the serving container takes (R14C-2): it checked
the URI with rules of its own, so `s3://<bucket>/other/`, `s3://<bucket>` or `s3://<bucket>/captured`
passed, the model and its endpoint config were created with it as TEXTCLF_CAPTURE_URI, and every
container of the new model refused to start (textclf.serving.capture.split_uri: "expected
s3://<bucket>/captured/<prefix>/"): a deploy failing after its resources were made, which the
settings check exists to prevent."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.release.conftest import lambda_environment

from textclf.release import redeploy
from textclf.serving import capture

ROLE = "arn:aws:iam::123456789012:role/textclf-sagemaker"


def settings_with(uri: str) -> redeploy.Settings:
    return redeploy.Settings.from_env({**lambda_environment(ROLE), "CAPTURE_URI": uri})


@pytest.mark.parametrize(
    "uri",
    [
        "s3://textclf-data/other/",
        "s3://textclf-data",
        "s3://textclf-data/",
        "s3://textclf-data/captured",
        "s3://textclf-data/capturedx/endpoint/",
        "s3://textclf-data/logs/captured/endpoint/",
        "s3://textclf-data/captured/a..b/",
    ],
)
def test_a_capture_uri_the_container_refuses_is_a_misconfiguration(uri):
    with pytest.raises(ValueError, match="expected s3://<bucket>/captured/<prefix>/"):
        capture.split_uri(uri)  # what the model's container would say at start, after the deploy began
    with pytest.raises(redeploy.ConfigError, match=r"CAPTURE_URI=.* s3://<bucket>/captured/<prefix>/"):
        settings_with(uri)


@pytest.mark.parametrize(
    "uri", ["s3://textclf-data/captured/textclf-production/", "s3://textclf-data/captured/team/x"]
)
def test_the_capture_uri_terraform_sets_is_taken(uri):
    assert settings_with(uri).capture_uri == uri
    capture.split_uri(uri)


PIECES = st.sampled_from(["captured", "captured/", "x", "/", "..", ".", "*", "a b", "?", "%2F", "é", "//"])


@settings(max_examples=300, deadline=None)
@example(bucket="textclf-data", key=["captured/", "x", "..", "x"])
@given(
    bucket=st.sampled_from(["textclf-data", "Bad_Bucket", "ab", "xn--data"]), key=st.lists(PIECES, max_size=5)
)
def test_what_redeploy_passes_on_the_container_takes(bucket, key):
    uri = f"s3://{bucket}/{''.join(key)}"
    try:
        settings_with(uri)
    except redeploy.ConfigError:
        return
    capture.split_uri(uri)  # no ValueError: the container starts with it
