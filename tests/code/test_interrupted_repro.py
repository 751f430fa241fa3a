"""Ctrl-C during `make repro` (issue 29, a newcomer's walk-through): the hint filter after `dvc
repro` passes DVC's last lines on instead of ending first with a traceback, and the interrupted
stage says what DVC removed and how to get it back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from textclf.interrupt import interrupted_message


@pytest.mark.parametrize("stopping", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_filter_outlives_ctrl_c_and_passes_the_last_lines_on(stopping: signal.Signals) -> None:
    cmd = [sys.executable, "-m", "textclf.review.dvc_output"]
    filter_ = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert filter_.stdin is not None
    filter_.stdin.write(b"Running stage 'train':\n")
    filter_.stdin.flush()
    time.sleep(1.5)  # the filter has started and set its signals
    filter_.send_signal(stopping)
    time.sleep(0.3)
    out, err = filter_.communicate(b"ERROR: failed to reproduce 'train': interrupted\n", timeout=30)
    assert filter_.returncode == 0, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert out == b"Running stage 'train':\nERROR: failed to reproduce 'train': interrupted\n"


@pytest.mark.parametrize(
    ("stage", "said"),
    [
        (
            "train",
            "interrupted: DVC removed the train stage's outputs before it ran; as last committed, `dvc",
        ),
        ("", "interrupted"),
        ("x; rm -rf /", "interrupted"),  # not a stage name: nothing of it is repeated
    ],
)
def test_an_interrupted_stage_says_what_dvc_removed(stage: str, said: str, monkeypatch) -> None:
    monkeypatch.setenv("DVC_STAGE", stage)
    assert interrupted_message().startswith(said)
    assert stage == "train" or interrupted_message() == "interrupted"


def test_the_advice_names_what_brings_each_kind_of_output_back(monkeypatch) -> None:
    # A newcomer's `dvc checkout` brought back models/model only: metrics and plots are dvc.yaml's
    # `cache: false` outputs, git's files.
    monkeypatch.setenv("DVC_STAGE", "train")
    said = interrupted_message()
    assert "`dvc checkout` brings back those DVC caches (models/model, data/prepared)" in said
    assert "`git checkout -- metrics plots` those git tracks" in said
    assert said.endswith("(training resumes from its last checkpoint in work/)")
    monkeypatch.setenv("DVC_STAGE", "evaluate")
    assert "checkpoint" not in interrupted_message()


def test_a_reader_gone_first_is_said_so_not_blamed_on_a_path() -> None:
    """`make repro` stopped by a SIGTERM to its group: the pipe's reader went first, and the stage's
    next write (unbuffered: make repro sets PYTHONUNBUFFERED) failed with EPIPE, reported as "Broken
    pipe; check the path, its permissions and free space"."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        said = subprocess.run(
            [sys.executable, "-m", "textclf.cli", "release-commit", "--commit", head.strip()],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert said.returncode == 141, said.stderr
    assert b"stopped: the program reading this command's output closed it first" in said.stderr
    assert b"check the path" not in said.stderr and b"Traceback" not in said.stderr
    assert b"Exception ignored" not in said.stderr  # nothing fails again on the way out


def test_the_filter_stops_quietly_when_its_reader_goes_first() -> None:
    """`make repro | head`, a pager quit early: the filter's next write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the filter writes
    try:
        said = subprocess.run(
            [sys.executable, "-m", "textclf.review.dvc_output"],
            input=b"Running stage 'train':\n" * 1000,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (said.returncode, said.stderr) == (141, b"")


@pytest.mark.parametrize(("closing", "status"), [(">&-", 1), ("<&-", 0)])
def test_the_filter_started_without_stdout_or_stdin_exits_without_a_traceback(
    closing: str, status: int
) -> None:
    said = subprocess.run(
        ["sh", "-c", f'exec "$0" -m textclf.review.dvc_output {closing}', sys.executable],
        input=b"Running stage 'train':\n",
        capture_output=True,
        timeout=60,
    )
    assert said.stderr == b""
    assert said.returncode == status
