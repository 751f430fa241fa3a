"""Bad input to the `sagemaker` backend: a clear message naming the setting, and no job started."""

from __future__ import annotations

import boto3
import pytest

from tests.training.conftest import BUCKET, REGION, Lines, write_params
from textclf.config import ParamsError, parse_params
from textclf.localcloud import training
from textclf.pipeline.train import Hyperparameters
from textclf.training import sagemaker as sagemaker_backend
from textclf.training.sagemaker import SageMakerError


def start(project, **sagemaker) -> None:
    params = write_params(project, **sagemaker)
    staging = project / "staging"
    staging.mkdir(exist_ok=True)
    sagemaker_backend.run(params, Hyperparameters.from_params(params), staging, Lines())


def no_job_started() -> bool:
    return not boto3.client("sagemaker", region_name=REGION).list_training_jobs()["TrainingJobSummaries"]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "role_arn",
            None,
            "sagemaker.role_arn is not set: set it in params.yaml or TEXTCLF_SAGEMAKER_ROLE_ARN",
        ),
        ("training_image", None, "sagemaker.training_image is not set"),
        (
            "instance_type",
            "ml.g4dn.huge",
            "sagemaker.instance_type 'ml.g4dn.huge' is not offered for SageMaker",
        ),
    ],
)
def test_settings_a_job_cannot_start_with(cloud, project, setting, value, message):
    with pytest.raises(SageMakerError, match=message.replace(".", r"\.")):
        start(project, **{setting: value})
    assert no_job_started()
    assert not list((project / "staging").iterdir())


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("role_arn", "textclf-sagemaker", "sagemaker.role_arn: must be an IAM role ARN"),
        ("training_image", "not an image", "sagemaker.training_image: must be an Amazon ECR image URI"),
    ],
)
def test_a_role_or_image_sagemaker_refuses_is_refused_when_params_load(
    cloud, project, setting, value, message
):
    with pytest.raises(ParamsError, match=message.replace(".", r"\.")):
        start(project, **{setting: value})
    assert no_job_started()


def test_an_unknown_instance_type_names_the_family_offers(cloud, project):
    with pytest.raises(SageMakerError, match=r"this family offers .*ml\.g4dn\.xlarge"):
        start(project, instance_type="ml.g4dn.huge")


def test_every_problem_is_reported_at_once(cloud, project):
    with pytest.raises(SageMakerError) as raised:
        start(project, role_arn=None, training_image=None)
    assert "role_arn" in str(raised.value) and "training_image" in str(raised.value)


def test_the_environment_supplies_role_and_image(cloud, project, monkeypatch):
    from tests.training.conftest import IMAGE, ROLE

    monkeypatch.setenv("TEXTCLF_SAGEMAKER_ROLE_ARN", ROLE)
    monkeypatch.setenv("TEXTCLF_TRAINING_IMAGE_URI", IMAGE)
    params = write_params(project, role_arn=None, training_image=None)
    sagemaker_backend.check_settings(params.sagemaker.resolved())  # no error


def test_max_wait_below_max_runtime_is_refused_when_params_load():
    with pytest.raises(
        ParamsError, match=r"sagemaker: .*max_wait_seconds \(600\) must be >= max_runtime_seconds"
    ):
        parse_params({"sagemaker": {"max_runtime_seconds": 3600, "max_wait_seconds": 600}})
    # On-demand jobs have no wait limit.
    parse_params({"sagemaker": {"spot": False, "max_runtime_seconds": 3600, "max_wait_seconds": 600}})


def test_no_credentials(cloud, project, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(SageMakerError, match="no AWS credentials"):
        start(project)


def test_a_bucket_that_does_not_exist(cloud, project):
    boto3.client("s3", region_name=REGION).delete_bucket(Bucket=BUCKET)
    with pytest.raises(
        SageMakerError, match=rf"artifacts bucket s3://{BUCKET} does not exist .*TEXTCLF_ARTIFACTS_BUCKET"
    ):
        start(project)
    assert no_job_started()


def test_an_image_that_was_never_pushed(cloud, project):
    from tests.training.conftest import ACCOUNT, REPOSITORY

    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:not-pushed"
    with pytest.raises(SageMakerError, match=r"not in ECR \(ImageNotFoundException\).*make images-push"):
        start(project, training_image=image)
    assert no_job_started()


def test_data_not_prepared(cloud, project):
    (project / "data/prepared/validation.jsonl").unlink()
    with pytest.raises(SageMakerError, match=r"validation\.jsonl: not found; run the prepare stage first"):
        start(project)
    assert no_job_started()


def test_the_train_stage_prints_the_problem_without_a_traceback(cloud, project):
    import os
    import subprocess
    import sys

    write_params(project, role_arn=None)
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "train"],
        cwd=project,
        env={**os.environ, "TEXTCLF_TRAIN_BACKEND": "sagemaker"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "error: params.yaml: sagemaker.role_arn is not set" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / "models/model").exists() and not (project / "reports/train_job.json").exists()
    assert no_job_started()


def test_a_refused_create_request_names_the_job_and_what_to_do(cloud, project):
    """CreateTrainingJob's own refusals (here: the name is taken) become a message, not a traceback."""
    from datetime import UTC, datetime

    from tests.training.conftest import BRANCH, COMMIT

    params = write_params(project)
    plan = sagemaker_backend.plan_job(
        params,
        Hyperparameters.from_params(params),
        sagemaker_backend.GitInfo(COMMIT, BRANCH),
        sagemaker_backend.dataset_digest(project / "data/prepared"),
        datetime.now(UTC),
    )
    sm = boto3.client("sagemaker", region_name=REGION)
    training.configure(starting_seconds=300)  # the first job waits for capacity; stopped at teardown
    sm.create_training_job(**plan.request)
    with pytest.raises(SageMakerError, match=rf"refused the training job {plan.name}: .*ResourceInUse"):
        sagemaker_backend.create_job(sm, plan.request, params.sagemaker)


def test_a_role_sagemaker_cannot_assume_is_refused_at_create(cloud, project):
    """CreateTrainingJob checks that SageMaker can assume the execution role (the local cloud
    enforces the role's trust policy as AWS does)."""
    import json

    untrusted = {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    arn = boto3.client("iam").create_role(
        RoleName="textclf-lambda-only",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [untrusted]}),
    )["Role"]["Arn"]
    with pytest.raises(SageMakerError, match=r"Could not assume role .*textclf-lambda-only"):
        start(project, role_arn=arn)
    assert no_job_started()


def plan_request(project, **sagemaker) -> dict:
    from tests.training.conftest import BRANCH, COMMIT

    params = write_params(project, **sagemaker)
    return sagemaker_backend.plan_job(
        params,
        Hyperparameters.from_params(params),
        sagemaker_backend.GitInfo(COMMIT, BRANCH),
        sagemaker_backend.dataset_digest(project / "data/prepared"),
    ).request


ALIAS_ARN = f"arn:aws:kms:{REGION}:123456789012:alias/textclf-prod"


@pytest.mark.parametrize(
    ("structure", "member", "value", "forms"),
    [
        ("ResourceConfig", "VolumeKmsKeyId", "alias/textclf-prod", "a KMS key ID or key ARN"),
        ("ResourceConfig", "VolumeKmsKeyId", ALIAS_ARN, "a KMS key ID or key ARN"),
        ("ResourceConfig", "VolumeKmsKeyId", "textclf-prod", "a KMS key ID or key ARN"),
        ("OutputDataConfig", "KmsKeyId", "textclf-prod", "a KMS key ID, key ARN, alias name or alias ARN"),
        ("OutputDataConfig", "KmsKeyId", ALIAS_ARN.replace("alias/", "key/"), "a KMS key ID, key ARN, alias"),
    ],
)
def test_a_kms_key_in_a_form_its_field_does_not_take_is_refused_at_create(
    cloud, project, structure, member, value, forms
):
    """The API reference lists a key ID or key ARN for ResourceConfig.VolumeKmsKeyId (no alias, which
    OutputDataConfig.KmsKeyId takes); botocore's pattern lets all of these through to the service."""
    from botocore.exceptions import ClientError

    request = plan_request(project, instance_type="ml.m5.large")  # EBS only: the volume takes the key
    request[structure][member] = value
    with pytest.raises(ClientError) as raised:
        boto3.client("sagemaker", region_name=REGION).create_training_job(**request)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(f"Invalid {structure}.{member} '{value}': it must be {forms}")
    assert no_job_started()


@pytest.mark.parametrize("instance_type", ["ml.g4dn.xlarge", "ml.p4d.24xlarge", "ml.trn1.2xlarge"])
def test_a_volume_key_for_an_instance_type_with_local_storage_is_refused_at_create(
    cloud, project, instance_type
):
    """SageMaker: "You can't request a VolumeKmsKeyId when using an instance type with local storage" (API
    reference, ResourceConfig): the backend never sends one there (test_job_lifecycle.py), and the
    local cloud refuses it as SageMaker does."""
    from botocore.exceptions import ClientError

    from tests.training.conftest import project_key_arn

    request = plan_request(project, instance_type=instance_type, kms_key_id=project_key_arn())
    assert "VolumeKmsKeyId" not in request["ResourceConfig"]
    request["ResourceConfig"]["VolumeKmsKeyId"] = project_key_arn()
    with pytest.raises(ClientError) as raised:
        boto3.client("sagemaker", region_name=REGION).create_training_job(**request)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"{instance_type} has local storage" in error["Message"]
    assert no_job_started()


def test_every_documented_form_of_each_kms_field_is_taken_at_create(cloud, project):
    from tests.training.conftest import project_key_arn

    key_arn = project_key_arn()
    key_id = key_arn.rsplit("/", 1)[1]
    training.configure(starting_seconds=300)  # the jobs wait for capacity; stopped at teardown
    sm = boto3.client("sagemaker", region_name=REGION)
    request = plan_request(project, instance_type="ml.m5.large")
    for number, (volume, output) in enumerate(
        [(key_arn, "alias/textclf-prod"), (key_id, ALIAS_ARN), (key_arn, key_id), (key_id, key_arn)]
    ):
        name = f"{request['TrainingJobName'][:50]}-{number}"
        request["ResourceConfig"]["VolumeKmsKeyId"], request["OutputDataConfig"]["KmsKeyId"] = volume, output
        sm.create_training_job(**{**request, "TrainingJobName": name})
        described = sm.describe_training_job(TrainingJobName=name)
        assert described["ResourceConfig"]["VolumeKmsKeyId"] == volume
        assert described["OutputDataConfig"]["KmsKeyId"] == output


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            [{"Key": f"k{i}", "Value": "v"} for i in range(51)],
            "Invalid Tags: 51 tags; a training job takes at most 50",
        ),
        ([{"Key": "a;b", "Value": "v"}], "Invalid Tag Key 'a;b' (U+003B)"),
        ([{"Key": "team", "Value": "x*y"}], "Invalid Tag Value 'x*y' (U+002A)"),
        ([{"Key": "k" * 129, "Value": "v"}], "(more than 128 characters)"),
        ([{"Key": "AWS:team", "Value": "v"}], "Invalid Tag Key 'AWS:team': the aws: prefix is reserved"),
        (
            [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}],
            "the Key 'team' is given 2 times; tag keys must be unique",
        ),
    ],
)
def test_tags_sagemaker_refuses_are_refused_at_create(cloud, project, tags, message):
    """CreateTrainingJob takes at most 50 tags, each Key and Value of the pattern
    ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$ (API reference, CreateTrainingJob and Tag), keys unique and
    not starting with aws: (Tagging AWS Resources); botocore checks none of it, so the local cloud
    refuses them as SageMaker does (round 9, U-lc1: a repeated key and aws: passed)."""
    from botocore.exceptions import ClientError

    request = plan_request(project)
    request["Tags"] = tags
    with pytest.raises(ClientError) as raised:
        boto3.client("sagemaker", region_name=REGION).create_training_job(**request)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert message in error["Message"]
    assert no_job_started()
