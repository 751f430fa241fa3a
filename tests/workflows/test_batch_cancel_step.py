"""batch.yml's cancel step, `make batch-cancel`: a run cancelled before batch-predict started a job
(during setup or the input check) has no job file, and `batch-stop` refuses a missing file (exit 2:
it cannot tell a typo from a job never started), so the target checks the file first and says
nothing was started; with the file it stops the recorded job (review of round 9, F14). This
repository's Makefile in a scratch folder, with a stand-in textclf that records its arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def make_batch_cancel(tmp_path: Path) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "Makefile", tmp_path)
    shutil.copytree(REPO / "mk", tmp_path / "mk", dirs_exist_ok=True)
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    (tools / "textclf").write_text('#!/bin/sh\necho "textclf $*" >> called\n')
    (tools / "textclf").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "BATCH_"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "batch-cancel", f"BIN={tools}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cancelled_before_a_job_started_it_passes_and_says_so(tmp_path: Path) -> None:
    done = make_batch_cancel(tmp_path)

    assert done.returncode == 0, done.stderr
    assert "no transform job was started (build/batch/job is absent): nothing to stop" in done.stdout
    assert not (tmp_path / "called").exists()


def test_with_a_recorded_job_it_stops_that_job(tmp_path: Path) -> None:
    (tmp_path / "build/batch").mkdir(parents=True)
    (tmp_path / "build/batch/job").write_text("textclf-batch-1\n")

    done = make_batch_cancel(tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "called").read_text() == "textclf batch-stop --job-file build/batch/job\n"


def test_the_workflows_cancel_step_runs_it() -> None:
    jobs = yaml.safe_load((REPO / ".github/workflows/batch.yml").read_text(encoding="utf-8"))["jobs"]
    steps = [step for job in jobs.values() for step in job["steps"] if step.get("if") == "cancelled()"]
    assert [step["run"] for step in steps] == ["make batch-cancel"]
