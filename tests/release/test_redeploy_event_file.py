"""`textclf redeploy --event FILE` reads a bounded regular file (issue 27, round 6, H1: --event
/dev/zero read 2.6 GB in 8 s, a FIFO blocked for ever). The Lambda zip cannot import
textclf.atomic, so redeploy has its own reader; it must answer as atomic.read_regular does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textclf import atomic
from textclf.release import redeploy


def redeploy_cli(event_file: Path | str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    command = [sys.executable, "-m", "textclf.cli", "redeploy", "--event", str(event_file)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("kind", ["device", "fifo", "large"])
def test_an_event_file_that_is_no_small_regular_file_is_one_rejection(tmp_path: Path, kind: str) -> None:
    event_file: Path | str = "/dev/zero"
    if kind == "fifo":
        event_file = tmp_path / "event.json"
        os.mkfifo(event_file)
    elif kind == "large":
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps({"model_data_url": "s3://b/k", "pad": "x" * 2_000_000}))
    done = redeploy_cli(event_file)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    reason = json.loads(done.stdout)["reason"]
    expected = "larger than 1,048,576 bytes" if kind == "large" else "not a regular file"
    assert reason.startswith(f"{event_file}: cannot be read (") and expected in reason, reason


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=0, max_value=64), limit=st.integers(min_value=0, max_value=64))
def test_the_reader_answers_as_atomic_read_regular(tmp_path: Path, size: int, limit: int) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_bytes(b"x" * size)
    outcomes = []
    for read in (redeploy.read_event_file, atomic.read_regular):
        try:
            outcomes.append(read(str(event_file), limit))
        except OSError as error:
            outcomes.append((error.errno, error.filename))
    assert outcomes[0] == outcomes[1]
