"""terraform/batch.tf's role on the Terraform-made account (tests/iam applies it with enable_batch):
the batch workflow's token opens it, `textclf batch-predict`'s calls run as it, and the transform
job runs as the endpoint model's role with the batch prefixes batch.tf adds to it (IAM enforced);
a pull request's token does not open it, and it reads nothing outside the batch prefixes."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import GITHUB_REPOSITORY, Account
from tests.iam.test_attacks import endpoint_unchanged  # noqa: F401  (an endpoint serving a released model)
from tests.iam.test_principals import PR_JOB, RELEASE_JOB
from textclf.batch import job
from textclf.config import load_params
from textclf.localcloud import principals

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam

PARAMS = load_params()
TEXTS = ["Where is my parcel?", "I was charged twice", "Please cancel my plan"]
BATCH_JOB = principals.release(GITHUB_REPOSITORY, environment="batch", workflow="batch.yml")  # on main


def test_the_batch_workflow_scores_a_file_as_its_role(env: Account, endpoint_unchanged):  # noqa: F811
    data = env.outputs["data_bucket"]
    lines = "".join(json.dumps({"id": n, "inputs": text}) + "\n" for n, text in enumerate(TEXTS))
    boto3.client("s3").put_object(Bucket=data, Key="batch/in/tickets.jsonl", Body=lines.encode())
    settings = PARAMS.batch.model_copy(update={"poll_seconds": (0.2, 0.5)})

    # The account's data bucket, as batch.yml passes it (TEXTCLF_DATA_BUCKET, the DATA_BUCKET variable).
    aws = PARAMS.aws.model_copy(update={"data_bucket": data})

    with env.acting_as(env.github("batch", BATCH_JOB)):
        result = job.run(
            settings,
            PARAMS.deploy.serve,
            aws,
            f"s3://{data}/batch/in/",
            f"s3://{data}/batch/out/",
            env.outputs["endpoint_name"],
            lambda line: None,
        )
        assert result["predictions"] == 3 and result["failures"] == 0
        with pytest.raises(ClientError, match="AccessDenied"):  # the DVC remote is not batch input
            boto3.client("s3").get_object(Bucket=data, Key="dvc/anything")

    out = boto3.client("s3").get_object(Bucket=data, Key="batch/out/tickets.jsonl.out")["Body"].read()
    assert [json.loads(line)["id"] for line in out.decode().splitlines()] == [0, 1, 2]


def test_a_pull_requests_token_does_not_open_the_batch_role(env: Account):
    with pytest.raises(ClientError, match="AccessDenied"):
        env.github("batch", PR_JOB)
    with pytest.raises(ClientError, match="AccessDenied"):
        env.github("batch", RELEASE_JOB)  # release.yml's job: another environment and workflow file
    # batch.yml's job bound to production (the release jobs' environment) or to none: batch has an
    # environment of its own, so neither subject matches; nor does another file in batch's environment.
    for other in (
        principals.release(GITHUB_REPOSITORY, workflow="batch.yml"),
        principals.release(GITHUB_REPOSITORY, environment=None, workflow="batch.yml"),
        principals.release(GITHUB_REPOSITORY, environment="batch", workflow="release.yml"),
    ):
        with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
            env.github("batch", other)
