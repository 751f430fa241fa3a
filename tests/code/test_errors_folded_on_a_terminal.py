"""Every command's error, not only use-data's, is folded at 100 columns when a person reads it in a
terminal (issue 29: readable output; the batch-stop refusal below runs to 230 columns); piped to a
script, a workflow log or a test it stays one line, as those read it whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from textclf import cli

SRC = Path(cli.__file__).resolve().parents[1]  # the code under test, in the child too
JOB_FILE = "build/batch/a-job-file-name-that-is-long-enough/to-show-the-folding/of-the-message"


def stderr_lines(tmp_path: Path, terminal: bool, ci: bool = False) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("GITHUB_ACTIONS", None)
    if ci:
        env["GITHUB_ACTIONS"] = "true"
    command = [sys.executable, "-m", "textclf.cli", "batch-stop", "--job-file", JOB_FILE]
    if not terminal:
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        return done.stderr.splitlines()
    leader, follower = os.openpty()
    started = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert started.wait(timeout=120) == 2
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n").splitlines()


@pytest.fixture
def workdir(tmp_path: Path, repo_root: Path) -> Path:
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    return tmp_path


def test_on_a_terminal_an_error_is_folded_at_100_columns(workdir: Path) -> None:
    lines = stderr_lines(workdir, terminal=True)

    assert len(lines) > 1 and all(len(line) <= 100 for line in lines), lines
    assert lines[0].startswith("[textclf] error: no job file at")
    assert all(line.startswith("[textclf]     ") for line in lines[1:]), lines
    # A word longer than the line (the path) stays whole, so it can still be copied.
    assert any(JOB_FILE in line for line in lines)
    assert "nothing was stopped" in " ".join(lines)


def test_piped_the_same_error_stays_one_line(workdir: Path) -> None:
    lines = stderr_lines(workdir, terminal=False)

    assert len(lines) == 1 and len(lines[0]) > 100, lines
    assert lines[0].startswith(f"[textclf] error: no job file at {JOB_FILE}")


def test_in_a_ci_job_on_a_terminal_it_stays_one_line(workdir: Path) -> None:
    """act runs every step on a terminal, GitHub on pipes: the rehearsal's logs read as GitHub's."""
    lines = stderr_lines(workdir, terminal=True, ci=True)

    assert len(lines) == 1 and len(lines[0]) > 100, lines
