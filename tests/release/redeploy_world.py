"""Helpers for the deploy tests: the redeploy Lambda's world on the local cloud."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

import boto3
from tests.roles import sagemaker_role

BUCKET = "textclf-artifacts"
ENDPOINT = "textclf-endpoint"
LOCK_TABLE = "textclf-deploy-locks"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-serve:latest"
COMMITS = ["a1b2c3d4e5f6a7b8c9d0", "b2c3d4e5f6a7b8c9d0e1", "c3d4e5f6a7b8c9d0e1f2", "d4e5f6a7b8c9d0e1f2a3"]


def artifact_url(commit: str, bucket: str = BUCKET) -> str:
    return f"s3://{bucket}/models/{commit}/model.tar.gz"


def archive_sha256(commit: str, bucket: str = BUCKET) -> str:
    """The sha256 a release publishes for the commit's archive (its manifest's), read from the
    uploaded bytes; 64 zeros when nothing is uploaded (the Lambda then finds no archive)."""
    from botocore.exceptions import ClientError

    try:
        answer = boto3.client("s3").get_object(Bucket=bucket, Key=f"models/{commit}/model.tar.gz")
        body = answer["Body"].read()
    except ClientError:
        return "0" * 64
    return hashlib.sha256(body).hexdigest()


def direct_event(commit: str, bucket: str = BUCKET) -> dict:
    """The direct event promote sends: the archive, its commit and its published sha256."""
    return {
        "model_data_url": artifact_url(commit, bucket),
        "model_version": commit,
        "sha256": archive_sha256(commit, bucket),
    }


def tarball(folder: Path, skip: tuple[str, ...] = ()) -> bytes:
    """model.tar.gz as SageMaker expects it: the model folder's files at the archive root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for path in sorted(folder.iterdir()):
            if path.name not in skip:
                archive.add(path, arcname=path.name)
    return buffer.getvalue()


def set_endpoint_behaviour(cloud_url: str, **settings) -> dict:
    request = urllib.request.Request(
        f"{cloud_url}/moto-api/textclf/sagemaker-endpoints",
        data=json.dumps(settings).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class World:
    """Clients and helpers for one test, against a freshly reset local cloud."""

    def __init__(self, cloud_url: str, tarballs: dict[str, bytes]) -> None:
        self.cloud_url = cloud_url
        self.tarballs = tarballs
        self.s3 = boto3.client("s3")
        self.sm = boto3.client("sagemaker")
        self.ddb = boto3.client("dynamodb")
        self.role_arn = ""

    def upload(self, commit: str, kind: str = "good", bucket: str = BUCKET) -> str:
        self.s3.put_object(Bucket=bucket, Key=f"models/{commit}/model.tar.gz", Body=self.tarballs[kind])
        return artifact_url(commit, bucket)

    def endpoint(self) -> dict:
        return self.sm.describe_endpoint(EndpointName=ENDPOINT)

    def live_model_url(self) -> str:
        config = self.sm.describe_endpoint_config(EndpointConfigName=self.endpoint()["EndpointConfigName"])
        model = self.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        return model["PrimaryContainer"]["ModelDataUrl"]

    def config_names(self) -> list[str]:
        return sorted(c["EndpointConfigName"] for c in self.sm.list_endpoint_configs()["EndpointConfigs"])

    def model_names(self) -> list[str]:
        return sorted(m["ModelName"] for m in self.sm.list_models()["Models"])

    def locks(self) -> list[dict]:
        return self.ddb.scan(TableName=LOCK_TABLE)["Items"]


def make_world(cloud_url: str, tarballs: dict[str, bytes]) -> World:
    """The artifacts bucket, the lock table and the SageMaker role on a reset local cloud."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb").create_table(
        TableName=LOCK_TABLE,
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    world = World(cloud_url, tarballs)
    world.role_arn = sagemaker_role("textclf-sagemaker", BUCKET)
    return world


def lambda_environment(role_arn: str) -> dict[str, str]:
    return {
        "ARTIFACT_BUCKET": BUCKET,
        "ARTIFACT_PREFIX": "models/",
        "ENDPOINT_NAME": ENDPOINT,
        "SERVING_IMAGE_URI": IMAGE,
        "SAGEMAKER_ROLE_ARN": role_arn,
        "SERVERLESS_MEMORY_MB": "2048",
        "SERVERLESS_MAX_CONCURRENCY": "5",
        "SERVERLESS_PROVISIONED_CONCURRENCY": "0",
        "KEEP_CONFIGS": "3",
        "LOCK_TABLE": LOCK_TABLE,
        "POLL_SECONDS": "0.05",
        "DEPLOY_TIMEOUT_SECONDS": "30",
        "LOCK_WAIT_SECONDS": "30",
    }
