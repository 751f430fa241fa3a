"""The staging check's evaluated test split in the wrong kind of file (issue 27 round 7, H-b):
data/prepared/test.jsonl or plots/confusion.csv as a link to /dev/zero was read without end (7.3 GB
in 6 s) and a FIFO blocked the check for ever. Both are read as bounded regular files; anything else
is a StagingError naming the file, at once."""

from __future__ import annotations

import os
import threading

import pytest

from textclf.release import staging

CONFUSION = "text,actual,predicted\nWhere is my parcel?,delivery,delivery\n"


def split(tmp_path, test_kind: str = "file", confusion_kind: str = "file"):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    for path, kind, text in (
        (prepared / "test.jsonl", test_kind, '{"text": "Where is my parcel?", "label": "delivery"}\n'),
        (tmp_path / "confusion.csv", confusion_kind, CONFUSION),
    ):
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":  # /dev/null: a device as /dev/zero is, but one a failing test survives
            path.symlink_to("/dev/null")
        else:
            path.write_text(text)
    return prepared, tmp_path / "confusion.csv"


def bounded(call):
    """`call` in a thread that must end within 10 s (a FIFO used to block open() for ever)."""
    outcome: list = []

    def target():
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the staging check blocked reading the test split"
    return outcome[0]


def test_a_regular_split_is_read(tmp_path):
    assert staging.test_split(*split(tmp_path)) == (["Where is my parcel?"], ["delivery"])


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("which", ["test", "confusion"])
def test_a_device_or_pipe_in_place_of_the_split_is_refused_at_once(tmp_path, kind, which):
    kinds = {"test_kind": kind} if which == "test" else {"confusion_kind": kind}
    prepared, confusion = split(tmp_path, **kinds)
    error = bounded(lambda: staging.test_split(prepared, confusion))
    assert isinstance(error, staging.StagingError), error
    name = "test.jsonl" if which == "test" else "confusion.csv"
    assert f"{name}: a device, pipe or socket, not a regular file" in str(error)


def test_a_split_larger_than_the_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "MAX_SPLIT_BYTES", 16, raising=False)
    error = bounded(lambda: staging.test_split(*split(tmp_path)))
    assert isinstance(error, staging.StagingError) and "test.jsonl: larger than 16 bytes" in str(error)
