"""The report's data checks read data/prepared/labels.json bounded and only as a regular file, and
refuse a split that is not one: a link to /dev/zero filled memory, a FIFO blocked the report (and
`textclf gate` with a review.data_gate rule) for ever."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from textclf.review import data_checks


def within(seconds: float, call):
    """call()'s exception, or its result; fails when it has not returned in `seconds` (a blocked read)."""
    outcome: list = []

    def target():
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_labels_json_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind):
    path = tmp_path / "labels.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")

    error = within(10, lambda: data_checks._labels_of(tmp_path))

    assert isinstance(error, data_checks.DataCheckError)
    assert str(error).startswith(f"{path}: cannot be read (a device, pipe or socket")
    assert "rerun the prepare stage" in str(error)


def test_labels_json_larger_than_any_labels_file_is_refused(tmp_path):
    path = tmp_path / "labels.json"
    with path.open("wb") as handle:
        handle.truncate(data_checks.atomic.MAX_JSON_BYTES + 1)  # sparse: no disk used

    with pytest.raises(data_checks.DataCheckError, match=r"cannot be read \(larger than"):
        data_checks._labels_of(tmp_path)


def test_labels_json_as_prepare_writes_it_is_read(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"labels": ["a", "b"]}), encoding="utf-8")

    assert data_checks._labels_of(tmp_path) == ["a", "b"]


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_split_that_is_not_a_regular_file_is_refused_as_such(tmp_path, kind):
    path = tmp_path / "train.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()

    with pytest.raises(data_checks.DataCheckError, match="not a regular file; remove it and rerun"):
        data_checks.Split(Path(path))
