"""A training job followed for longer than the follower's session: the real follow loop
(`sagemaker.run`) against the local cloud, whose sessions expire on its clock as on AWS
(docs/localcloud.md). The loop's waits move that clock, a minute each, while the job waits for
capacity, so hours of a Spot wait pass in a moment.

With configure-aws-credentials' default one-hour session the calls fail with ExpiredTokenException
once the hour is over, and the stop the follower then asks for fails the same way: the job is left
to its own limits, which is why the pr workflow asks for `role-duration-seconds` covering the
longest wait (`sagemaker.session_seconds`). With that session the same wait is followed to the
end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from tests.training.conftest import Lines, write_params
from textclf.localcloud import clock, iam, training
from textclf.training import sagemaker as sagemaker_backend

ADMIN = f"arn:aws:iam::{iam.ACCOUNT}:user/{iam.ADMIN_USER}"
POLL_ON_GITHUB_S = 60  # how far each wait of the follow loop moves the clock
# The repository's Spot limits (params.yaml), the ones the pr workflow's session is sized for.
SPOT = {
    key: yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8"))[
        "sagemaker"
    ][key]
    for key in ("max_runtime_seconds", "max_wait_seconds")
}


def follower_session(duration_s: int) -> dict[str, str]:
    """A role allowed what the follower does, and a session of `duration_s` on it."""
    client = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"}],
    }
    try:
        client.create_role(
            RoleName="follower", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200
        )
        everything = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        client.put_role_policy(RoleName="follower", PolicyName="all", PolicyDocument=json.dumps(everything))
    except client.exceptions.EntityAlreadyExistsException:
        pass
    answer = boto3.client("sts").assume_role(
        RoleArn=iam.role_arn("follower"), RoleSessionName="github-actions", DurationSeconds=duration_s
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["SessionToken"],
    }


def follow_for(monkeypatch, waiting_s: int) -> None:
    """The follow loop's waits move the local cloud's clock until `waiting_s` have passed on it,
    then wait in real time (the job then starts and ends as usual)."""
    start = clock.now()

    class OnTheLocalClock(sagemaker_backend.JobWatcher):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs, sleep=self.tick)

        def tick(self, seconds: float) -> None:
            if clock.now() - start < waiting_s:
                clock.advance(POLL_ON_GITHUB_S)
            else:
                time.sleep(seconds)

    monkeypatch.setattr(sagemaker_backend, "JobWatcher", OnTheLocalClock)


def run_as(monkeypatch, project, session: dict[str, str], lines: Lines) -> dict:
    for key, value in session.items():
        monkeypatch.setenv(key, value)
    boto3.DEFAULT_SESSION = None
    params = write_params(project, **SPOT)
    staging = project / "staging"
    staging.mkdir()
    try:
        return sagemaker_backend.run(
            params, sagemaker_backend.Hyperparameters.from_params(params), staging, lines
        )
    finally:
        boto3.DEFAULT_SESSION = None


def only_job_as_admin(admin: dict[str, str]) -> dict:
    sm = boto3.client(
        "sagemaker",
        aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
    )
    (summary,) = sm.list_training_jobs()["TrainingJobSummaries"]
    return sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])


def test_a_spot_wait_outlives_a_one_hour_session_and_its_calls_expire(cloud, project, monkeypatch):
    training.configure(starting_seconds=60)  # waiting for capacity, on the job's side
    follow_for(monkeypatch, waiting_s=SPOT["max_wait_seconds"] - 600)
    lines = Lines()

    with pytest.raises(ClientError, match="ExpiredToken"):
        run_as(monkeypatch, project, follower_session(3600), lines)

    name = only_job_as_admin(cloud)["TrainingJobName"]
    # The stop the follower asks for is signed with the same expired session: refused too.
    assert f"following {name} failed (ClientError" in lines.text()
    assert f"could not stop {name}" in lines.text() and "expired" in lines.text()
    assert only_job_as_admin(cloud)["TrainingJobStatus"] == "InProgress"


def test_the_session_the_workflow_asks_for_follows_the_same_wait_to_the_end(cloud, project, monkeypatch):
    params = write_params(project, **SPOT)
    asked = sagemaker_backend.session_seconds(params)
    training.configure(starting_seconds=3)
    # Nearly the whole Spot wait passes while the job waits for capacity: hours past a default session.
    waiting = params.sagemaker.max_wait_seconds - 600
    assert waiting > 3600
    follow_for(monkeypatch, waiting_s=waiting)
    lines = Lines()

    facts = run_as(monkeypatch, project, follower_session(asked), lines)

    assert facts["job_name"] == only_job_as_admin(cloud)["TrainingJobName"]
    assert only_job_as_admin(cloud)["TrainingJobStatus"] == "Completed"
