"""use-data (issue 27 round 10): a pipe anywhere in data.raw_dir is named at once (H-j: hashing it
waited for a writer for ever); a run ended by any signal whose default action ends a process rolls
back as SIGTERM does, and files a killed run (SIGKILL) left in its staging folder stop the next run,
named with how to put them back (D-k: the user's replaced file stayed hidden, never mentioned)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.code.test_use_data import clone  # noqa: F401 (the fixture)
from tests.code.test_use_data_round9 import (
    test_sighup_and_sigquit_put_every_file_back as sighup_and_sigquit_put_every_file_back,
)
from textclf.config import DataParams
from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError

ROWS = "text,label\n" + "".join(
    f"message {i} about {label},{label}\n" for label in ("ham", "spam") for i in range(10)
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/new.csv").write_text(ROWS, encoding="utf-8")
    (tmp_path / "data/.use-data.now").mkdir()
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked"))
    signal.alarm(20)
    yield tmp_path
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def plan(force: bool = False) -> own_data.Placement:
    return own_data.plan(
        Path("mine/new.csv"),
        Path("data/raw"),
        Path("data.dvc"),
        DataParams(labels=None),
        None,
        Path("data/.use-data.now"),
        force=force,
    )


@pytest.mark.parametrize("name", ["pipe.csv", "messages.csv", "sub/notes.csv"])
@pytest.mark.parametrize("force", [False, True])
def test_a_pipe_in_the_data_folder_is_named_at_once(project: Path, name: str, force: bool) -> None:
    (project / "data/raw" / name).parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(project / "data/raw" / name)

    with pytest.raises(DataError) as refused:
        plan(force)

    assert str(refused.value).startswith(f"data/raw/{name}: not a regular file (a pipe, device or socket)")


def test_files_a_killed_run_left_behind_stop_the_next_run(project: Path) -> None:
    left = project / "data/.use-data.ab12cd34/.replaced"
    left.mkdir(parents=True)
    (left / "mine.csv").write_text(ROWS, encoding="utf-8")

    with pytest.raises(DataError) as refused:
        plan(force=True)

    message = str(refused.value)
    assert message.startswith(
        "data/.use-data.ab12cd34/.replaced: holds data/.use-data.ab12cd34/.replaced/mine.csv"
    )
    assert "Move them back into data/raw" in message and "or delete data/.use-data.ab12cd34" in message
    (left / "mine.csv").unlink()  # an empty one (a rollback that put everything back) is no matter
    assert plan(force=True).labels == ["ham", "spam"]


@pytest.mark.parametrize("name", ["USR1", "ALRM", "XCPU"])
def test_any_signal_that_ends_the_process_puts_every_file_back(clone, tmp_path, name, monkeypatch):  # noqa: F811
    """Round 9's SIGHUP and SIGQUIT case (the dvc add child signals use-data), with other signals."""
    sighup_and_sigquit_put_every_file_back(clone, tmp_path, name, monkeypatch)
