"""Terraform test fixtures: the terraform binary, a private copy of terraform/, a Lambda zip, and a
runner for terraform/scripts/tf.sh (the same entry point the make targets use)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TF_SH = REPO_ROOT / "terraform" / "scripts" / "tf.sh"
GITHUB_REPOSITORY = "acme/text-classifier"
# Left behind by make in a working copy; a test copy starts without them. The committed
# .terraform.lock.hcl is copied: init checks the provider against its hashes, as in CI.
COPY_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate*", "localcloud_override.tf", "backend*.hcl")


@dataclass
class TfResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


TfRunner = Callable[..., TfResult]


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        message = "terraform (>= 1.11) is not on PATH; install it to run the infrastructure tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make lambda-zip`'s build/redeploy.zip when it exists, else a small real zip of the same shape."""
    built = REPO_ROOT / "build" / "redeploy.zip"
    if built.is_file():
        return built
    path = tmp_path_factory.mktemp("lambda") / "redeploy.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "textclf/__init__.py",
            "",
        )
        archive.writestr("textclf/release/__init__.py", "")
        archive.writestr(
            "textclf/release/redeploy.py",
            "def handler(event, context):\n    return {'built_by': 'tests/infra'}\n",
        )
    return path


def copy_terraform(destination: Path) -> Path:
    shutil.copytree(REPO_ROOT / "terraform", destination, ignore=COPY_IGNORE)
    return destination


def without_aws_env() -> dict[str, str]:
    """The test process environment minus anything that points at an AWS account or local cloud."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TF_"))}


def make_runner(workdir: Path, extra_env: dict[str, str]) -> TfRunner:
    """Run `tf.sh <main|bootstrap|write-backend> ARGS` on a copy of terraform/ in `workdir`."""

    def run(target: str, *args: str, timeout: float = 300) -> TfResult:
        env = {
            **without_aws_env(),
            **extra_env,
            "TF_ROOT_DIR": str(workdir),
            "LOCALCLOUD_DIR": str(workdir / ".localcloud"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "NO_COLOR": "1",
        }
        started = time.perf_counter()
        done = subprocess.run(
            [str(TF_SH), target, *args, *(["-no-color"] if args and args[0] != "fmt" else [])],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return TfResult(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    return run
