"""The local cloud's CreateTrainingJob refuses what SageMaker refuses (issue 27, R14B-21): an
Environment or HyperParameters entry over its length or count, an environment key outside its
pattern, Spot without MaxWaitTimeInSeconds or with one below MaxRuntimeInSeconds, MaxWaitTimeInSeconds
without Spot, a runtime over 28 days, a job name outside its pattern, an instance type SageMaker does
not have, two channels of one name: ValidationException, and no job starts."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from textclf.localcloud.training import request_refused

ROLE = "arn:aws:iam::123456789012:role/no-such-role"  # the checks come before the role is assumed


def base(**changes):
    request = {
        "TrainingJobName": "tj-1",
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/nothing/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(changes)
    return request


CHANNEL = base()["InputDataConfig"][0]
BAD = {
    "environment-value-600": ({"Environment": {"A": "x" * 600}}, "environment.A"),
    "environment-key-pattern": ({"Environment": {"1-bad": "x"}}, "environment.key"),
    "environment-101-entries": ({"Environment": {f"K{n}": "v" for n in range(101)}}, "environment"),
    "hyperparameter-value-2501": ({"HyperParameters": {"a": "x" * 2501}}, "hyperParameters.a"),
    "hyperparameters-101": ({"HyperParameters": {f"k{n}": "v" for n in range(101)}}, "hyperParameters"),
    "spot-without-wait": ({"EnableManagedSpotTraining": True}, "MaxWaitTimeInSeconds is required"),
    "spot-wait-below-runtime": (
        {
            "EnableManagedSpotTraining": True,
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 60},
        },
        "equal to or greater than MaxRuntimeInSeconds",
    ),
    "wait-without-spot": (
        {"StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}},
        "only for managed Spot training",
    ),
    "runtime-40-days": ({"StoppingCondition": {"MaxRuntimeInSeconds": 40 * 86400}}, "28 days"),
    "job-name": ({"TrainingJobName": "bad_name!"}, "trainingJobName"),
    "instance-type": (
        {"ResourceConfig": {"InstanceType": "ml.nope.large", "InstanceCount": 1, "VolumeSizeInGB": 10}},
        "instanceType",
    ),
    "two-train-channels": ({"InputDataConfig": [CHANNEL, CHANNEL]}, "channel names must be unique"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_training_job_sagemaker_refuses_is_a_validation_exception(aws_env, case):
    changes, said = BAD[case]
    sm = boto3.client("sagemaker")

    with pytest.raises(ClientError) as refused:
        sm.create_training_job(**base(**changes))

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert said in refused.value.response["Error"]["Message"]
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []


def test_the_requests_the_project_makes_pass():
    spot = {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request_refused(base(Environment={"TEXTCLF_DATASET_MD5": "a" * 32 + ".dir"})) is None
    assert request_refused(base(EnableManagedSpotTraining=True, StoppingCondition=spot)) is None
