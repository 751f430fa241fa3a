"""A bucket whose Object Ownership is Bucket owner enforced (terraform/storage.tf) has ACLs disabled:
setting one is AccessControlListNotSupported, HTTP 400, and nothing changes (R13B-16); the local
cloud made a released model public-read and listed an AllUsers grant."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

BUCKET = "textclf-artifacts-acls"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    client.put_object(Bucket=BUCKET, Key="models/acl1/x", Body=b"released")
    return client


def not_supported(call) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "AccessControlListNotSupported"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def public(grants: list[dict]) -> bool:
    return any(grant["Grantee"].get("URI") == ALL_USERS for grant in grants)


def test_setting_an_acl_on_an_owner_enforced_bucket_is_refused(s3):
    not_supported(lambda: s3.put_object_acl(Bucket=BUCKET, Key="models/acl1/x", ACL="public-read"))
    not_supported(lambda: s3.put_bucket_acl(Bucket=BUCKET, ACL="public-read"))
    not_supported(lambda: s3.put_object(Bucket=BUCKET, Key="models/acl1/y", Body=b"y", ACL="public-read"))
    not_supported(
        lambda: s3.put_object(Bucket=BUCKET, Key="models/acl1/z", Body=b"z", GrantRead=f'uri="{ALL_USERS}"')
    )
    not_supported(
        lambda: s3.copy_object(
            Bucket=BUCKET,
            Key="models/acl1/c",
            CopySource={"Bucket": BUCKET, "Key": "models/acl1/x"},
            ACL="public-read",
        )
    )
    not_supported(
        lambda: s3.create_multipart_upload(Bucket=BUCKET, Key="models/acl1/m", ACL="public-read-write")
    )
    assert not public(s3.get_object_acl(Bucket=BUCKET, Key="models/acl1/x")["Grants"])
    assert not public(s3.get_bucket_acl(Bucket=BUCKET)["Grants"])
    for key in ("models/acl1/y", "models/acl1/z", "models/acl1/c"):
        with pytest.raises(ClientError):
            s3.head_object(Bucket=BUCKET, Key=key)


def test_the_owners_full_control_or_no_acl_is_taken(s3):
    s3.put_object(Bucket=BUCKET, Key="reports/a", Body=b"a", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=BUCKET, Key="reports/b", Body=b"b")
    assert s3.get_object(Bucket=BUCKET, Key="reports/a")["Body"].read() == b"a"


def test_a_bucket_with_acls_enabled_still_takes_them(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acls-enabled")
    s3.put_bucket_ownership_controls(
        Bucket="acls-enabled", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_object(Bucket="acls-enabled", Key="k", Body=b"k", ACL="public-read")
    assert public(s3.get_object_acl(Bucket="acls-enabled", Key="k")["Grants"])


@pytest.mark.parametrize(
    "call",
    [
        lambda s3: s3.put_object(Bucket="acls-any", Key="k", Body=b"x", ACL="bogus-acl"),
        lambda s3: s3.put_bucket_acl(Bucket="acls-any", ACL="bogus-acl"),
        lambda s3: s3.create_bucket(Bucket="acls-new", ACL="bogus-acl"),
        lambda s3: s3.copy_object(
            Bucket="acls-any", Key="c", CopySource={"Bucket": "acls-any", "Key": "src"}, ACL="bogus-acl"
        ),
    ],
)
def test_an_unknown_canned_acl_is_invalid_argument_and_nothing_is_stored(aws_env, call):
    """x-amz-acl takes the canned ACLs only: another value is 400 InvalidArgument, not an HTML 500
    (R14B-2)."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acls-any")
    s3.put_object(Bucket="acls-any", Key="src", Body=b"s")
    with pytest.raises(ClientError) as caught:
        call(s3)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidArgument", 400)
    assert "bogus-acl" in error["Error"]["Message"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="acls-any")["Contents"]] == ["src"]
    assert "acls-new" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
