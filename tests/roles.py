"""Roles for tests that run one component without Terraform: a trust policy for the service and a
permissions policy scoped like production's (terraform/iam.tf) to the test's own names.

The local cloud enforces IAM, so a component that runs as a role (a training job, the redeploy
Lambda, an endpoint's model) needs one. The IAM-enforced scenarios (tests/iam) use the roles
Terraform creates; these are for the tests of the components' own behaviour.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_role(name: str, service: str, statements: list[dict[str, Any]]) -> str:
    client = boto3.client("iam")
    arn = client.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    client.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(document))
    return arn


def sagemaker_role(name: str, bucket: str, kms_key_arn: str | None = None) -> str:
    """What a training job or an endpoint's model reads and writes: its bucket's objects and logs,
    and the KMS key its outputs are encrypted with."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    kms = [
        {
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": kms_key_arn,
        }
    ]
    return create_role(
        name,
        "sagemaker.amazonaws.com",
        [
            *(kms if kms_key_arn else []),
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{bucket_arn}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/*",
            },
        ],
    )


def redeploy_lambda_role(name: str, bucket: str, endpoint: str, table: str, sagemaker_role_arn: str) -> str:
    """The redeploy Lambda's calls on one endpoint, its models, its lock table and its bucket."""
    prefix = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    return create_role(
        name,
        "lambda.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                "Resource": [
                    f"{prefix}:endpoint/{endpoint}",
                    f"{prefix}:endpoint-config/{endpoint}-*",
                    f"{prefix}:model/{endpoint}-*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sagemaker_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {
                "Effect": "Allow",
                "Action": [f"dynamodb:{verb}Item" for verb in ("Get", "Put", "Update", "Delete")],
                "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
            },
        ],
    )
