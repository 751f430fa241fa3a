"""A small project folder (params.yaml, prepared data) whose base model is the tiny test BERT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from textclf.config import load_params
from textclf.pipeline import prepare, sample_data


def make_project(root: Path, model_name: str, rows_per_label: int = 30, **train) -> Path:
    """Write params.yaml and the prepared splits of a small sample into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    # The template's params.yaml with the small model's keys: every section a command reads is there.
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["labels"] = None
    params["model"].update({"name": model_name, "max_length": 32})
    params["train"].update(
        {"epochs": 1, "batch_size": 8, "eval_steps": 10, "save_steps": 10, "logging_steps": 5, **train}
    )
    params["evaluate"]["thresholds"] = {"accuracy": 0.0, "macro_f1": 0.0, "min_class_recall": 0.0}
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    sample_data.write_sample(root / "data/raw", rows_per_label=rows_per_label)
    cwd = Path.cwd()
    os.chdir(root)
    try:
        prepare.run(load_params().data)
    finally:
        os.chdir(cwd)
    return root


def run_textclf(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=kwargs.pop("timeout", 600),
        **kwargs,
    )


@pytest.fixture
def tiny_project(tmp_path, tiny_model_dir) -> Path:
    return make_project(tmp_path / "project", str(tiny_model_dir))


def train_small_project(root: Path, model_name: str) -> tuple[Path, subprocess.CompletedProcess]:
    """The small project, trained by `textclf train` on one thread (the trained bytes depend on the
    thread count: tests/model/test_reproducible.py)."""
    project = make_project(root, model_name)
    done = run_textclf(project, "train", env={**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    return project, done


@pytest.fixture(scope="package")
def trained_project(tmp_path_factory, tiny_model_dir) -> tuple[Path, subprocess.CompletedProcess]:
    """One train stage run on the small project, shared by the tests that only read what it wrote
    (the model contract, and the first of the two runs the reproducibility test compares)."""
    return train_small_project(tmp_path_factory.mktemp("trained") / "project", str(tiny_model_dir))
