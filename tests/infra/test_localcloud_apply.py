"""The whole flow against the local cloud (moto over HTTP) with the real Terraform CLI and provider:
`make bootstrap` (state bucket) -> S3 backend with S3-native locking -> apply on a new account (no
model yet; the administrator creates the release role, the release role the rest) -> release the
first model and apply again (endpoint) -> a second plan shows no changes -> destroy. Bad variables
fail at plan time with a message naming them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.infra.conftest import GITHUB_REPOSITORY, TfResult, TfRunner, copy_terraform, make_runner
from textclf.localcloud import principals

pytestmark = pytest.mark.slow

EXPECTED_OUTPUTS = {
    "data_bucket",
    "artifacts_bucket",
    "dvc_remote_url",
    "sagemaker_role_arn",
    "pr_role_arn",
    "release_role_arn",
    "training_repository_url",
    "serving_repository_url",
    "redeploy_function_name",
    "endpoint_name",
    "kms_key_arn",
    "alarm_topic_arn",
}
MODEL_KEY = "models/0123456789abcdef0123456789abcdef01234567/model.tar.gz"


def ok(result: TfResult, what: str) -> TfResult:
    assert result.returncode == 0, f"{what} failed after {result.seconds:.0f} s:\n{result.output[-6000:]}"
    print(f"{what}: {result.seconds:.1f} s")
    return result


def model_tarball(model_dir: Path) -> bytes:
    """model.tar.gz as the train stage and SageMaker package it: the model folder's files at the root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(model_dir.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def empty_bucket(s3: Any, bucket: str) -> None:
    """Delete every object version, so `terraform destroy` can delete the (versioned) bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return copy_terraform(tmp_path / "terraform")


@pytest.fixture
def cloud_tf(aws_env: dict[str, str], terraform_bin: str, workdir: Path) -> TfRunner:
    """tf.sh on a fresh copy of terraform/, in local-cloud mode (AWS_ENDPOINT_URL is set)."""
    return make_runner(workdir, aws_env)


def test_apply_plan_clean_and_destroy(
    cloud_tf: TfRunner, workdir: Path, aws_env: dict[str, str], lambda_zip: Path, tiny_model_dir: Path
) -> None:
    s3 = boto3.client("s3")

    # make bootstrap: the state bucket, then the backend file for the main configuration.
    ok(cloud_tf("bootstrap", "init", "-input=false"), "bootstrap init")
    ok(cloud_tf("bootstrap", "apply", "-auto-approve", "-input=false"), "bootstrap apply")
    ok(cloud_tf("write-backend"), "write backend.localcloud.hcl")
    state_bucket = "textclf-tfstate-123456789012-us-east-1"
    assert s3.get_bucket_versioning(Bucket=state_bucket)["Status"] == "Enabled"
    ok(cloud_tf("main", "init", "-input=false"), "init (S3 backend)")

    variables = ["-var", f"github_repository={GITHUB_REPOSITORY}", "-var", f"lambda_zip_path={lambda_zip}"]

    # Bad input stops at plan time, before any change, with a message naming each bad variable.
    bad = ["-var", "serverless_memory_mb=1500", "-var", "github_repository=acme"]
    result = cloud_tf("main", "plan", "-input=false", *variables, *bad)
    assert result.returncode != 0
    messages = " ".join(result.output.split())
    assert "serverless_memory_mb must be one of 1024, 2048" in messages, result.output
    assert 'github_repository must be "owner/name"' in messages, result.output

    # A new account: the administrator creates the release, promote and PR roles and what their
    # policies name (`make infra-apply-release-role`): no project role may change those three
    # (boundary.tf). The release role, as the release job assumes it, creates everything else but
    # the endpoint (there is no model to serve yet). Its rights and boundary are enough for a
    # first apply, not only for the re-applies of later releases.
    release_role = [f'-target=aws_iam_role_policy.this["{role}"]' for role in ("release", "promote", "pr")]
    ok(
        cloud_tf("main", "apply", "-auto-approve", "-input=false", *variables, *release_role),
        "apply (release role)",
    )
    role = boto3.client("iam").get_role(RoleName="textclf-prod-github-release")["Role"]["Arn"]
    as_release = make_runner(
        workdir, {**aws_env, **principals.assume(role, principals.release(GITHUB_REPOSITORY))}
    )
    ok(
        as_release("main", "apply", "-auto-approve", "-input=false", *variables),
        "apply (new account, as the release role)",
    )
    assert s3.head_object(Bucket=state_bucket, Key="main/terraform.tfstate")["ContentLength"] > 0
    outputs = {
        name: value["value"] for name, value in json.loads(cloud_tf("main", "output", "-json").stdout).items()
    }
    assert outputs.keys() >= EXPECTED_OUTPUTS
    assert outputs["dvc_remote_url"] == f"s3://{outputs['data_bucket']}/dvc"
    check_buckets(s3, outputs)
    check_lambda(outputs)

    # The first released model; the endpoint starts on it.
    artifacts = outputs["artifacts_bucket"]
    s3.put_object(Bucket=artifacts, Key=MODEL_KEY, Body=model_tarball(tiny_model_dir), IfNoneMatch="*")
    variables += ["-var", f"initial_model_data_url=s3://{artifacts}/{MODEL_KEY}"]
    ok(cloud_tf("main", "apply", "-auto-approve", "-input=false", *variables), "apply (endpoint)")
    sagemaker = boto3.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=outputs["endpoint_name"])
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] == 2048

    # Nothing drifts: the second plan is empty (exit code 0, not 2).
    plan = ok(cloud_tf("main", "plan", "-detailed-exitcode", "-input=false", *variables), "second plan")
    assert "No changes." in plan.output

    # Released models are write-once and never deleted (storage.tf's bucket policy): tearing the
    # project down starts with the administrator lifting that policy, deliberately.
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=artifacts, Key=MODEL_KEY)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.put_object(Bucket=artifacts, Key=MODEL_KEY, Body=b"replaced")  # not a conditional write
    s3.delete_bucket_policy(Bucket=artifacts)
    for bucket in (outputs["data_bucket"], artifacts):
        empty_bucket(s3, bucket)
    ok(cloud_tf("main", "destroy", "-auto-approve", "-input=false", *variables), "destroy")
    remaining = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    assert remaining == {state_bucket}
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert sagemaker.list_endpoints()["Endpoints"] == []


def check_buckets(s3: Any, outputs: dict[str, Any]) -> None:
    for bucket in (outputs["data_bucket"], outputs["artifacts_bucket"]):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": outputs["kms_key_arn"]}
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
    tag_set = s3.get_bucket_tagging(Bucket=outputs["data_bucket"])["TagSet"]
    tags = {tag["Key"]: tag["Value"] for tag in tag_set}
    assert tags == {"Project": "textclf", "Environment": "prod", "ManagedBy": "terraform"}
    notification = s3.get_bucket_notification_configuration(Bucket=outputs["data_bucket"])
    assert "EventBridgeConfiguration" in notification


def check_lambda(outputs: dict[str, Any]) -> None:
    config = boto3.client("lambda").get_function_configuration(FunctionName=outputs["redeploy_function_name"])
    environment = config["Environment"]["Variables"]
    assert environment["ARTIFACT_BUCKET"] == outputs["artifacts_bucket"]
    assert environment["ENDPOINT_NAME"] == outputs["endpoint_name"]
    assert environment["SAGEMAKER_ROLE_ARN"] == outputs["serving_role_arn"]
    assert environment["SERVING_IMAGE_URI"] == f"{outputs['serving_repository_url']}:initial"
    assert config["Handler"] == "textclf.release.redeploy.handler" and config["Runtime"] == "python3.13"
    assert config["DeadLetterConfig"]["TargetArn"] == outputs["alarm_topic_arn"]
    tags = boto3.client("lambda").list_tags(Resource=config["FunctionArn"])["Tags"]
    assert tags["Project"] == "textclf" and tags["ManagedBy"] == "terraform"
    table = boto3.client("dynamodb").describe_table(TableName=environment["LOCK_TABLE"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "lock_id", "KeyType": "HASH"}]
