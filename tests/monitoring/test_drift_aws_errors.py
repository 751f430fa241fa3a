"""The drift check's AWS calls that fail (issue 27, round 7, T-b): a DriftError naming what was read
or written and what to check, still raised (the function's error is what the schedule's failure
alarm counts), never botocore's traceback; and the bucket rules S3 applies to ARTIFACTS_BUCKET."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from textclf.monitoring import drift

from .test_drift_check import COMMIT, REFERENCE

BUCKET = "textclf-artifacts-drift"
ENDPOINT = "textclf-drift-errors"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("ARTIFACTS_BUCKET", BUCKET)


def test_an_unreachable_s3_names_the_deployment_record(settings, monkeypatch):
    for name, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # made from this environment, then dropped

    with pytest.raises(drift.DriftError) as raised:
        drift.handler(None)

    message = str(raised.value)
    assert message.startswith(f"s3://{BUCKET}/production/deployment.json: cannot be read: ")
    assert "check that the function reaches AWS" in message


def test_an_endpoint_without_a_log_group_names_the_group(aws_env, settings):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="production/deployment.json", Body=json.dumps({"commit": COMMIT}))
    s3.put_object(Bucket=BUCKET, Key=f"models/{COMMIT}/reference.json", Body=json.dumps(REFERENCE))

    with pytest.raises(drift.DriftError) as raised:
        drift.handler({})

    message = str(raised.value)
    assert message.startswith(f"log group {drift.log_group(ENDPOINT)}: cannot be read: ")
    assert "logs:FilterLogEvents" in message and "ENDPOINT_NAME" in message


def test_a_refused_metric_names_the_namespace_and_the_permission():
    class CloudWatch:
        def put_metric_data(self, **_):
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
            raise ClientError(error, "PutMetricData")

    summary = {"predictions": 0, "status": "insufficient_traffic", "psi": None}
    with pytest.raises(drift.DriftError) as raised:
        drift.publish(CloudWatch(), "textclf/Drift", ENDPOINT, summary, 0.0)

    message = str(raised.value)
    assert message.startswith(
        f"CloudWatch metrics textclf/Drift (EndpointName {ENDPOINT}): cannot be published"
    )
    assert "AccessDenied" in message and "cloudwatch:PutMetricData" in message


@pytest.mark.parametrize("bucket", ["xn--artifacts", "artifacts-s3alias", "192.168.5.4", "sthree-artifacts"])
def test_a_bucket_name_s3_reserves_is_refused(monkeypatch, bucket):
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("ARTIFACTS_BUCKET", bucket)

    with pytest.raises(drift.DriftError, match=rf"^ARTIFACTS_BUCKET '{bucket}' is not an S3 bucket name; "):
        drift.settings_from_env()
