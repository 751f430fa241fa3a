"""`dvc repro` with the sagemaker backend, exactly as locally: the train stage runs as a training job
in the local cloud, `model.tar.gz` lands in the same DVC output, and `dvc status` is clean."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import MODEL_FOLDER_FILES
from tests.pipeline.test_dvc_pipeline import copy_repo, sh
from tests.roles import sagemaker_role
from tests.training.conftest import BUCKET, REGION, ROLE, push_image, sagemaker_section


@pytest.mark.slow
def test_dvc_repro_trains_on_the_local_clouds_sagemaker(
    aws_env, tmp_path, repo_root, tiny_model_dir, monkeypatch
):
    repo = copy_repo(
        repo_root,
        tmp_path / "repo",
        model={"name": str(tiny_model_dir), "max_length": 32},
        train={"epochs": 1, "batch_size": 32, "eval_steps": 50, "save_steps": 20},
        evaluate={"thresholds": {"accuracy": 0.0, "macro_f1": 0.0, "min_class_recall": 0.0}},
        aws={"artifacts_bucket": BUCKET},
        sagemaker=sagemaker_section(),
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    push_image()
    sagemaker_role(ROLE.rsplit("/", 1)[1], BUCKET)  # the job runs as it: the local cloud enforces IAM
    # What the PR workflow sets; the local cloud's endpoint and credentials come from aws_env.
    monkeypatch.setenv("TEXTCLF_TRAIN_BACKEND", "sagemaker")
    for name in ("COMMIT", "GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)

    done = sh(repo, "dvc", "repro")
    assert "Running stage 'train'" in done.stdout
    assert "job Training" in done.stderr and "job Completed" in done.stderr

    for name in MODEL_FOLDER_FILES:
        assert (repo / "models/model" / name).is_file(), name
    job = json.loads((repo / "reports/train_job.json").read_text())
    commit = sh(repo, "git", "rev-parse", "HEAD").stdout.strip()
    assert job["backend"] == "sagemaker" and job["job_name"].startswith(f"textclf-{commit[:8]}-")
    assert job["billable_seconds"] < job["training_seconds"]
    metrics = json.loads((repo / "metrics/train.json").read_text())
    assert set(metrics) == {"train_loss", "validation_accuracy", "validation_macro_f1", "global_step"}
    assert json.loads((repo / "metrics/eval.json").read_text())["accuracy"] >= 0  # evaluate ran on it
    boto3.client("s3", region_name=REGION).head_object(
        Bucket=BUCKET, Key=job["model_artifact"].removeprefix(f"s3://{BUCKET}/")
    )

    assert "Data and pipelines are up to date" in sh(repo, "dvc", "status").stdout
