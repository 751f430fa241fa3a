"""The training-run function sets the ML storage volume's KMS key itself (issue 25): a pull request's
runner may leave it out or name another key, and the job still gets the project's key; an instance
type with local storage gets none, as SageMaker requires (CreateTrainingJob API reference,
ResourceConfig.VolumeKmsKeyId: "You can't request a VolumeKmsKeyId when using an instance type with
local storage")."""

from __future__ import annotations

import pytest

from tests.training.test_stop_job import RUN, RUN_SETTINGS, runner_request
from textclf.training import sagemaker as sagemaker_backend
from textclf.training import stop_job

PROJECT_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = "arn:aws:kms:us-east-1:210987654321:key/99999999-8888-7777-6666-555555555555"


@pytest.fixture
def function_settings(monkeypatch):
    for key, value in {**RUN_SETTINGS, "KMS_KEY_ARN": PROJECT_KEY}.items():
        monkeypatch.setenv(key, value)


def resources(instance_type: str, **extra) -> dict:
    return {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30, **extra}


@pytest.mark.parametrize("sent", [None, OTHER_KEY, "alias/aws/sagemaker", ""])
def test_an_ebs_volume_gets_the_projects_key_whatever_the_runner_sent(function_settings, sent):
    given = resources("ml.m5.xlarge") if sent is None else resources("ml.m5.xlarge", VolumeKmsKeyId=sent)
    job = stop_job.job_request(runner_request(ResourceConfig=given), RUN)
    assert job["ResourceConfig"] == resources("ml.m5.xlarge", VolumeKmsKeyId=PROJECT_KEY)
    assert job["OutputDataConfig"]["KmsKeyId"] == PROJECT_KEY


@pytest.mark.parametrize("instance_type", ["ml.g4dn.xlarge", "ml.p4d.24xlarge", "ml.p6-b200.48xlarge"])
def test_an_instance_type_with_local_storage_gets_no_volume_key(function_settings, instance_type):
    """Not even the runner's: SageMaker would refuse the job for it."""
    given = resources(instance_type, VolumeKmsKeyId=OTHER_KEY)
    job = stop_job.job_request(runner_request(ResourceConfig=given), RUN)
    assert job["ResourceConfig"] == resources(instance_type)


def test_without_a_configured_key_the_runners_key_is_dropped_too(function_settings, monkeypatch):
    """As for the output: a key the function was not given is never one the runner chose."""
    monkeypatch.delenv("KMS_KEY_ARN")
    job = stop_job.job_request(
        runner_request(ResourceConfig=resources("ml.c5.xlarge", VolumeKmsKeyId=OTHER_KEY)), RUN
    )
    assert "VolumeKmsKeyId" not in job["ResourceConfig"]
    assert "KmsKeyId" not in job["OutputDataConfig"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (None, "must name the job's InstanceType"),
        ({"InstanceCount": 1, "VolumeSizeInGB": 30}, "must name the job's InstanceType"),
        (resources("g4dn.xlarge"), r"ml\.<family>\.<size>"),
        (resources("ml.m5.xlarge", InstanceGroups=[]), "may not name InstanceGroups"),
        ("ml.m5.xlarge", "must name the job's InstanceType"),
    ],
)
def test_a_resource_config_without_one_instance_type_is_refused(function_settings, given, reason):
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.job_request(runner_request(ResourceConfig=given), RUN)


def test_the_train_backend_and_the_function_classify_families_alike():
    """One list: the backend's request for a run names the key the function would set."""
    assert sagemaker_backend.LOCAL_STORAGE_FAMILIES is stop_job.LOCAL_STORAGE_FAMILIES
    assert sagemaker_backend.EBS_ONLY_FAMILIES is stop_job.EBS_ONLY_FAMILIES
    assert not stop_job.LOCAL_STORAGE_FAMILIES & stop_job.EBS_ONLY_FAMILIES


@pytest.mark.parametrize(
    ("extra", "limits", "reason"),
    [
        ({"InstanceCount": 5}, {}, r"InstanceCount must be a whole number from 1 to 4 .*not 5"),
        ({"InstanceCount": 33}, {"TRAINING_MAX_INSTANCES": ""}, r"from 1 to 32 .*not 33"),
        ({"InstanceCount": True}, {}, "InstanceCount must be a whole number"),
        ({"InstanceCount": 0}, {}, "InstanceCount must be a whole number"),
        ({"VolumeSizeInGB": 201}, {}, r"VolumeSizeInGB must be a whole number from 1 to 200 .*not 201"),
        ({"VolumeSizeInGB": "30"}, {}, "VolumeSizeInGB must be a whole number"),
        (
            {},
            {"TRAINING_MAX_INSTANCES": "4x"},
            "TRAINING_MAX_INSTANCES '4x' is not a whole number from 1 to 32",
        ),
    ],
)
def test_a_run_may_not_ask_for_more_instances_or_volume_than_terraform_allows(
    function_settings, monkeypatch, extra, limits, reason
):
    """IAM has no condition key for the instance count or the volume size: a pull request's run asked
    for as many instances as the account's quota allowed (issue 27 round 9, U-t2)."""
    for key, value in {"TRAINING_MAX_INSTANCES": "4", "TRAINING_MAX_VOLUME_GB": "200", **limits}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(stop_job.Refused, match=reason):
        stop_job.job_request(runner_request(ResourceConfig=resources("ml.m5.xlarge", **extra)), RUN)


def test_the_size_limits_without_terraform_are_params_yamls():
    from textclf.config import SageMakerParams

    bounds = {
        name: next(m.le for m in SageMakerParams.model_fields[name].metadata if hasattr(m, "le"))
        for name in ("instance_count", "volume_size_gb")
    }
    assert dict((key, default) for key, _, default in stop_job.SIZE_LIMITS) == {
        "InstanceCount": bounds["instance_count"],
        "VolumeSizeInGB": bounds["volume_size_gb"],
    }
