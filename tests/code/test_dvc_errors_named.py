"""What DVC said is in the refusal (R13A-11, R13A-4): `dvc add --quiet` and `dvc commit --quiet` hid
DVC's ERROR line (--quiet sets its logger to CRITICAL), and use-data and data then said "failed (its
message is above)" with nothing above; and when `dvc pull` refused to remove files of data/raw that
data.dvc does not pin (the user's own, unsaved), `textclf data` blamed the remote and the
credentials. A stand-in `dvc` on PATH answers as DVC does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
UNSAVED = (
    "ERROR: failed to pull data from the cloud - Can't remove the following unsaved files without "
    "confirmation. Use `--force` to force."
)


def with_dvc(root: Path, error: str) -> None:
    tools = root / "tools"
    tools.mkdir()
    (tools / "said").write_text(error + "\n", encoding="utf-8")
    (tools / "dvc").write_text(
        f"#!/bin/sh\necho 'some progress'\ncat '{tools}/said' >&2\nexit 1\n", encoding="utf-8"
    )
    (tools / "dvc").chmod(0o755)


def textclf(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PATH": str(cwd / "tools") + os.pathsep + os.environ["PATH"]}
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_a_failed_dvc_commit_says_what_dvc_said(tmp_path, repo_root) -> None:
    shutil.copy(repo_root / "data.dvc", tmp_path / "data.dvc")  # pins the sample: written, then committed
    with_dvc(tmp_path, "ERROR: unexpected error - [Errno 20] Not a directory: '.dvc/cache'")

    done = textclf(tmp_path, "data")

    assert done.returncode == 2, done.stderr
    said = "error: `dvc commit data.dvc` failed: unexpected error - [Errno 20] Not a directory: '.dvc/cache'"
    assert said in done.stderr
    assert "its message is above" not in done.stderr


def other_data(root: Path, repo_root: Path) -> None:
    """data.dvc pinning data other than the sample: `textclf data` pulls it."""
    text = (repo_root / "data.dvc").read_text(encoding="utf-8")
    (root / "data.dvc").write_text(text.replace("md5: ", "md5: 0", 1), encoding="utf-8")


def test_a_pull_dvc_refused_for_the_users_unsaved_files_says_so_not_credentials(tmp_path, repo_root) -> None:
    other_data(tmp_path, repo_root)
    with_dvc(tmp_path, UNSAVED)

    done = textclf(tmp_path, "data")

    assert done.returncode == 2, done.stderr
    assert UNSAVED in done.stderr  # DVC's own lines, passed on as they came
    assert (
        "error: data/raw holds changes data.dvc does not pin (DVC named them above); nothing was replaced"
        in done.stderr
    )
    assert "dvc commit data.dvc && dvc push" in done.stderr and "dvc pull --force data.dvc" in done.stderr
    assert "credentials" not in done.stderr


def test_a_pull_that_failed_otherwise_keeps_the_remote_advice_with_dvcs_reason(tmp_path, repo_root) -> None:
    other_data(tmp_path, repo_root)
    with_dvc(tmp_path, "ERROR: failed to pull data from the cloud - Access Denied")

    done = textclf(tmp_path, "data")

    assert (
        "could not pull data.dvc from the DVC remote (failed to pull data from the cloud - Access Denied)"
        in (done.stderr)
    )
