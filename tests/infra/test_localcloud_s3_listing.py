"""ListObjectsV2 and DeleteObjects refuse what S3 refuses (R14B-39): a continuation token the listing
never issued, a negative MaxKeys, an EncodingType other than url (InvalidArgument, 400, not an HTTP
500 or a silently shortened list), more than 1,000 keys in one DeleteObjects (MalformedXML)."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tests.infra.test_localcloud_policy_checks import refused

BUCKET = "textclf-listing"


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3", config=Config(parameter_validation=False))
    client.create_bucket(Bucket=BUCKET)
    for i in range(5):
        client.put_object(Bucket=BUCKET, Key=f"k{i}", Body=b"x")
    return client


def test_listing_arguments_s3_refuses_are_invalid_argument(s3):
    message = refused(
        lambda: s3.list_objects_v2(Bucket=BUCKET, ContinuationToken="bogus"), "InvalidArgument", 400
    )
    assert "continuation token provided is incorrect" in message
    refused(lambda: s3.list_objects_v2(Bucket=BUCKET, MaxKeys=-1), "InvalidArgument", 400)
    refused(lambda: s3.list_objects(Bucket=BUCKET, MaxKeys=-1), "InvalidArgument", 400)
    refused(lambda: s3.list_objects_v2(Bucket=BUCKET, EncodingType="base64"), "InvalidArgument", 400)


def test_a_paginated_listing_still_resumes_with_its_own_tokens(s3):
    first = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=2)
    rest = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=10, ContinuationToken=first["NextContinuationToken"])
    keys = [o["Key"] for o in first["Contents"] + rest["Contents"]]
    assert keys == [f"k{i}" for i in range(5)]
    assert s3.list_objects_v2(Bucket=BUCKET, EncodingType="url")["KeyCount"] == 5


def test_delete_objects_of_more_than_1000_keys_is_malformed_and_deletes_nothing(s3):
    keys = [{"Key": f"k{i}"} for i in range(5)] + [{"Key": f"x{i}"} for i in range(996)]
    refused(lambda: s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys}), "MalformedXML", 400)
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 5
