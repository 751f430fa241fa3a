"""S3 settings outside S3's values are refused and nothing changes (R14B-16): versioning Status,
default encryption SSEAlgorithm, an object's x-amz-server-side-encryption or a KMS key that does not
exist, lifecycle days of 0."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

BUCKET = "textclf-settings"
MISSING_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400), error
    return error["Error"]["Message"]


def test_bucket_settings_outside_s3s_values_are_refused(s3):
    refused(
        lambda: s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Maybe"}),
        "MalformedXML",
    )
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)
    bogus = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "BOGUS"}}]}
    refused(
        lambda: s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration=bogus),
        "MalformedXML",
    )
    rule = {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}
    message = refused(
        lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule]}
        ),
        "InvalidArgument",
    )
    assert "'Days' for Expiration action must be a positive integer" in message
    switched_on = rule | {"Status": "On", "Expiration": {"Days": 1}}
    refused(
        lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=BUCKET, LifecycleConfiguration={"Rules": [switched_on]}
        ),
        "MalformedXML",
    )
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)


def test_object_encryption_outside_s3s_values_or_a_missing_key_is_refused(s3):
    message = refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="a", Body=b"x", ServerSideEncryption="AES257"),
        "InvalidArgument",
    )
    assert "The encryption method specified is not supported" in message
    refused(
        lambda: s3.put_object(
            Bucket=BUCKET, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=MISSING_KEY
        ),
        "KMS.NotFoundException",
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_s3s_own_values_are_taken(s3):
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    config = {
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
    }
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration=config)
    rule = {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule]})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"x", ServerSideEncryption="AES256")
