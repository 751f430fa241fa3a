"""use-data (issue 27 round 9): SIGHUP (a closed terminal or ssh session, `timeout -s HUP`) rolls back
as SIGTERM does (D-h: it killed the run half-way, the user's files left in a hidden folder, data.dvc
pointing at the new data); a data.dvc that is a pipe is refused at once, also with --force (H-h: it
blocked the command for ever)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from tests.code.test_use_data import USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)
from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError


@pytest.mark.parametrize("name", ["HUP", "QUIT"])
def test_sighup_and_sigquit_put_every_file_back(clone, tmp_path, name, monkeypatch):  # noqa: F811 (the fixture)
    monkeypatch.delenv(
        "GITHUB_ACTIONS", raising=False
    )  # in a CI job SIGHUP is left alone (textclf.interrupt)
    (clone / "data/raw/mine.csv").write_text("text,label\nmy own row,ham\n", encoding="utf-8")
    tools = tmp_path / "hanging-up-dvc"
    tools.mkdir()
    # `dvc add` runs last, after the files were moved and params.yaml and data.dvc written.
    (tools / "dvc").write_text(f"#!/bin/sh\nkill -{name} $PPID\nexec sleep 10\n", encoding="utf-8")
    (tools / "dvc").chmod(0o755)
    before = snapshot(clone)

    done = textclf(clone, *USE, "--force", path=str(tools) + os.pathsep + os.environ["PATH"])

    signum = getattr(signal, f"SIG{name}")
    assert done.returncode == 128 + signum, done.stderr
    assert f"terminated (SIG{name}): params.yaml, data.dvc and data/raw are as they were" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(clone) == before
    assert not list((clone / "data").glob(".use-data.*"))


@pytest.fixture
def fifo_dvc(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    os.mkfifo(tmp_path / "data.dvc")
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked on the pipe"))
    signal.alarm(20)
    yield tmp_path / "data.dvc"
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("force", [False, True])
def test_a_pipe_as_the_dvc_file_is_refused_at_once(fifo_dvc, force):
    with pytest.raises(DataError, match=r"--dvc-file 'data.dvc': is not a regular file \(a pipe"):
        own_data.check_dvc_file("data.dvc", Path("data/raw"), force=force)


def test_recorded_does_not_block_on_a_pipe(fifo_dvc):
    assert own_data.recorded(fifo_dvc) == {}


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir])
def test_textclf_data_names_a_dvc_file_that_is_not_a_file(tmp_path, monkeypatch, capsys, make):
    """U-d5: a pipe as data.dvc was reported as "data.dvc: not found"."""
    from textclf import cli

    monkeypatch.chdir(tmp_path)
    make(tmp_path / "data.dvc")

    assert cli.main(["data"]) == 2

    err = capsys.readouterr().err
    assert "data.dvc: is " in err and "restore the .dvc file (git checkout data.dvc)" in err, err
    assert "not found" not in err


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("other.dvc", "data.dvc tracks data/raw (data.raw_dir) already"),
        ("data/raw/x.dvc", "is inside data/raw (data.raw_dir), the folder it tracks"),
    ],
)
@pytest.mark.parametrize("force", [False, True])
def test_a_second_tracker_of_the_data_is_refused(tmp_path, monkeypatch, value, said, force):
    """U-d7: --dvc-file other.dvc while data.dvc tracks data/raw wrote a .dvc file holding only the
    record while `dvc add` updated data.dvc; data/raw/x.dvc landed in the data itself."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data/raw\n", encoding="utf-8")

    with pytest.raises(DataError, match=re.escape(said)):
        own_data.check_dvc_file(value, Path("data/raw"), force=force)


def test_the_tracker_itself_and_a_first_tracker_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    assert own_data.check_dvc_file("data.dvc", Path("data/raw")) == Path("data.dvc")  # none yet
    (tmp_path / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data/raw\n", encoding="utf-8")
    assert own_data.check_dvc_file("data.dvc", Path("data/raw")) == Path("data.dvc")
    assert own_data.check_dvc_file("data.dvc", Path("data/raw"), force=True) == Path("data.dvc")
