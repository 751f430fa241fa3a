"""A small project, the AWS resources a training job needs (in the local cloud), and the knob of the
local cloud's training jobs (`textclf.localcloud.training.configure`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.model.conftest import make_project
from tests.roles import sagemaker_role
from textclf.config import Params, load_params
from textclf.localcloud import put_image_manifest, training

ACCOUNT = "123456789012"  # the local cloud's account
REGION = "us-east-1"
BUCKET = "textclf-test-artifacts"
REPOSITORY = "textclf-prod-training"
IMAGE_TAG = "0123456789abcdef0123456789abcdef01234567"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:{IMAGE_TAG}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/textclf-prod-sagemaker"
KMS_ALIAS = "alias/textclf-prod"
# A key ARN of the form Terraform's kms_key_arn output has (the key the `cloud` fixture makes has a
# random ID: project_key_arn()).
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
BRANCH = "feature/more-data"
PRICE = 0.736


def sagemaker_section(**overrides: Any) -> dict[str, Any]:
    return {
        "role_arn": ROLE,
        "training_image": IMAGE,
        "instance_type": "ml.g4dn.xlarge",
        "max_runtime_seconds": 600,
        "max_wait_seconds": 900,
        "poll_seconds": [0.2, 1.0],
        "prices_usd_per_hour": {"ml.g4dn.xlarge": PRICE},
        **overrides,
    }


def write_params(project: Path, **sagemaker: Any) -> Params:
    """Point project's params.yaml at the test bucket and the test role and image."""
    path = project / "params.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["aws"] = {"region": REGION, "artifacts_bucket": BUCKET, "data_bucket": "textclf-test-data"}
    raw["sagemaker"] = sagemaker_section(**sagemaker)
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_params(path)


@pytest.fixture(scope="session")
def small_project_template(tmp_path_factory, tiny_model_dir) -> Path:
    """60 texts (about 40 to train on: 5 steps of 8), the tiny model, a checkpoint every 2 steps."""
    return make_project(
        tmp_path_factory.mktemp("sagemaker") / "project",
        str(tiny_model_dir),
        rows_per_label=10,
        save_steps=2,
        eval_steps=100,
        logging_steps=2,
    )


@pytest.fixture
def project(small_project_template, tmp_path, monkeypatch) -> Path:
    """A copy of the small project as the working directory, on a known commit and branch."""
    import shutil

    root = tmp_path / "project"
    shutil.copytree(small_project_template, root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("COMMIT", COMMIT)
    monkeypatch.setenv("GITHUB_HEAD_REF", BRANCH)
    # Inside a GitHub Actions run the job would be named after the run: one name for every test.
    for name in (
        "TEXTCLF_SAGEMAKER_ROLE_ARN",
        "TEXTCLF_TRAINING_IMAGE_URI",
        "TEXTCLF_KMS_KEY_ID",
        "GITHUB_RUN_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    return root


def push_image(repository: str = REPOSITORY, tag: str = IMAGE_TAG) -> None:
    """An image manifest in the local cloud's ECR (what `make images-push` leaves there)."""
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=repository)
    put_image_manifest(ecr, repository, tag)


@pytest.fixture
def cloud(aws_env, project) -> dict[str, str]:
    """The artifacts bucket and the training image exist; returns the client environment."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    push_image()
    kms = boto3.client("kms", region_name=REGION)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key_arn)
    sagemaker_role(ROLE.rsplit("/", 1)[1], BUCKET, key_arn)  # jobs run as it: the local cloud enforces IAM
    return aws_env


@pytest.fixture(autouse=True)
def local_cloud_scenario() -> Iterator[None]:
    """Every test starts with the default scenario, and no job of a test outlives it."""
    training.configure()
    yield
    training.stop_all()
    training.configure()


def project_key_arn() -> str:
    """The ARN of the key the `cloud` fixture makes (Terraform output kms_key_arn): what
    sagemaker.kms_key_id takes."""
    return boto3.client("kms", region_name=REGION).describe_key(KeyId=KMS_ALIAS)["KeyMetadata"]["Arn"]


class Lines(list):
    """A `log` callback that keeps what the backend prints."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)
