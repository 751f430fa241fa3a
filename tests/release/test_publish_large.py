"""Publishing a large model: the archive is streamed to its write-once key, never read into memory
whole, under the artifacts bucket's write-once policy as terraform/storage.tf writes it; and one
beyond a single PutObject's limit goes up in parts, completed only if the key is new."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import boto3
import pytest
from tests.infra.test_localcloud_write_once import write_once_condition
from tests.release.evaluation import params_of, write_evaluation

from textclf.config import AwsParams
from textclf.release import promote

COMMIT = "9" * 40
AWS = AwsParams(artifacts_bucket="textclf-artifacts")


@pytest.fixture
def large_model(tiny_model_dir, tmp_path) -> tuple[Path, Path]:
    """The tiny model plus 8 MiB of incompressible weights, and its metrics (evaluate's passing
    verdict beside them as gate.json)."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "extra.safetensors").write_bytes(os.urandom(8 * 1024 * 1024))
    metrics = tmp_path / "eval.json"
    write_evaluation(folder, metrics)
    return folder, metrics


def publish(folder: Path, metrics: Path) -> dict:
    """`folder` published with its metrics and the evaluate stage's verdict beside them, judged again
    with the params of a model of its classes (no evaluated test split)."""
    return promote.publish(
        COMMIT,
        AWS,
        folder,
        metrics,
        metrics.with_name("gate.json"),
        test_split_file=metrics.with_name("none"),
        params=params_of(folder),
    )


def write_once(bucket: str) -> None:
    """storage.tf's write-once statement on models/ (its condition read from the file)."""
    statement = {
        "Sid": "ReleasedModelsAreWriteOnce",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/models/*",
        "Condition": write_once_condition(),
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_a_large_archive_is_streamed_to_its_write_once_key(world, large_model, tmp_path, monkeypatch):
    folder, metrics = large_model
    write_once(AWS.artifacts_bucket)
    read_whole = Path.read_bytes

    def refuse_archives(path: Path) -> bytes:
        assert path.name != promote.MODEL_ARCHIVE, "the archive must be streamed, not read whole"
        return read_whole(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_archives)

    manifest = publish(folder, metrics)

    stored_key = f"models/{COMMIT}/model.tar.gz"
    stored = boto3.client("s3").get_object(Bucket=AWS.artifacts_bucket, Key=stored_key)
    body = stored["Body"].read()
    assert len(body) == manifest["size_bytes"] > 8 * 1024 * 1024
    assert hashlib.sha256(body).hexdigest() == manifest["sha256"]
    # The same bytes again (a re-run) are accepted; the conditional write's 412 is compared by digest.
    assert publish(folder, metrics) == manifest
    # Other bytes under the same commit: publish refuses them, and so does the bucket to a plain
    # upload (boto3's managed transfer, multipart at this size, sends no If-None-Match).
    (folder / "extra.safetensors").write_bytes(os.urandom(9 * 1024 * 1024))
    with pytest.raises(promote.ReleaseError, match="released models are write-once"):
        publish(folder, metrics)
    with pytest.raises(Exception, match="AccessDenied"):
        boto3.client("s3").upload_file(str(folder / "extra.safetensors"), AWS.artifacts_bucket, stored_key)
    assert boto3.client("s3").get_object(Bucket=AWS.artifacts_bucket, Key=stored_key)["Body"].read() == body


def test_an_archive_beyond_one_put_goes_up_in_parts_under_the_write_once_policy(
    world, large_model, tmp_path, monkeypatch
):
    folder, metrics = large_model
    write_once(AWS.artifacts_bucket)
    # Scaled down: "one PutObject" is 1 MiB here, a part 5 MiB (S3's smallest but the last part).
    monkeypatch.setattr(promote, "SINGLE_PUT_LIMIT_BYTES", 1024 * 1024)
    monkeypatch.setattr(promote, "PART_BYTES", 5 * 1024 * 1024)
    in_parts: list[str] = []
    put_in_parts = promote._put_in_parts

    def recording(s3, bucket, key, path, content_type):
        in_parts.append(key)
        put_in_parts(s3, bucket, key, path, content_type)

    monkeypatch.setattr(promote, "_put_in_parts", recording)

    manifest = publish(folder, metrics)

    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=AWS.artifacts_bucket, Key=f"models/{COMMIT}/model.tar.gz")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest["sha256"]
    assert in_parts == [f"models/{COMMIT}/model.tar.gz"]  # 8 MiB and more: two parts at least
    assert not s3.list_multipart_uploads(Bucket=AWS.artifacts_bucket).get("Uploads")
    # Other bytes in parts again: the completion is refused (412), the upload aborted, nothing left.
    (folder / "extra.safetensors").write_bytes(os.urandom(9 * 1024 * 1024))
    with pytest.raises(promote.ReleaseError, match="released models are write-once"):
        publish(folder, metrics)
    assert not s3.list_multipart_uploads(Bucket=AWS.artifacts_bucket).get("Uploads")
