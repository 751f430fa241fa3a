"""Object keys over 1,024 bytes of UTF-8 and user metadata over 2 KB are refused, as S3 refuses
them (KeyTooLongError, MetadataTooLarge; S3 User Guide, "Naming Amazon S3 objects" and "Working with
object metadata"), on PutObject, CopyObject and CreateMultipartUpload, and nothing is stored. moto
took both (issue 27, round 9, F-l). Real boto3 requests to the local cloud."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

BUCKET = "textclf-limits"
LONGEST = "k" * 1021 + "é"  # 1,023 bytes: é is two bytes of UTF-8
TOO_LONG = "k" * 1023 + "é"  # 1,025 bytes, 1,024 characters


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="source", Body=b"x")
    return client


def refused(call, code: str) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400), error


def keys(s3) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_a_key_over_1024_bytes_is_refused_on_every_write(s3):
    refused(lambda: s3.put_object(Bucket=BUCKET, Key=TOO_LONG, Body=b"a"), "KeyTooLongError")
    copy = {"Bucket": BUCKET, "Key": "source"}
    refused(lambda: s3.copy_object(Bucket=BUCKET, Key=TOO_LONG, CopySource=copy), "KeyTooLongError")
    refused(lambda: s3.create_multipart_upload(Bucket=BUCKET, Key=TOO_LONG), "KeyTooLongError")

    assert keys(s3) == {"source"}
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_a_key_of_1024_bytes_or_less_is_stored(s3):
    s3.put_object(Bucket=BUCKET, Key=LONGEST, Body=b"a")
    s3.copy_object(Bucket=BUCKET, Key=LONGEST + "c", CopySource={"Bucket": BUCKET, "Key": "source"})

    assert keys(s3) == {"source", LONGEST, LONGEST + "c"}


def test_user_metadata_over_2_kb_is_refused(s3):
    # Each name (without x-amz-meta-) and value count: 2 names of 4 bytes + 2 values of 1,020 = 2,048.
    fits = {"aaaa": "v" * 1020, "bbbb": "v" * 1020}
    over = {"aaaa": "v" * 1020, "bbbb": "v" * 1021}

    s3.put_object(Bucket=BUCKET, Key="fits", Body=b"a", Metadata=fits)
    refused(lambda: s3.put_object(Bucket=BUCKET, Key="over", Body=b"a", Metadata=over), "MetadataTooLarge")
    refused(lambda: s3.create_multipart_upload(Bucket=BUCKET, Key="over", Metadata=over), "MetadataTooLarge")
    copy = {"Bucket": BUCKET, "Key": "source"}
    refused(
        lambda: s3.copy_object(
            Bucket=BUCKET, Key="over", CopySource=copy, Metadata=over, MetadataDirective="REPLACE"
        ),
        "MetadataTooLarge",
    )

    assert keys(s3) == {"source", "fits"}
    assert s3.head_object(Bucket=BUCKET, Key="fits")["Metadata"] == fits
