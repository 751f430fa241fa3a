"""The local cloud's training jobs write each channel and checkpoint object below the job's folder
only (issue 27, R14B-37): a key holding `../` (S3 keeps it literally) was written three levels up,
anywhere the developer running the local cloud may write. Such a key fails the job, naming it."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from textclf.localcloud.training import S3Channel, S3CheckpointStore
from textclf.training.local_runner import JobInputError

BAD_KEYS = ["../../../ESCAPED.txt", "a/../../ESCAPED.txt", "./x.txt", "a//b.txt", ".."]


@pytest.fixture
def bucket(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="b-esc")
    return s3


@pytest.mark.parametrize("relative", BAD_KEYS)
def test_a_channel_key_with_dot_segments_fails_the_job_and_writes_nothing_outside(bucket, tmp_path, relative):
    dest = tmp_path / "a" / "job" / "input" / "data" / "train"
    dest.mkdir(parents=True)
    bucket.put_object(Bucket="b-esc", Key="datasets/abc/train/train.jsonl", Body=b"{}\n")
    bucket.put_object(Bucket="b-esc", Key=f"datasets/abc/train/{relative}", Body=b"outside\n")

    with pytest.raises(JobInputError) as failed:
        S3Channel(bucket, "s3://b-esc/datasets/abc/train/").fetch(dest)

    assert f'the object "datasets/abc/train/{relative}"' in str(failed.value)
    assert str(failed.value).startswith("ClientError: Data download failed:")
    assert not list(tmp_path.rglob("ESCAPED.txt"))


@pytest.mark.parametrize("relative", BAD_KEYS)
def test_a_checkpoint_key_with_dot_segments_fails_the_job_and_writes_nothing_outside(
    bucket, tmp_path, relative
):
    local = tmp_path / "a" / "b" / "job" / "checkpoints"
    local.mkdir(parents=True)
    bucket.put_object(Bucket="b-esc", Key=f"checkpoints/job1/{relative}", Body=b"outside\n")

    with pytest.raises(JobInputError, match=r'the object "checkpoints/job1/'):
        S3CheckpointStore(bucket, "s3://b-esc/checkpoints/job1/").restore(local)

    assert not list(tmp_path.rglob("ESCAPED.txt"))


def test_ordinary_keys_and_folder_markers_still_download(bucket, tmp_path):
    bucket.put_object(Bucket="b-esc", Key="checkpoints/job1/", Body=b"")
    bucket.put_object(Bucket="b-esc", Key="checkpoints/job1/step-1/state.bin", Body=b"s")
    bucket.put_object(Bucket="b-esc", Key="datasets/abc/train/part/train.jsonl", Body=b"{}\n")

    S3CheckpointStore(bucket, "s3://b-esc/checkpoints/job1/").restore(tmp_path / "c")
    S3Channel(bucket, "s3://b-esc/datasets/abc/train/").fetch(tmp_path / "d")

    assert (tmp_path / "c" / "step-1" / "state.bin").read_bytes() == b"s"
    assert Path(tmp_path / "d" / "part" / "train.jsonl").read_bytes() == b"{}\n"
