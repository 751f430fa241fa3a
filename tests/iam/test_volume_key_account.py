"""On the Terraform-made account with IAM enforced: the training-run function's role starts a job
only with the project's key on its storage volume, or with none where the instance type has local
storage (terraform/iam.tf, StartRunsJobsWithinLimits and StartRunsJobsOnLocalStorage; issue 25)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import boto3

from tests.iam.test_attacks import function_session, job_request, refused
from textclf.training.stop_job import LOCAL_STORAGE_FAMILIES

IAM_TF = Path(__file__).resolve().parents[2] / "terraform" / "iam.tf"


def with_volume_key(request: dict, key: str) -> dict:
    return {**request, "ResourceConfig": {**request["ResourceConfig"], "VolumeKmsKeyId": key}}


def keys(env) -> tuple[str, str]:
    """(the project's key, another key's ARN in the same account)."""
    project_key = env.outputs["kms_key_arn"]
    return project_key, project_key.rsplit("/", 1)[0] + "/99999999-8888-7777-6666-555555555555"


def test_the_functions_role_names_no_volume_key_but_the_projects(env):
    request = job_request(env, "textclf-volume-key-0001")  # ml.g4dn.xlarge: local storage
    project_key, other_key = keys(env)

    with env.acting_as(function_session(env)):
        sagemaker = boto3.client("sagemaker")
        # Another key: IAM refuses it, whatever the instance type.
        refused(
            lambda: sagemaker.create_training_job(**with_volume_key(request, other_key)),
            "AccessDenied",
            "sagemaker:CreateTrainingJob",
        )
        # The project's key passes IAM; SageMaker then refuses any key for local storage, as on AWS.
        refused(
            lambda: sagemaker.create_training_job(**with_volume_key(request, project_key)),
            "ValidationException",
            "local storage",
        )
    assert request["TrainingJobName"] not in {
        job["TrainingJobName"]
        for job in boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    }


def test_an_ebs_only_type_starts_only_with_the_projects_volume_key(env):
    """ml.m5.xlarge has no local storage: IAM refuses its job without a volume key (the volume would
    be encrypted with the AWS managed key) or with another key, and allows the project's."""
    request = job_request(env, "textclf-volume-key-0002")
    request["ResourceConfig"] = {**request["ResourceConfig"], "InstanceType": "ml.m5.xlarge"}
    project_key, other_key = keys(env)

    with env.acting_as(function_session(env)):
        sagemaker = boto3.client("sagemaker")
        for refused_request in (request, with_volume_key(request, other_key)):
            refused(
                lambda r=refused_request: sagemaker.create_training_job(**r),
                "AccessDenied",
                "sagemaker:CreateTrainingJob",
            )
        sagemaker.create_training_job(**with_volume_key(request, project_key))
    assert (
        sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])["ResourceConfig"][
            "VolumeKmsKeyId"
        ]
        == project_key
    )


def test_terraform_and_the_function_classify_the_same_families_as_local_storage():
    listed = re.search(r"local_storage_families = (\[[^\]]*\])", IAM_TF.read_text(encoding="utf-8"))
    assert listed, "terraform/iam.tf has no local_storage_families list"
    assert set(ast.literal_eval(listed.group(1))) == LOCAL_STORAGE_FAMILIES
