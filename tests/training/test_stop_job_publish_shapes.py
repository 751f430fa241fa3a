"""The training-run function's `publish` on files of shapes it did not check (R13B-17): an eval.json of
100,000 `[` (or not UTF-8) ended in RecursionError (UnicodeDecodeError) after the model and files
were already copied into the write-once models/<head>/, so the next publish of that head, with a
fixed eval.json, was refused as "exists with other content"; an existing manifest.json that is not
JSON ended in JSONDecodeError. Now eval.json is checked before anything is copied, and each is a
refusal with its reason."""

from __future__ import annotations

import hashlib

import boto3
import pytest

from tests.training.test_stop_job import HEAD, IMAGE, RUN, RUN_SETTINGS
from textclf.training import stop_job

BUCKET = RUN_SETTINGS["ARTIFACTS_BUCKET"]
JOB = RUN["job_name"]
ARTIFACTS_KEY = f"jobs/{HEAD}/{JOB}/output/model.tar.gz"
PUBLISHED = f"models/{HEAD}/"
FULL_RUN = {**RUN, "merge_commit": "d" * 40, "base": "e" * 40, "workflow": "pr.yml", "actor": "dev"}


class SageMaker:
    """DescribeTrainingJob of the run's completed job, as SageMaker describes it."""

    def describe_training_job(self, TrainingJobName: str) -> dict:
        return {
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{TrainingJobName}",
            "TrainingJobStatus": "Completed",
            "Environment": {"TEXTCLF_GIT_COMMIT": HEAD},
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/{ARTIFACTS_KEY}"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE},
        }


@pytest.fixture
def s3(aws_env, monkeypatch):
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=ARTIFACTS_KEY, Body=b"model archive")
    real = boto3.client
    monkeypatch.setattr(
        boto3, "client", lambda name, *a, **k: SageMaker() if name == "sagemaker" else real(name)
    )
    return client


def publish(s3, eval_json: bytes) -> dict:
    s3.put_object(Bucket=BUCKET, Key="candidates/eval.json", Body=eval_json)
    source = {"key": "candidates/eval.json", "sha256": hashlib.sha256(eval_json).hexdigest()}
    return stop_job.publish_job({"job_name": JOB, "files": {"eval.json": source}}, FULL_RUN)


def published(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=PUBLISHED).get("Contents", [])]


@pytest.mark.parametrize(
    ("eval_json", "reason"),
    [
        (b"[" * 100_000, "is not JSON (or nested too deeply): nothing was published"),
        (b'{"accuracy": "\xff"}', "is not JSON (or nested too deeply): nothing was published"),
        (b"not json", "is not JSON (or nested too deeply): nothing was published"),
        (b"[1, 2]", "is not a JSON object: nothing was published"),
    ],
)
def test_a_bad_eval_json_is_refused_before_anything_is_copied(s3, eval_json, reason):
    with pytest.raises(stop_job.Refused) as refused:
        publish(s3, eval_json)
    assert str(refused.value) == f"eval.json (s3://{BUCKET}/candidates/eval.json) {reason}"
    assert published(s3) == []

    # The run fixes its eval.json and publishes the same head: nothing is in the way.
    answer = publish(s3, b'{"accuracy": 0.9}')
    assert answer["outcome"] == "published" and answer["manifest"]["metrics"] == {"accuracy": 0.9}
    assert sorted(published(s3)) == [
        f"{PUBLISHED}{name}" for name in ("eval.json", "manifest.json", "model.tar.gz")
    ]


@pytest.mark.parametrize("manifest", [b"not json", b"\xff\xfe", b"[" * 100_000])
def test_an_existing_manifest_that_is_not_json_is_a_refusal(s3, manifest):
    s3.put_object(Bucket=BUCKET, Key=f"{PUBLISHED}manifest.json", Body=manifest)
    with pytest.raises(stop_job.Refused) as refused:
        publish(s3, b'{"accuracy": 0.9}')
    assert str(refused.value) == (
        f"s3://{BUCKET}/{PUBLISHED}manifest.json exists but is no manifest (not JSON): write-once, so no "
        f"publish of {HEAD} can replace it"
    )


def test_an_eval_json_other_than_the_runs_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key="candidates/eval.json", Body=b'{"accuracy": 0.1}')
    source = {"key": "candidates/eval.json", "sha256": hashlib.sha256(b'{"accuracy": 0.9}').hexdigest()}
    with pytest.raises(stop_job.Refused, match=r"does not have the sha256 the run gave"):
        stop_job.publish_job({"job_name": JOB, "files": {"eval.json": source}}, FULL_RUN)
    assert published(s3) == []
