"""The write-once prefixes (terraform/storage.tf) however an object is written: the local cloud
evaluates each S3 write as AWS does (S3 User Guide, "Enforce conditional writes on Amazon S3
buckets"; Service Authorization Reference for Amazon S3): a multipart upload stages its parts
freely (s3:ObjectCreationOperation false) and must complete with If-None-Match, a second write of
a key fails however it is uploaded, a CopyObject into the prefix is refused, and a copy reads its
source as the caller."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from textclf.localcloud import iam as iam_module

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "textclf-artifacts-write-once"
KEY = "models/" + "7" * 40 + "/model.tar.gz"
PART = 5 * 1024 * 1024  # S3's smallest part but the last
ADMIN = f"arn:aws:iam::{iam_module.ACCOUNT}:user/{iam_module.ADMIN_USER}"


def write_once_condition() -> dict[str, dict[str, str]]:
    """The Condition of storage.tf's "<name>AreWriteOnce" statement, as Terraform writes it."""
    text = (REPO_ROOT / "terraform" / "storage.tf").read_text(encoding="utf-8")
    statement = re.search(r'Sid\s*=\s*"\$\{name\}AreWriteOnce"(.*?)\n    \},', text, re.S)
    assert statement, "terraform/storage.tf: no AreWriteOnce statement in write_once_statements"
    block = re.search(r"Condition\s*=\s*\{(.*)\}", statement.group(1), re.S)
    assert block, "terraform/storage.tf: the AreWriteOnce statement has no Condition"
    pairs = re.findall(r'(\w+)\s*=\s*\{\s*"([^"]+)"\s*=\s*"([^"]+)"\s*\}', block.group(1))
    assert pairs, f"terraform/storage.tf: cannot read the AreWriteOnce condition {block.group(1)!r}"
    return {operator: {key: value} for operator, key, value in pairs}


def bucket_policy(condition: dict[str, dict[str, str]]) -> str:
    statements = [
        {
            "Sid": "ReleasedModelsAreWriteOnce",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/models/*",
            "Condition": condition,
        },
        {
            "Sid": "ReleasedModelsAreNeverDeleted",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": f"arn:aws:s3:::{BUCKET}/models/*",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_policy(Bucket=BUCKET, Policy=bucket_policy(write_once_condition()))
    return client


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
    return str(caught.value)


def multipart(s3, key: str, parts: list[bytes], **complete) -> dict:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = []
    for number, body in enumerate(parts, start=1):
        part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body)
        etags.append({"PartNumber": number, "ETag": part["ETag"]})
    return s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": etags}, **complete
    )


def stored(s3, key: str = KEY) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_storage_tf_exempts_the_calls_that_only_stage_a_multipart_upload():
    assert write_once_condition() == {
        "Null": {"s3:if-none-match": "true"},
        "Bool": {"s3:ObjectCreationOperation": "true"},
    }


def test_a_multipart_upload_completes_only_as_a_conditional_write(s3):
    parts = [b"a" * PART, b"b" * 1024]
    # Staging the parts is not creating the object: the write-once statement does not apply.
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=KEY)["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key=KEY, UploadId=upload, PartNumber=1, Body=parts[0])["ETag"]
    message = refused(
        lambda: s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key=KEY,
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        ),
        "AccessDenied",
    )
    assert "explicit deny in a bucket policy" in message
    s3.abort_multipart_upload(Bucket=BUCKET, Key=KEY, UploadId=upload)

    multipart(s3, KEY, parts, IfNoneMatch="*")
    assert stored(s3) == b"".join(parts)
    # The same key again, in parts: S3's 412, and the first bytes stay.
    refused(lambda: multipart(s3, KEY, [b"c" * PART, b"d"], IfNoneMatch="*"), "PreconditionFailed")
    assert stored(s3) == b"".join(parts)


def test_a_second_write_of_a_key_is_refused_however_it_is_uploaded(s3, tmp_path):
    first = b"released bytes"
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=first, IfNoneMatch="*")
    large = tmp_path / "large.bin"
    large.write_bytes(b"x" * (9 * 1024 * 1024))  # above boto3's 8 MB multipart threshold
    small = tmp_path / "small.bin"
    small.write_bytes(b"y")

    refused(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"other"), "AccessDenied")
    refused(
        lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"other", IfNoneMatch="*"), "PreconditionFailed"
    )
    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    refused(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"other", IfMatch=etag), "AccessDenied")
    refused(lambda: multipart(s3, KEY, [b"z" * PART, b"z"]), "AccessDenied")
    refused(lambda: multipart(s3, KEY, [b"z" * PART, b"z"], IfNoneMatch="*"), "PreconditionFailed")
    # boto3's managed transfer passes no If-None-Match (s3transfer's upload arguments have none):
    # multipart above 8 MB, one PutObject below; both refused.
    with pytest.raises(Exception, match="AccessDenied"):
        s3.upload_file(str(large), BUCKET, KEY)
    with pytest.raises(Exception, match="AccessDenied"):
        s3.upload_file(str(small), BUCKET, KEY)
    assert stored(s3) == first


def test_a_conditional_header_on_a_call_that_takes_none_sets_no_key(aws_env):
    """CreateMultipartUpload and UploadPart "don't accept conditional headers": one sent anyway
    does not satisfy a policy that requires If-None-Match (the policy without the exemption)."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=bucket_policy({"Null": {"s3:if-none-match": "true"}}))

    def add_header(request, **_):
        request.headers["If-None-Match"] = "*"

    s3.meta.events.register("before-sign.s3.CreateMultipartUpload", add_header)
    refused(lambda: s3.create_multipart_upload(Bucket=BUCKET, Key=KEY), "AccessDenied")


def test_a_copy_into_a_write_once_prefix_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"released", IfNoneMatch="*")
    s3.put_object(Bucket=BUCKET, Key="candidates/other.tar.gz", Body=b"other")
    source = {"Bucket": BUCKET, "Key": "candidates/other.tar.gz"}

    refused(lambda: s3.copy_object(Bucket=BUCKET, Key=KEY, CopySource=source), "AccessDenied")
    refused(
        lambda: s3.copy_object(Bucket=BUCKET, Key=KEY, CopySource=source, IfNoneMatch="*"), "NotImplemented"
    )
    new_key = KEY.replace("7" * 40, "8" * 40)
    refused(
        lambda: s3.copy_object(Bucket=BUCKET, Key=new_key, CopySource=source, IfNoneMatch="*"),
        "NotImplemented",
    )
    assert stored(s3) == b"released"
    # Outside the prefix a copy is an ordinary write.
    s3.copy_object(Bucket=BUCKET, Key="reports/copy", CopySource=source)


def test_a_copy_reads_its_source_as_the_caller(s3):
    """CopyObject needs s3:GetObject on the source besides s3:PutObject on the target."""
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="writer", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    writes_reports = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/reports/*"}
        ],
    }
    iam.put_role_policy(RoleName="writer", PolicyName="reports", PolicyDocument=json.dumps(writes_reports))
    s3.put_object(Bucket=BUCKET, Key="candidates/secret.json", Body=b"{}")
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="copier")["Credentials"]
    as_writer = boto3.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    as_writer.put_object(Bucket=BUCKET, Key="reports/own.json", Body=b"{}")
    message = refused(
        lambda: as_writer.copy_object(
            Bucket=BUCKET,
            Key="reports/copy.json",
            CopySource={"Bucket": BUCKET, "Key": "candidates/secret.json"},
        ),
        "AccessDenied",
    )
    assert f"s3:GetObject on resource: arn:aws:s3:::{BUCKET}/candidates/secret.json" in message


@pytest.mark.parametrize("value", ['"abc"', "abc", "**", 'W/"x"', '*, "x"'])
def test_an_if_none_match_other_than_a_star_is_not_implemented_and_writes_nothing(s3, value):
    """R13B-5: S3 takes If-None-Match only as `*` (501 NotImplemented otherwise); moto ignored
    another value, so it satisfied the write-once policy's Null condition and replaced the object."""
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"released", IfNoneMatch="*")
    refused(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"other", IfNoneMatch=value), "NotImplemented")
    refused(lambda: multipart(s3, KEY, [b"z" * PART, b"z"], IfNoneMatch=value), "NotImplemented")
    assert stored(s3) == b"released"
    # Outside the write-once prefixes too: the value is refused whatever the policy says.
    refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="reports/x", Body=b"x", IfNoneMatch=value), "NotImplemented"
    )
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="reports/x")


def test_if_match_star_or_both_conditional_headers_are_not_implemented(s3):
    """R13B-5, its neighbours: If-Match takes an ETag, not `*`, and one request cannot carry both."""
    s3.put_object(Bucket=BUCKET, Key="reports/x", Body=b"first")
    etag = s3.head_object(Bucket=BUCKET, Key="reports/x")["ETag"]
    refused(lambda: s3.put_object(Bucket=BUCKET, Key="reports/x", Body=b"2", IfMatch="*"), "NotImplemented")
    refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="reports/x", Body=b"2", IfMatch=etag, IfNoneMatch="*"),
        "NotImplemented",
    )
    assert stored(s3, "reports/x") == b"first"
    s3.put_object(Bucket=BUCKET, Key="reports/x", Body=b"second", IfMatch=etag)
    assert stored(s3, "reports/x") == b"second"


def test_a_conditional_copy_or_completion_is_evaluated_against_the_destination(s3):
    """R13B-5, its neighbours: CopyObject's If-None-Match / If-Match and CompleteMultipartUpload's
    If-Match are preconditions on the destination (412), which moto ignored and overwrote."""
    s3.put_object(Bucket=BUCKET, Key="reports/target", Body=b"target")
    s3.put_object(Bucket=BUCKET, Key="reports/source", Body=b"source")
    source = {"Bucket": BUCKET, "Key": "reports/source"}
    refused(
        lambda: s3.copy_object(Bucket=BUCKET, Key="reports/target", CopySource=source, IfNoneMatch="*"),
        "PreconditionFailed",
    )
    refused(
        lambda: s3.copy_object(Bucket=BUCKET, Key="reports/target", CopySource=source, IfMatch='"0"'),
        "PreconditionFailed",
    )
    refused(lambda: multipart(s3, "reports/target", [b"z" * PART, b"z"], IfMatch='"0"'), "PreconditionFailed")
    assert stored(s3, "reports/target") == b"target"
    etag = s3.head_object(Bucket=BUCKET, Key="reports/target")["ETag"]
    s3.copy_object(Bucket=BUCKET, Key="reports/target", CopySource=source, IfMatch=etag)
    assert stored(s3, "reports/target") == b"source"
    s3.copy_object(Bucket=BUCKET, Key="reports/new", CopySource=source, IfNoneMatch="*")
    assert stored(s3, "reports/new") == b"source"
    s3.delete_object(Bucket=BUCKET, Key="reports/new")  # a delete marker: no current object
    s3.copy_object(Bucket=BUCKET, Key="reports/new", CopySource=source, IfNoneMatch="*")


def test_delete_objects_is_authorized_key_by_key(s3):
    """R13B-15: DeleteObjects is a DeleteObject (DeleteObjectVersion with a VersionId) per key: the
    never-deleted Deny on models/* refuses those keys in Errors, and only the others are deleted;
    the local cloud authorized the call once on the bucket and deleted released models."""
    version = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"released", IfNoneMatch="*")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="reports/old.json", Body=b"{}")
    answer = s3.delete_objects(
        Bucket=BUCKET,
        Delete={"Objects": [{"Key": KEY, "VersionId": version}, {"Key": KEY}, {"Key": "reports/old.json"}]},
    )
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [(KEY, "AccessDenied"), (KEY, "AccessDenied")]
    assert "s3:DeleteObjectVersion" in answer["Errors"][0]["Message"]
    assert "s3:DeleteObject " in answer["Errors"][1]["Message"]
    assert [d["Key"] for d in answer["Deleted"]] == ["reports/old.json"]
    assert stored(s3) == b"released"
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)
    assert [v["VersionId"] for v in versions["Versions"]] == [version] and not versions.get("DeleteMarkers")


def test_delete_objects_needs_the_permission_on_each_key(s3):
    """R13B-15: a caller allowed s3:DeleteObject on one prefix deletes there only."""
    iam = boto3.client("iam")
    iam.create_user(UserName="cleaner")
    allowed = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/reports/*"}
        ],
    }
    iam.put_user_policy(UserName="cleaner", PolicyName="reports", PolicyDocument=json.dumps(allowed))
    key = iam.create_access_key(UserName="cleaner")["AccessKey"]
    as_cleaner = boto3.client(
        "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    s3.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="candidates/b.json", Body=b"{}")
    answer = as_cleaner.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "reports/a.json"}, {"Key": "candidates/b.json"}]}
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["reports/a.json"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("candidates/b.json", "AccessDenied")]
    assert (
        f"s3:DeleteObject on resource: arn:aws:s3:::{BUCKET}/candidates/b.json"
        in answer["Errors"][0]["Message"]
    )
    assert stored(s3, "candidates/b.json") == b"{}"
