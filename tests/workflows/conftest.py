"""Fixtures for the workflow steps: buckets on the local cloud, and real git + DVC repositories."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.release.evaluation import params_of, write_evaluation, write_params

ARTIFACTS = "textclf-test-artifacts"
DATA = "textclf-test-data"
LABELS = ["account", "billing", "cancellation", "delivery", "product", "returns"]
BIN = Path(sys.executable).parent


def dvc(*args: str) -> None:
    """DVC in this process: the fixtures run several commands, and each new process pays seconds of
    imports (the code under test still runs `dvc` as a command)."""
    from dvc.cli import main

    assert main(list(args)) == 0, f"dvc {' '.join(args)} failed"


def sh(*command: str | Path, cwd: Path, check: bool = True, env: dict[str, str] | None = None):
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def sample_rows(tag: str, per_label: int = 4) -> list[tuple[str, str]]:
    return [
        (f"{tag} message {i} about my {label} issue", label) for label in LABELS for i in range(per_label)
    ]


@pytest.fixture
def buckets(aws_env, monkeypatch) -> dict[str, str]:
    """The artifacts and data buckets, named to the code through the CI environment variables."""
    s3 = boto3.client("s3")
    for bucket in (ARTIFACTS, DATA):
        s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", ARTIFACTS)
    monkeypatch.setenv("TEXTCLF_DATA_BUCKET", DATA)
    return {"artifacts": ARTIFACTS, "data": DATA}


@pytest.fixture
def project(tmp_path, buckets, repo_root, monkeypatch) -> Path:
    """A git repository (branch main) with the template's params.yaml and a DVC-tracked data/raw
    (data.dvc, as in the template) whose remote is the data bucket on the local cloud. The data is
    pushed; the test runs inside it."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(repo_root / "params.yaml", root / "params.yaml")
    write_rows(root / "data/raw/messages.csv", sample_rows("first"))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    monkeypatch.setenv("PATH", env["PATH"])
    sh("git", "init", "-q", "-b", "main", cwd=root)
    sh("git", "config", "user.email", "test@example.com", cwd=root)
    sh("git", "config", "user.name", "test", cwd=root)
    monkeypatch.chdir(root)
    dvc("init", "-q")
    dvc("remote", "add", "-q", "-d", "storage", f"s3://{DATA}/dvc")
    (root / "data.dvc").write_text("outs:\n- path: data/raw\n", encoding="utf-8")
    dvc("commit", "-q", "-f", "data.dvc")
    (root / ".gitignore").write_text("/data/raw\n.cache/\n", encoding="utf-8")
    dvc("push", "-q", "data.dvc")
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "initial data", cwd=root)
    return root


@pytest.fixture
def trained(tmp_path, tiny_model_dir, monkeypatch) -> dict[str, Path]:
    """A model folder and its metrics, as the train and evaluate stages leave them (the test runs in
    that workspace)."""
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "models" / "model"
    shutil.copytree(tiny_model_dir, model)
    metrics = tmp_path / "metrics" / "eval.json"
    metrics.parent.mkdir(parents=True)
    # eval.json and the evaluate stage's verdict beside it; publish judges the metrics again with the
    # workspace's params.yaml (a model of the tiny model's classes).
    write_evaluation(model, metrics)
    write_params(tmp_path, params_of(model).data.labels)
    gate = tmp_path / "metrics" / "gate.json"
    return {"model": model, "metrics": metrics, "gate": gate}
