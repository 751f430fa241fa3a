"""Files that are not regular files, or far too large, in place of params.yaml or a metrics file:
each is refused at once naming the file (a device was read without end, a pipe blocked the
command until it was killed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from textclf import atomic
from textclf.config import ParamsError, load_params


class Refused(Exception):
    pass


def textclf(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_a_device_as_params_is_refused_at_once(tmp_path):
    done = textclf(tmp_path, "gate", "--params", "/dev/zero")
    assert done.returncode == 2, done.stderr
    assert "/dev/zero: cannot be read (a device, pipe or socket, not a regular file)" in done.stderr


def test_a_pipe_as_params_is_refused_without_waiting_for_a_writer(tmp_path, fifo):
    done = textclf(tmp_path, "gate", "--params", str(fifo))
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_params_file_far_larger_than_any_params_file_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"# " + b"x" * 2 * 1024**2 + b"\n")  # the template is about 10 KB
    with pytest.raises(ParamsError, match=r"params.yaml: cannot be read \(larger than 1,048,576 bytes"):
        load_params(path)


def test_a_device_as_the_metrics_to_record_is_refused_at_once(tmp_path):
    (tmp_path / "params.yaml").write_bytes((Path(__file__).parents[2] / "params.yaml").read_bytes())
    done = textclf(tmp_path, "champion", "record", "--model-version", "a" * 40, "--metrics", "/dev/zero")
    assert done.returncode == 2, done.stderr
    assert "/dev/zero: cannot be read (a device, pipe or socket, not a regular file)" in done.stderr


def test_read_json_object_names_what_stands_in_place_of_the_file(tmp_path):
    (tmp_path / "eval.json").mkdir()  # a pipe is checked through the CLI, whose run has a timeout
    with pytest.raises(Refused, match=r"eval.json: cannot be read \(Is a directory\)"):
        atomic.read_json_object(tmp_path / "eval.json", Refused, "run the pipeline")


def test_a_pipe_as_the_metrics_to_record_is_refused_without_waiting(tmp_path, fifo):
    (tmp_path / "params.yaml").write_bytes((Path(__file__).parents[2] / "params.yaml").read_bytes())
    done = textclf(tmp_path, "champion", "record", "--model-version", "a" * 40, "--metrics", str(fifo))
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr
