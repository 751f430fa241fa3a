"""The training-run function takes of a run's ResourceConfig only what it decides about (R14B-32):
the instance type, count and volume size (and sets the volume's key itself). It passed every other key
through: `KeepAlivePeriodInSeconds: 3600` kept a warm pool of the run's instances, billed, an hour
after each job, and a `TrainingPlanArn` spent the account's reserved capacity; IAM has no condition
key for either."""

from __future__ import annotations

import pytest

from tests.training.test_stop_job import RUN, RUN_SETTINGS, runner_request
from textclf.training import stop_job

BASE = {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}


@pytest.fixture(autouse=True)
def settings(monkeypatch) -> None:
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize(
    "extra",
    [
        {"KeepAlivePeriodInSeconds": 3600},
        {"TrainingPlanArn": "arn:aws:sagemaker:us-east-1:123456789012:training-plan/reserved"},
        {"InstanceGroups": []},
        {"InstancePlacementConfig": {"EnableMultipleJobs": True}},
    ],
)
def test_a_resource_setting_the_function_does_not_decide_is_refused_by_name(extra):
    with pytest.raises(stop_job.Refused, match=f"ResourceConfig may not name '?{next(iter(extra))}"):
        stop_job.job_request(runner_request(ResourceConfig={**BASE, **extra}), RUN)


def test_the_settings_it_decides_are_taken_and_the_volume_key_is_its_own(monkeypatch):
    monkeypatch.setenv("KMS_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:key/project")
    given = {
        **BASE,
        "InstanceType": "ml.m5.large",
        "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/x",
    }
    job = stop_job.job_request(runner_request(ResourceConfig=given), RUN)
    assert job["ResourceConfig"] == {
        **BASE,
        "InstanceType": "ml.m5.large",
        "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/project",
    }
