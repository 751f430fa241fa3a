"""Fixtures of the batch tests: the production endpoint, then the batch caller's credentials."""

from __future__ import annotations

import time

import boto3
import pytest
from batch_world import (
    BUCKET,
    ENDPOINT,
    MODEL,
    PREFIX,
    World,
    assume_caller,
    batch_caller_statements,
    tarball,
)
from tests.roles import ACCOUNT, REGION, sagemaker_role


@pytest.fixture
def unreachable_aws(monkeypatch):
    """Any AWS call fails at once: a refusal must come before the first."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="session")
def model_tarball(tiny_model_dir) -> bytes:
    return tarball(tiny_model_dir)


@pytest.fixture
def world(aws_env, model_tarball, monkeypatch) -> World:
    """The production endpoint serving the tiny model, then the caller's credentials in the
    environment (so everything after this runs as the batch caller)."""
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="models/a1b2c3d4/model.tar.gz", Body=model_tarball)
    role = sagemaker_role("textclf-sagemaker", BUCKET)
    sm.create_model(
        ModelName=MODEL,
        ExecutionRoleArn=role,
        PrimaryContainer={
            "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/textclf-prod-serving:abc",
            "ModelDataUrl": f"s3://{BUCKET}/models/a1b2c3d4/model.tar.gz",
            "Environment": {"MODEL_VERSION": "a1b2c3d4"},
        },
    )
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    sm.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-a1b2c3d4",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": MODEL, "ServerlessConfig": serverless}
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-a1b2c3d4")
    deadline = time.monotonic() + 15
    while sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline, "the endpoint did not come up"
        time.sleep(0.1)
    built = World(s3, sm, role)
    for key, value in assume_caller(
        "batch-caller", batch_caller_statements(BUCKET, ENDPOINT, PREFIX)
    ).items():
        monkeypatch.setenv(key, value)
    return built
