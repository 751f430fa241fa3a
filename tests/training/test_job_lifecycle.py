"""The pr workflow's training job through its life on GitHub: a session long enough for it, a
cancelled run's job stopped by its name, a job stopped when following it fails, its phases timed;
and the instance-family facts the request depends on. Against the local cloud."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from tests.training.conftest import COMMIT, KEY_ARN, REGION, Lines, write_params
from tests.training.test_backend import only_job, train
from textclf.config import (
    MAX_SESSION_SECONDS,
    PR_JOB_OVERHEAD_SECONDS,
    ParamsError,
    SageMakerParams,
    parse_params,
)
from textclf.localcloud import principals, training
from textclf.training import sagemaker as sagemaker_backend

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN = {"GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2"}


# --- 1. the session covers the job ---------------------------------------------------------------


def terraform_default(name: str) -> int:
    text = (REPO_ROOT / "terraform/variables.tf").read_text(encoding="utf-8")
    block = re.search(rf'variable "{name}" \{{(.*?)\n\}}', text, re.S)
    assert block, f"terraform/variables.tf has no variable {name}"
    default = re.search(r"default\s*=\s*([0-9* ]+)", block.group(1))
    return int(eval(default.group(1)))


def test_the_default_params_session_fits_the_role_terraform_makes(aws_env):
    """The PR job's session (params.yaml's max_wait plus the rest of the job) is allowed by the
    maximum the Terraform default gives the PR role; the local cloud refuses one second more."""
    params = parse_params(__import__("yaml").safe_load((REPO_ROOT / "params.yaml").read_text()))
    seconds = sagemaker_backend.session_seconds(params)
    maximum = terraform_default("github_pr_session_seconds")
    assert params.sagemaker.max_wait_seconds < seconds <= maximum <= MAX_SESSION_SECONDS

    iam = boto3.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["0" * 40],
    )["OpenIDConnectProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
                },
            }
        ],
    }
    role = iam.create_role(
        RoleName="pr", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=maximum
    )
    job = principals.pull_request("acme/text-classifier")
    assert principals.assume(role["Role"]["Arn"], job, duration_s=seconds)["AWS_SESSION_TOKEN"]
    with pytest.raises(ClientError, match="MaxSessionDuration"):
        principals.assume(role["Role"]["Arn"], job, duration_s=maximum + 1)


def test_a_wait_that_cannot_fit_in_a_12_hour_session_is_refused():
    fits = MAX_SESSION_SECONDS - PR_JOB_OVERHEAD_SECONDS
    assert (
        SageMakerParams(max_runtime_seconds=3600, max_wait_seconds=fits).pr_session_seconds()
        == MAX_SESSION_SECONDS
    )
    with pytest.raises(ValueError, match=r"12 h, AWS's cap.*lower max_wait_seconds to 40500"):
        SageMakerParams(max_runtime_seconds=3600, max_wait_seconds=fits + 1)
    with pytest.raises(ValueError, match="max_runtime_seconds"):  # on-demand: the runtime counts
        SageMakerParams(spot=False, max_runtime_seconds=fits + 1, max_wait_seconds=fits + 1)


def test_session_seconds_is_what_the_workflow_asks_for(project):
    write_params(project, max_runtime_seconds=600, max_wait_seconds=900)
    done = subprocess.run(
        [sys.executable, "-m", "textclf.training.sagemaker", "session-seconds"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(900 + PR_JOB_OVERHEAD_SECONDS)
    raw = __import__("yaml").safe_load((project / "params.yaml").read_text())
    raw["sagemaker"]["max_wait_seconds"] = 12 * 3600
    (project / "params.yaml").write_text(__import__("yaml").safe_dump(raw))
    refused = subprocess.run(
        [sys.executable, "-m", "textclf.training.sagemaker", "session-seconds"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "sagemaker" in refused.stderr and "12 h" in refused.stderr
    assert "Traceback" not in refused.stderr
    with pytest.raises(ParamsError):
        parse_params(raw)


# --- 2. a cancelled run's job is stopped ---------------------------------------------------------


def stop_run_job(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf.training.sagemaker", "stop-run-job"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cancel_step_stops_the_job_of_a_killed_run_by_its_name(cloud, project):
    """GitHub cancels by killing the step's process tree: the backend gets no chance to stop its
    job. The workflow's `if: cancelled() || failure()` step finds the job by the run's name."""
    training.configure(starting_seconds=300)  # waiting for Spot capacity
    write_params(project)
    env = {**os.environ, "TEXTCLF_TRAIN_BACKEND": "sagemaker", **RUN}
    process = subprocess.Popen(
        [sys.executable, "-m", "textclf.cli", "train"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    sm = boto3.client("sagemaker", region_name=REGION)
    deadline = time.monotonic() + 60
    while not sm.list_training_jobs()["TrainingJobSummaries"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)  # as the runner kills the tree
    process.wait(timeout=30)
    job = only_job()
    assert job["TrainingJobName"] == f"textclf-{COMMIT[:8]}-run9876543210-2"
    assert job["TrainingJobStatus"] == "InProgress"  # nobody stopped it

    other_run = stop_run_job(project, {**env, "GITHUB_RUN_ID": "1"})
    assert other_run.returncode == 0 and "no training job textclf-" in other_run.stderr
    assert only_job()["TrainingJobStatus"] == "InProgress"  # another run's job is left alone

    stopped = stop_run_job(project, env)

    assert stopped.returncode == 0, stopped.stderr
    assert f"asked SageMaker to stop the training job {job['TrainingJobName']}" in stopped.stderr
    assert only_job()["TrainingJobStatus"] in ("Stopping", "Stopped")
    again = stop_run_job(project, env)  # the step may run after the backend stopped it itself
    assert again.returncode == 0 and "nothing to stop" in again.stderr


def test_a_run_cancelled_before_it_had_credentials_has_nothing_to_stop(cloud, project, tmp_path):
    """Cancelled during Install, before the step that assumes the role: the cancel step finds no
    credentials, and says there is no job to stop (a run without credentials starts none)."""
    write_params(project)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_SESSION"))
    }
    env |= {
        **RUN,
        "TEXTCLF_STOP_TRAINING_FUNCTION": "textclf-prod-stop-training",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.pop("AWS_PROFILE", None)

    done = stop_run_job(project, env)

    assert done.returncode == 0, done.stderr
    assert "no AWS credentials in this run" in done.stderr and "nothing to stop" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failure_while_following_the_job_stops_it_and_says_so(cloud, project, monkeypatch):
    """Throttling (or a bug) in the wait loop must not leave the job billing. Faked: the local cloud
    has no request rate to exceed. An expired session is not this case: the stop is signed with the
    same session and fails too, as tests/training/test_localcloud_session_expiry.py shows with the
    local cloud's real expiry (the job is left to its own limits)."""
    training.configure(starting_seconds=300)

    def throttled(self):
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DescribeTrainingJob"
        )

    monkeypatch.setattr(sagemaker_backend.JobWatcher, "wait", throttled)
    params = write_params(project)
    staging = project / "staging"
    staging.mkdir()
    lines = Lines()

    with pytest.raises(ClientError, match="Rate exceeded"):
        sagemaker_backend.run(params, sagemaker_backend.Hyperparameters.from_params(params), staging, lines)

    name = only_job()["TrainingJobName"]
    assert f"following {name} failed (ClientError" in lines.text()
    assert f"asked SageMaker to stop {name}" in lines.text()
    assert only_job()["TrainingJobStatus"] in ("Stopping", "Stopped")


# --- 8. where the job's minutes went -------------------------------------------------------------


def test_the_job_facts_carry_its_phases_with_durations(cloud, project):
    facts, _, _ = train(project)

    phases = facts["phases"]
    assert [p["status"] for p in phases] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert all(isinstance(p["seconds"], float) and p["seconds"] >= 0 for p in phases)
    training_phase = next(p for p in phases if p["status"] == "Training")
    assert 0 < training_phase["seconds"] <= facts["wall_seconds"]


# --- 7. instance families with local storage -----------------------------------------------------


def test_every_training_family_is_classified_for_the_volume_key():
    """botocore's TrainingInstanceType enum is the list SageMaker trains on: each family is known to
    have local NVMe storage (no VolumeKmsKeyId) or not, so a new family fails here until classified."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    families = {t.split(".")[1] for t in model.shape_for("TrainingInstanceType").enum}
    local, ebs = sagemaker_backend.LOCAL_STORAGE_FAMILIES, sagemaker_backend.EBS_ONLY_FAMILIES
    assert not local & ebs
    assert families <= local | ebs, f"classify {sorted(families - local - ebs)} in training/sagemaker.py"


@pytest.mark.parametrize(
    ("instance_type", "volume_key"),
    [("ml.g5.xlarge", False), ("ml.p5e.48xlarge", False), ("ml.trn2.48xlarge", False),
     ("ml.r5d.large", False), ("ml.p3.2xlarge", True), ("ml.m5.large", True), ("ml.c7i.large", True)],
)  # fmt: skip
def test_the_volume_key_is_sent_only_without_local_storage(project, instance_type, volume_key):
    params = write_params(project, instance_type=instance_type, kms_key_id=KEY_ARN)
    plan = sagemaker_backend.plan_job(
        params,
        sagemaker_backend.Hyperparameters.from_params(params),
        sagemaker_backend.GitInfo(COMMIT, "b"),
        "d" * 20,
        env={},
    )
    assert plan.request["ResourceConfig"].get("VolumeKmsKeyId") == (KEY_ARN if volume_key else None)
    assert plan.request["OutputDataConfig"]["KmsKeyId"] == KEY_ARN
