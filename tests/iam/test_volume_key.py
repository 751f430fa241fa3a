"""The local cloud's CreateTrainingJob carries sagemaker:VolumeKmsKey, the storage volume's key the
request names, as it carries sagemaker:OutputKmsKey (Service Authorization Reference, "Actions,
resources, and condition keys for Amazon SageMaker AI",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: both
are condition keys of CreateTrainingJob, "The AWS KMS key ARN or alias ARN specified in the
request"), so a policy can require the project's key (issue 25)."""

from __future__ import annotations

from textclf.localcloud.iam import GLOBAL_KEYS, SERVICE_KEYS, _context_for
from textclf.localcloud.policy import Request, evaluate

ACCOUNT = "123456789012"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/textclf-prod-stop-training/fn"
JOB = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/textclf-0123abcd-run1-1"
PROJECT_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/99999999-8888-7777-6666-555555555555"


def params(instance_type: str, volume_key: str | None = None) -> dict:
    resources = {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30}
    if volume_key is not None:
        resources["VolumeKmsKeyId"] = volume_key
    return {
        "ResourceConfig": resources,
        "OutputDataConfig": {"S3OutputPath": "s3://b/jobs/", "KmsKeyId": PROJECT_KEY},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "EnableNetworkIsolation": True,
    }


def test_a_training_job_request_carries_the_volume_key_it_names_and_none_it_does_not():
    context = _context_for("sagemaker", "CreateTrainingJob", params("ml.m5.xlarge", OTHER_KEY))
    assert context["sagemaker:volumekmskey"] == [OTHER_KEY]
    assert context["sagemaker:outputkmskey"] == [PROJECT_KEY]
    # Local storage takes no volume key: the request names none, and no value is invented.
    assert "sagemaker:volumekmskey" not in _context_for(
        "sagemaker", "CreateTrainingJob", params("ml.g4dn.xlarge")
    )
    assert "sagemaker:volumekmskey" in SERVICE_KEYS


def test_a_policy_can_require_the_projects_volume_key_and_still_allow_local_storage():
    """A condition for the training-run function's CreateTrainingJob: the volume key, when the
    request names one, is the project's; an instance type with local storage names none (SageMaker
    refuses one there), so a plain Null guard would refuse it."""
    condition = {"ArnEqualsIfExists": {"sagemaker:VolumeKmsKey": PROJECT_KEY}}
    identity = [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sagemaker:CreateTrainingJob",
                    "Resource": JOB,
                    "Condition": condition,
                }
            ],
        }
    ]

    def verdict(instance_type: str, volume_key: str | None) -> str | None:
        context = _context_for("sagemaker", "CreateTrainingJob", params(instance_type, volume_key))
        request = Request(SESSION, "sagemaker:CreateTrainingJob", JOB, context, GLOBAL_KEYS | SERVICE_KEYS)
        return evaluate(identity, request, ACCOUNT)

    assert verdict("ml.m5.xlarge", PROJECT_KEY) == "allow"
    assert verdict("ml.m5.xlarge", OTHER_KEY) is None
    assert verdict("ml.g4dn.xlarge", None) == "allow"
