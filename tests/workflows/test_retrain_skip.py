"""retrain.yml's pull request job runs only when the import changed data.dvc: it installs the training
environment and records a deployment of environment `retrain`, only for `make retrain-pr` to say "no
new data" (review of round 9, F11). `make retrain-changed` (the import job's last step) is run in a
git checkout with this repository's Makefile, its output read as GitHub reads $GITHUB_OUTPUT; the
job's `if:` reads that output."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.parametrize("changed", [False, True])
def test_make_retrain_changed_says_whether_data_dvc_changed(tmp_path: Path, changed: bool) -> None:
    shutil.copy(REPO / "Makefile", tmp_path)
    shutil.copytree(REPO / "mk", tmp_path / "mk")
    git(tmp_path, "init", "-q")
    (tmp_path / "data.dvc").write_text("outs:\n- md5: a.dir\n  path: data/raw\n")
    git(tmp_path, "add", "data.dvc")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "data")
    if changed:
        (tmp_path / "data.dvc").write_text("outs:\n- md5: b.dir\n  path: data/raw\n")
    output = tmp_path / "github_output"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "GITHUB_"))}

    done = subprocess.run(
        ["make", "--no-print-directory", "retrain-changed"],
        cwd=tmp_path,
        env={**env, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert output.read_text() == f"changed={str(changed).lower()}\n"


def test_the_pull_request_job_runs_only_on_that_output() -> None:
    jobs = yaml.safe_load((REPO / ".github/workflows/retrain.yml").read_text(encoding="utf-8"))["jobs"]
    assert jobs["import"]["outputs"] == {"changed": "${{ steps.data.outputs.changed }}"}
    assert jobs["pull-request"]["if"] == "needs.import.outputs.changed == 'true'"
    step = next(s for s in jobs["import"]["steps"] if s.get("id") == "data")
    assert step["run"] == "make retrain-changed"
