"""The training-run function's copy of a job's model into the write-once `models/<commit>/`
(textclf.training.stop_job._copy_verified), against the local cloud's S3 under storage.tf's
write-once policy: the bytes go through memory one part at a time, never through the function's
/tmp (512 MB by default, smaller than a base-size model's archive), and a copy that fails leaves
no object and no open upload behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import boto3
import pytest
from tests.release.test_publish_large import AWS, write_once

from textclf.training import stop_job

SOURCE = "training-jobs/0123/job/output/model.tar.gz"
TARGET = "models/0123/model.tar.gz"
MiB = 1024 * 1024


@pytest.fixture
def archive(world) -> bytes:
    """A job's 40 MiB model archive (three parts of 16 MiB), under the write-once policy."""
    write_once(AWS.artifacts_bucket)
    body = os.urandom(40 * MiB)
    boto3.client("s3").put_object(Bucket=AWS.artifacts_bucket, Key=SOURCE, Body=body)
    return body


def copy_with_at_most_a_mebibyte_per_file(expected: str | None = None) -> subprocess.CompletedProcess:
    """The copy in a process that may write no file larger than 1 MiB (RLIMIT_FSIZE; Python ignores
    SIGXFSZ, so a larger write fails with EFBIG): spooling the archive to a file cannot pass."""
    program = textwrap.dedent(
        f"""
        import resource, boto3
        from textclf.training import stop_job
        resource.setrlimit(resource.RLIMIT_FSIZE, ({MiB}, {MiB}))
        digest, size = stop_job._copy_verified(
            boto3.client("s3"), {AWS.artifacts_bucket!r}, {SOURCE!r}, {TARGET!r}, {expected!r}
        )
        print(digest, size)
        """
    )
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)


def open_uploads() -> list:
    return boto3.client("s3").list_multipart_uploads(Bucket=AWS.artifacts_bucket).get("Uploads", [])


def test_a_large_archive_is_copied_in_parts_through_memory(archive):
    done = copy_with_at_most_a_mebibyte_per_file()
    assert done.returncode == 0, done.stderr[-3000:]
    digest, size = done.stdout.split()
    assert (digest, int(size)) == (hashlib.sha256(archive).hexdigest(), len(archive))
    copied = boto3.client("s3").get_object(Bucket=AWS.artifacts_bucket, Key=TARGET)
    assert copied["Body"].read() == archive
    parts = boto3.client("s3").head_object(Bucket=AWS.artifacts_bucket, Key=TARGET, PartNumber=1)
    assert parts["PartsCount"] == 3  # 16 + 16 + 8 MiB
    assert open_uploads() == []
    # A second copy of the same bytes (a retried publish) keeps the object: the 412 is compared.
    s3 = boto3.client("s3")
    assert stop_job._copy_verified(s3, AWS.artifacts_bucket, SOURCE, TARGET, None)[0] == digest
    assert open_uploads() == []


def test_a_copy_whose_digest_is_wrong_or_whose_target_differs_leaves_nothing(archive):
    s3 = boto3.client("s3")
    with pytest.raises(stop_job.Refused, match="does not have the sha256 the run gave"):
        stop_job._copy_verified(s3, AWS.artifacts_bucket, SOURCE, TARGET, "0" * 64)
    assert "Contents" not in s3.list_objects_v2(Bucket=AWS.artifacts_bucket, Prefix="models/")
    assert open_uploads() == []
    # Other bytes already published under the key: refused, the published object unchanged.
    s3.put_object(Bucket=AWS.artifacts_bucket, Key=TARGET, Body=b"published before", IfNoneMatch="*")
    with pytest.raises(stop_job.Refused, match="exists with other content: write-once"):
        stop_job._copy_verified(s3, AWS.artifacts_bucket, SOURCE, TARGET, None)
    assert s3.get_object(Bucket=AWS.artifacts_bucket, Key=TARGET)["Body"].read() == b"published before"
    assert open_uploads() == []


def test_a_small_file_is_one_conditional_put(world):
    write_once(AWS.artifacts_bucket)
    s3 = boto3.client("s3")
    body = b'{"accuracy": 0.9}\n'
    s3.put_object(Bucket=AWS.artifacts_bucket, Key="candidates/eval.json", Body=body)
    expected = hashlib.sha256(body).hexdigest()
    copied = stop_job._copy_verified(
        s3, AWS.artifacts_bucket, "candidates/eval.json", "models/0123/eval.json", expected
    )
    assert copied == (expected, len(body))
    assert s3.get_object(Bucket=AWS.artifacts_bucket, Key="models/0123/eval.json")["Body"].read() == body
