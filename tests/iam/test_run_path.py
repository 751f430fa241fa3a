"""The positive path of a pull request's model, on the Terraform-made account with IAM enforced:
a pr.yml run starts its job through the training-run function (the PR role, with the run's own
GitHub token and merge commit), the job trains as the SageMaker role, the run publishes it through
the function (which copies the job's own archive as the function's role), and the release's check
(`textclf release-check`, as the promote role, the role release.yml's staging job runs it as)
accepts it. The attacks on each step are in tests/iam/test_attacks.py; the whole loop, workflow by
workflow, in the rehearsal (tests/e2e)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from tests.github_issuer import Issuer
from tests.iam.conftest import GITHUB_REPOSITORY, Account
from tests.iam.test_principals import PR_JOB, RELEASE_JOB
from tests.model.conftest import make_project
from textclf import cli
from textclf.config import TRAIN_JOB_FILE, load_params
from textclf.localcloud import put_image_manifest, training
from textclf.pipeline.train import Hyperparameters
from textclf.training import sagemaker as backend

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam

RUN_ID, PULL_REQUEST = 4711, 12
IMAGE_TAG = "0123456789abcdef0123456789abcdef01234567"
RAW = "data/raw/messages.csv"  # the sample make_project writes


def git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=Contributor", "-c", "user.email=contributor@example.com"]
    done = subprocess.run(["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def dvc_files(project: Path, prepared_dir: str) -> None:
    """data.dvc naming the raw data and a dvc.lock whose prepare stage was written from it, as
    `dvc add` and `dvc repro` leave them (DVC's directory md5: textclf.training.sagemaker)."""
    raw = hashlib.md5((project / RAW).read_bytes(), usedforsecurity=False).hexdigest()
    prepared, _ = backend.dataset_listing(project / prepared_dir)
    (project / "data.dvc").write_text(yaml.safe_dump({"outs": [{"md5": raw, "path": RAW}]}))
    stage = {
        "cmd": "textclf prepare",
        "deps": [{"path": RAW, "md5": raw}],
        "outs": [{"path": prepared_dir.rstrip("/"), "md5": prepared}],
    }
    (project / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {"prepare": stage}}))


def pull_request(project: Path) -> tuple[str, str]:
    """main's first commit, the pull request's head on top of it (the project), and the merge commit
    GitHub makes for the run (refs/pull/<n>/merge: base first, head second). Returns (head, merge)."""
    git(project, "init", "-q", "-b", "main")
    (project / "README.md").write_text("text classifier\n")
    git(project, "add", "README.md")
    git(project, "commit", "-q", "-m", "main")
    base = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "-q", "-b", "feature")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the pull request")
    head = git(project, "rev-parse", "HEAD")
    merge = git(project, "commit-tree", f"{head}^{{tree}}", "-p", base, "-p", head, "-m", f"Merge {head}")
    return head, merge


def sha256_of_object(bucket: str, key: str) -> str:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def test_a_pr_run_trains_publishes_through_the_function_and_the_release_accepts_its_model(
    env: Account, github_oidc: Issuer, tiny_model_dir, tmp_path, monkeypatch, capsys
):
    out = env.outputs
    bucket, function = out["artifacts_bucket"], out["stop_training_function_name"]
    repository = out["training_repository_url"].rsplit("/", 1)[1]
    # The training image main's release pushed (as the administrator here: the image's bytes are
    # not what this test is about).
    put_image_manifest(boto3.client("ecr"), repository, IMAGE_TAG)

    project = make_project(
        tmp_path / "project",
        str(tiny_model_dir),
        rows_per_label=10,
        save_steps=2,
        eval_steps=100,
        logging_steps=2,
    )
    raw_params = yaml.safe_load((project / "params.yaml").read_text())
    raw_params["aws"] = {
        "region": out["region"],
        "artifacts_bucket": bucket,
        "data_bucket": out["data_bucket"],
    }
    raw_params["sagemaker"].update(
        role_arn=out["sagemaker_role_arn"],
        training_image=f"{out['training_repository_url']}:{IMAGE_TAG}",
        poll_seconds=[0.2, 1.0],
    )
    (project / "params.yaml").write_text(yaml.safe_dump(raw_params))
    dvc_files(project, raw_params["data"]["prepared_dir"])
    (project / ".gitignore").write_text("/data/prepared/\n/build/\n/reports/\n/staging/\n")
    head, merge = pull_request(project)
    monkeypatch.chdir(project)

    # The pr workflow's train job: the PR head checked out, the run's variables, its token endpoint.
    workflow = f"{GITHUB_REPOSITORY}/.github/workflows/pr.yml@refs/pull/{PULL_REQUEST}/merge"
    runner = github_oidc.runner_env(
        GITHUB_REPOSITORY, run_id=RUN_ID, pr=PULL_REQUEST, sha=merge, job_workflow_ref=workflow
    )
    run_env = {
        **runner,
        "GITHUB_RUN_ID": str(RUN_ID),
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SHA": merge,
        "GITHUB_HEAD_REF": "feature",
        "COMMIT": head,
        "TEXTCLF_STOP_TRAINING_FUNCTION": function,
    }
    for key, value in run_env.items():
        monkeypatch.setenv(key, value)
    for name in ("TEXTCLF_SAGEMAKER_ROLE_ARN", "TEXTCLF_TRAINING_IMAGE_URI", "TEXTCLF_KMS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    params = load_params()
    job_name = backend.run_job_name("textclf", head, str(RUN_ID), "1")
    staging = project / "staging"
    staging.mkdir()
    before = {
        item["TrainingJobName"]
        for item in boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    }

    previous = training.configure()  # no waits, no interruptions: the job trains at once
    try:
        with env.acting_as(env.github("pr", PR_JOB)):
            # Start (through the function), wait, download: the train stage's sagemaker backend.
            facts = backend.run(params, Hyperparameters.from_params(params), staging, lambda _: None)
            assert facts["job_name"] == job_name
            # make publish: the run's evaluation files, then the function copies the job's model.
            TRAIN_JOB_FILE.parent.mkdir(parents=True, exist_ok=True)
            TRAIN_JOB_FILE.write_text(json.dumps(facts), encoding="utf-8")
            staged = project / "build/publish"
            staged.mkdir(parents=True)
            metrics = {"accuracy": 0.9, "macro_f1": 0.9, "per_class": {}}
            (staged / "eval.json").write_text(json.dumps(metrics), encoding="utf-8")
            manifest = backend.publish_run_job(head, params.aws.resolved(), dict(os.environ), staged)
    finally:
        training.configure(**{field: getattr(previous, field) for field in previous.__dataclass_fields__})

    # The job is the one the function started for this run's head, and the published bytes are its output.
    sagemaker = boto3.client("sagemaker")
    after = {item["TrainingJobName"] for item in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
    assert after - before == {job_name}
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["Environment"]["TEXTCLF_GIT_COMMIT"] == head
    assert job["Environment"]["TEXTCLF_RUN"] == f"{RUN_ID}-1"
    assert job["CheckpointConfig"]["S3Uri"] == f"s3://{bucket}/checkpoints/{job_name}/"
    output = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert output == f"s3://{bucket}/jobs/{head}/{job_name}/output/model.tar.gz"
    trained = sha256_of_object(bucket, output.split("/", 3)[3])
    assert manifest["commit"] == head
    assert manifest["sha256"] == trained == sha256_of_object(bucket, f"models/{head}/model.tar.gz")
    provenance = manifest["provenance"]
    assert (provenance["job_name"], provenance["job_arn"]) == (job_name, job["TrainingJobArn"])
    assert (provenance["merge_commit"], provenance["pull_request"]) == (merge, str(PULL_REQUEST))
    assert provenance["hyperparameters"] == Hyperparameters.from_params(params).for_sagemaker()

    # The release: main now holds the pull request's head; release-check, as the promote role.
    git(project, "checkout", "-q", "main")
    git(project, "merge", "-q", "--no-ff", "-m", "Merge pull request", "feature")
    capsys.readouterr()
    with env.acting_as(env.github("promote", RELEASE_JOB)):
        status = cli.main(["release-check", "--commit", head])  # make release-check
    said = capsys.readouterr().err
    assert status == 0, said[-3000:]
    assert f"commit {head} is on main and has a published, verified model" in said
