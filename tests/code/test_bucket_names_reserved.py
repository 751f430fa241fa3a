"""Bucket names S3 reserves, and key prefixes longer than S3 keys (issue 27, U3).

params.yaml's aws.*_bucket (and their TEXTCLF_* overrides) and the strict s3://bucket/prefix inputs
(textclf.s3uri.check_prefix: `make batch-predict INPUT=... OUTPUT=...`, the capture URI) took names
of the right characters that S3 refuses all the same ("General purpose bucket naming rules",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): an IP address, the
prefixes xn--, sthree- and amzn-s3-demo-, the suffixes -s3alias, --ol-s3, .mrap, --x-s3 and
--table-s3, two dots in a row; and prefixes longer than an object key may be (1,024 bytes of UTF-8,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.code.test_params_aws_names import with_aws
from tests.code.test_params_folder_names import TEMPLATE
from textclf.config import ParamsError, parse_params
from textclf.s3uri import MAX_KEY_BYTES, bucket_name_problem, check_prefix

RESERVED = [
    ("192.168.5.4", "IP address"),
    ("10.0.0.1", "IP address"),
    ("xn--bcher-kva", "xn--"),
    ("sthree-bucket", "sthree-"),
    ("sthree-configurator-x", "sthree-"),
    ("amzn-s3-demo-bucket", "amzn-s3-demo-"),
    ("textclf-s3alias", "-s3alias"),
    ("textclf--ol-s3", "--ol-s3"),
    ("textclf.mrap", ".mrap"),
    ("textclf--usw2-az1--x-s3", "--x-s3"),
    ("textclf--table-s3", "--table-s3"),
    ("textclf..artifacts", "two dots"),
]
USUAL = [
    "textclf-artifacts",
    "textclf-prod-artifacts-123456789012",
    "my.bucket.example",
    "a1b",
    "192.168.5.4x",  # not an IP address
    "textclf-artifacts-111122223333-us-west-2-an",  # an account regional namespace bucket
    "xn-single-hyphen",
    "textclf-s3",
]


@pytest.mark.parametrize(("bucket", "said"), RESERVED)
@pytest.mark.parametrize("key", ["artifacts_bucket", "data_bucket", "models_bucket"])
def test_a_name_s3_reserves_is_refused_in_params_naming_the_rule(key, bucket, said):
    with pytest.raises(ParamsError) as refused:
        parse_params(with_aws(key, bucket))
    message = str(refused.value)
    assert message.startswith(f"params.yaml: aws.{key}: must be an S3 bucket name"), message
    assert said in message and "choose another name" in message


@pytest.mark.parametrize(("bucket", "said"), RESERVED[:3])
def test_a_reserved_name_in_an_environment_override_is_refused_naming_the_variable(monkeypatch, bucket, said):
    params = parse_params(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")))
    monkeypatch.setenv("TEXTCLF_DATA_BUCKET", bucket)
    with pytest.raises(ParamsError, match=rf"environment variable TEXTCLF_DATA_BUCKET=.*{said}"):
        params.aws.resolved()


@pytest.mark.parametrize("bucket", USUAL)
def test_names_s3_takes_still_load(bucket):
    assert bucket_name_problem(bucket) is None
    assert parse_params(with_aws("artifacts_bucket", bucket)).aws.artifacts_bucket == bucket
    assert check_prefix(f"s3://{bucket}/batch/in", "INPUT") == f"s3://{bucket}/batch/in"


@pytest.mark.parametrize(("bucket", "said"), RESERVED)
def test_a_prefix_in_a_bucket_s3_reserves_is_refused(bucket, said):
    with pytest.raises(ValueError, match=rf"^OUTPUT 's3://{bucket}/out': .*{said}"):
        check_prefix(f"s3://{bucket}/out", "OUTPUT")


def test_a_prefix_longer_than_an_s3_key_is_refused():
    longest = "p" * MAX_KEY_BYTES
    assert MAX_KEY_BYTES == 1024
    assert check_prefix(f"s3://textclf-data/{longest}", "INPUT")
    with pytest.raises(ValueError, match=r"^INPUT 's3://textclf-data/ppp.*: the key prefix is 1,025 bytes"):
        check_prefix(f"s3://textclf-data/{longest}p", "INPUT")


def test_the_make_check_refuses_a_reserved_bucket_without_a_traceback():
    """mk/batch.mk runs `python -m textclf.s3uri check INPUT OUTPUT` before a batch job."""
    run = subprocess.run(
        [sys.executable, "-m", "textclf.s3uri", "check", "INPUT", "OUTPUT"],
        env={**os.environ, "INPUT": "s3://textclf-data/batch/in", "OUTPUT": "s3://xn--bcher-kva/out"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: OUTPUT 's3://xn--bcher-kva/out': ") and "Traceback" not in run.stderr
