"""Ctrl-C during `make repro` (issue 29, a newcomer's walk-through): the hint filter after `dvc
repro` passes DVC's last lines on instead of ending first with a traceback, and the interrupted
stage says what DVC removed and how to get it back."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from textclf import cli


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
        ("train", "interrupted: DVC removed the train stage's outputs before it ran; `dvc checkout`"),
        ("", "interrupted"),
        ("x; rm -rf /", "interrupted"),  # not a stage name: nothing of it is repeated
    ],
)
def test_an_interrupted_stage_says_what_dvc_removed(stage: str, said: str, monkeypatch) -> None:
    monkeypatch.setenv("DVC_STAGE", stage)
    assert cli._interrupted().startswith(said)
    assert stage == "train" or cli._interrupted() == "interrupted"
