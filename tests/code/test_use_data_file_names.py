"""`make use-data FILE=...` / `textclf use-data FILE` name the whole file, whatever characters it
holds (issue 27, round 7, U-14: FILE=$'a\\nb.csv' was reported as a line "b.csv: not found", its
first line lost), and a file whose name holds a control character is refused before anything is
copied: it would become data/raw/<name>."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError


@pytest.mark.parametrize("name", ["a\nb.csv", "a\rb.csv", "tab\there.csv", "esc\x1b[31m.csv"])
def test_a_missing_file_is_named_whole(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(DataError) as refused:
        own_data.check_source(Path(name))

    message = str(refused.value)
    assert message.startswith(f"{name!r}: not found") and "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize("name", ["a\nb.csv", "bell\a.csv"])
def test_an_existing_file_with_a_control_character_in_its_name_is_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    Path(name).write_text("text,label\nhi,a\n", encoding="utf-8")

    with pytest.raises(DataError, match="the file name holds a line break or another control character"):
        own_data.check_source(Path(name))


def test_a_nul_byte_is_named_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(DataError, match=r"^'a\\x00b.csv': not found"):
        own_data.check_source(Path("a\0b.csv"))


def test_a_plain_name_is_shown_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(DataError, match=r"^my data/x.csv: not found"):
        own_data.check_source(Path("my data/x.csv"))
