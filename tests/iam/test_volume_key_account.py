"""On the Terraform-made account with IAM enforced: the training-run function's role starts a job
only with the project's key on its storage volume, or with none where the instance type has local
storage (terraform/iam.tf, StartRunsJobsWithinLimits; issue 25)."""

from __future__ import annotations

import boto3

from tests.iam.test_attacks import function_session, job_request, refused


def test_the_functions_role_names_no_volume_key_but_the_projects(env):
    request = job_request(env, "textclf-volume-key-0001")  # ml.g4dn.xlarge: local storage
    project_key = env.outputs["kms_key_arn"]
    other_key = project_key.rsplit("/", 1)[0] + "/99999999-8888-7777-6666-555555555555"

    def with_volume_key(key: str) -> dict:
        return {**request, "ResourceConfig": {**request["ResourceConfig"], "VolumeKmsKeyId": key}}

    with env.acting_as(function_session(env)):
        sagemaker = boto3.client("sagemaker")
        # Another key: IAM refuses it, whatever the instance type.
        refused(
            lambda: sagemaker.create_training_job(**with_volume_key(other_key)),
            "AccessDenied",
            "sagemaker:CreateTrainingJob",
        )
        # The project's key passes IAM; SageMaker then refuses any key for local storage, as on AWS.
        refused(
            lambda: sagemaker.create_training_job(**with_volume_key(project_key)),
            "ValidationException",
            "local storage",
        )
    assert request["TrainingJobName"] not in {
        job["TrainingJobName"]
        for job in boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    }
