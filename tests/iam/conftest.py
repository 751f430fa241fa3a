"""One account for the IAM scenarios and the attacks (one Terraform apply for the whole folder):
Terraform applied by the administrator to a fresh local cloud (as on a new account), then every
step acts as the principal it is in production."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.github_issuer import Issuer
from tests.infra.conftest import GITHUB_REPOSITORY, copy_terraform, make_runner, terraform_bin  # noqa: F401
from textclf import lambda_zip
from textclf.frontdoor import proxy
from textclf.localcloud import principals
from textclf.monitoring import drift
from textclf.release import redeploy

CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass
class Account:
    outputs: dict[str, Any]
    admin: dict[str, str]
    # The applied configuration's copy of terraform/ and its -var arguments, to apply it again as
    # another principal (tests/iam/test_apply_as_release.py).
    terraform_dir: Path | None = None
    variables: list[str] = field(default_factory=list)

    def role(self, name: str) -> str:
        return self.outputs[f"{name}_role_arn"]

    def github(self, role: str, job: principals.GitHubJob, duration_s: int = 3600) -> dict[str, str]:
        return principals.assume(self.role(role), job, duration_s)

    @contextmanager
    def acting_as(self, credentials: dict[str, str]) -> Iterator[None]:
        """boto3's default credentials (and subprocesses') become `credentials` inside."""
        import boto3

        saved = {key: os.environ.get(key) for key in CREDENTIAL_KEYS}
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.update(credentials)
        boto3.DEFAULT_SESSION = None  # the default session keeps the credentials it first found
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            boto3.DEFAULT_SESSION = None


def _ok(result, what: str):
    assert result.returncode == 0, f"{what} failed:\n{result.output[-4000:]}"
    return result


def _quick_lambda(name: str) -> None:
    """The Lambda polls the endpoint every 15 s by default; the local cloud's endpoints change state
    in a second, so the scenarios poll faster (behaviour is the same, only the waits are shorter)."""
    import boto3

    client = boto3.client("lambda")
    variables = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    client.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**variables, "POLL_SECONDS": "0.2", "LOCK_WAIT_SECONDS": "30"}},
    )


@pytest.fixture(scope="package")
def github_oidc() -> Iterator[Issuer]:
    """GitHub's OIDC issuer as the stop-training function sees it: its keys, served on 127.0.0.1."""
    issuer = Issuer()
    issuer.serve()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="package")
def account(local_cloud, terraform_bin, tmp_path_factory, github_oidc) -> Iterator[Account]:  # noqa: F811
    """Bootstrap and apply as the administrator; the real redeploy Lambda zip."""
    local_cloud.reset()
    saved = dict(os.environ)
    os.environ.update(local_cloud.env())
    work = tmp_path_factory.mktemp("iam")
    zip_path = Path(lambda_zip.build(redeploy.ZIP_FILES, str(work / "redeploy.zip")))
    drift_zip = Path(lambda_zip.build(drift.ZIP_FILES, str(work / "drift.zip")))  # the drift check
    proxy_zip = Path(lambda_zip.build(proxy.ZIP_FILES, str(work / "api-proxy.zip")))  # the API front door
    run = make_runner(copy_terraform(work / "terraform"), local_cloud.env())
    _ok(run("bootstrap", "init", "-input=false"), "bootstrap init")
    _ok(run("bootstrap", "apply", "-auto-approve", "-input=false"), "bootstrap apply")
    _ok(run("write-backend"), "write-backend")
    _ok(run("main", "init", "-input=false"), "init")
    variables = ["-var", f"github_repository={GITHUB_REPOSITORY}", "-var", f"lambda_zip_path={zip_path}"]
    variables += ["-var", f"drift_lambda_zip_path={drift_zip}"]  # as a release applies it
    variables += ["-var", "enable_api=true", "-var", f"api_proxy_zip_path={proxy_zip}"]
    variables += ["-var", "enable_batch=true"]  # the batch workflow's role (terraform/batch.tf)
    # A type with local storage (no volume key) and an EBS-only one (the project's key required).
    variables += ["-var", 'training_instance_types=["ml.g4dn.xlarge","ml.m5.xlarge"]']
    variables += ["-var", f"github_oidc_jwks_url={github_oidc.base_url}/.well-known/jwks"]
    _ok(run("main", "apply", "-auto-approve", "-input=false", *variables), "apply")
    outputs = {k: v["value"] for k, v in json.loads(run("main", "output", "-json").stdout).items()}
    _quick_lambda(outputs["redeploy_function_name"])
    try:
        yield Account(outputs, local_cloud.env(), work / "terraform", variables)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="package")
def env(account: Account) -> Account:
    """The repository variables the workflows set (docs/workflows.md), from Terraform's outputs."""
    out = account.outputs
    os.environ.update(
        {
            "TEXTCLF_ARTIFACTS_BUCKET": out["artifacts_bucket"],
            "TEXTCLF_DATA_BUCKET": out["data_bucket"],
            "TEXTCLF_AWS_REGION": out["region"],
        }
    )
    return account
