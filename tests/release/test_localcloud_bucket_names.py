"""The local cloud's CreateBucket refuses what S3 refuses (InvalidBucketName), not only a wrong length.
(`--x-s3`, S3 Express's suffix, is left out: botocore sends such a name to a directory bucket's
zonal endpoint, not to CreateBucket.)"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

REFUSED = [
    "192.168.5.4",  # the form of an IP address
    "a..b",  # two dots in a row
    "Upper-case",  # capitals
    "under_score",  # an underscore
    "sthree-data",  # reserved prefixes
    "amzn-s3-demo-data",
    "data-s3alias",  # reserved suffixes
    "data--ol-s3",
    "data.mrap",
    "data--table-s3",
]


@pytest.mark.parametrize("name", REFUSED)
def test_a_name_s3_refuses_is_refused(aws_env, name: str) -> None:
    s3 = boto3.client("s3")
    with pytest.raises(ClientError) as refused:
        s3.create_bucket(Bucket=name)
    assert refused.value.response["Error"]["Code"] == "InvalidBucketName"
    assert name not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


def test_a_name_s3_takes_is_created(aws_env) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="textclf-prod-data-123456789012")
    s3.create_bucket(Bucket="data.example.com")
    assert {"textclf-prod-data-123456789012", "data.example.com"} <= {
        bucket["Name"] for bucket in s3.list_buckets()["Buckets"]
    }
