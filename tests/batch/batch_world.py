"""Helpers of the batch tests: a released model behind an endpoint, a caller with the batch statements."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import boto3
from tests.roles import ACCOUNT, REGION

# The data bucket of params.yaml (aws.data_bucket): batch-predict reads and writes its batch prefixes only.
BUCKET = "textclf-data"
INPUT = f"s3://{BUCKET}/batch/in/"  # batch.input_prefix
OUTPUT = f"s3://{BUCKET}/batch/out/"  # batch.output_prefix
ENDPOINT = "textclf-prod"
MODEL = "textclf-prod-a1b2c3d4"
PREFIX = "textclf"


def tarball(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for path in sorted(folder.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def batch_caller_statements(bucket: str, endpoint: str, prefix: str) -> list[dict]:
    """What `make batch-predict` needs: read the endpoint's live model, run transform jobs named
    <prefix>-batch-*, read the input and the results. No iam:PassRole: CreateTransformJob takes no
    role (the model's execution role was passed when the model was created)."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    return [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"],
            "Resource": [f"{arn}:endpoint/{endpoint}", f"{arn}:endpoint-config/{endpoint}*"],
        },
        {
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            "Resource": f"{arn}:transform-job/{prefix}-batch-*",
        },
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
    ]


def assume_caller(name: str, statements: list[dict]) -> dict[str, str]:
    """A role the administrator assumes: the batch step runs with its credentials only."""
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/localcloud-admin"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(document))
    credentials = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="batch")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@dataclass
class World:
    s3: object
    sm: object
    model_role: str

    def put(self, key: str, lines: list[str] | str) -> str:
        body = lines if isinstance(lines, str) else "".join(line + "\n" for line in lines)
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode("utf-8"))
        return f"s3://{BUCKET}/{key}"

    def read(self, key: str) -> list[dict]:
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
        return [json.loads(line) for line in body.splitlines()]

    def keys(self, prefix: str) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return [item["Key"] for item in found]
