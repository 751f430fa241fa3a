"""batch.yml's cancel step: a run cancelled before batch-predict started a job (during setup or the
input check) has no job file, and `make batch-stop` refuses a missing file (exit 2, it cannot tell a
typo from a job never started), so the step checks the file first and says nothing was started;
with the file it stops the recorded job (review of round 9, F14). The step's own script, run by bash
with a stand-in make that records its arguments."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def cancel_step() -> dict:
    jobs = yaml.safe_load((REPO / ".github/workflows/batch.yml").read_text(encoding="utf-8"))["jobs"]
    steps = [step for job in jobs.values() for step in job["steps"] if step.get("if") == "cancelled()"]
    assert len(steps) == 1, steps
    return steps[0]


def run_step(tmp_path: Path) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "make").write_text('#!/bin/sh\necho "make $*" >> made\n')
    (bin_dir / "make").chmod(0o755)
    return subprocess.run(
        ["bash", "-e", "-c", cancel_step()["run"]],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cancelled_before_a_job_started_the_step_passes_and_says_so(tmp_path: Path) -> None:
    done = run_step(tmp_path)

    assert done.returncode == 0, done.stderr
    assert "no transform job was started: nothing to stop" in done.stdout
    assert not (tmp_path / "made").exists()


def test_with_a_recorded_job_the_step_runs_batch_stop(tmp_path: Path) -> None:
    (tmp_path / "build/batch").mkdir(parents=True)
    (tmp_path / "build/batch/job").write_text("textclf-batch-1\n")

    done = run_step(tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "made").read_text() == "make batch-stop\n"


def test_the_step_names_the_makefiles_job_file() -> None:
    assert "BATCH_JOB_FILE ?= build/batch/job" in (REPO / "mk/batch.mk").read_text(encoding="utf-8")
    assert "[ -f build/batch/job ]" in cancel_step()["run"]
