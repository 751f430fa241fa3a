"""deploy/production.yaml loads as it reads (issue 27, round 9): a double-quoted escape, a continued
line or a block scalar made the file show one commit and declare another (F-j: `commit: "<39 a>\\x62"`
loaded as <39 a>b), and a FIFO or a link to /dev/zero in its place was called missing (U-d5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textclf.release import desired

A, C = "a" * 40, "c" * 64


@pytest.mark.parametrize(
    "commit",
    [
        f'"{"a" * 39}\\x62"',
        f'"\\u0061{"a" * 39}"',
        f'"{"a" * 20}\\\n  {"a" * 20}"',
        f">-\n  {A}",
    ],
)
def test_a_value_that_loads_as_another_sha_than_written_is_refused(commit: str) -> None:
    with pytest.raises(desired.DesiredStateError) as error:
        desired.parse(f"commit: {commit}\nsha256: {C}\n")
    assert "line 1: " in str(error.value) and " is read as " in str(error.value), error.value
    assert "write it as it is read, plain, on one line" in str(error.value)


@pytest.mark.parametrize("commit", [f"|\n  {A}", f"{'a' * 20}\n  {'a' * 20}", f"'{'a' * 20}\n  {'a' * 20}'"])
def test_a_value_folded_into_other_text_is_not_a_sha(commit: str) -> None:
    with pytest.raises(desired.DesiredStateError, match="commit must be a full 40-character commit sha"):
        desired.parse(f"commit: {commit}\nsha256: {C}\n")


def test_an_escaped_key_is_refused() -> None:
    with pytest.raises(desired.DesiredStateError, match=r"'\"c\\\\x6fmmit\"' is read as 'commit'"):
        desired.parse(f'"c\\x6fmmit": {A}\nsha256: {C}\n')


@pytest.mark.parametrize(
    "text",
    [
        f"commit: {A}\nsha256: {C}\n",
        f"# the model production serves\ncommit: '{A}'  # reviewed\nsha256: \"{C}\"\n",
        "commit: null\nsha256: null\n",
    ],
)
def test_plain_and_quoted_values_load(text: str) -> None:
    assert desired.parse(text).commit in (A, None)


@given(st.text("0123456789abcdef", min_size=39, max_size=39), st.sampled_from(["{}", "'{}'", '"{}"']))
def test_whatever_loads_is_the_text_written(tail: str, form: str) -> None:
    commit = "a" + tail  # all digits, unquoted, YAML would read as a number
    text = f"commit: {form.format(commit)}\nsha256: {C}\n"
    assert desired.parse(text).commit == commit
    assert commit in text


NOT_REGULAR = {"fifo": os.mkfifo, "device": lambda path: path.symlink_to("/dev/zero"), "folder": Path.mkdir}


@pytest.mark.parametrize("kind", sorted(NOT_REGULAR))
def test_a_file_that_is_not_regular_is_named_as_such(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "production.yaml"
    NOT_REGULAR[kind](path)
    with pytest.raises(desired.DesiredStateError) as error:
        desired.read(path)
    assert f"{path}: cannot be read (" in str(error.value), error.value
    assert "is missing" not in str(error.value)


def test_a_missing_file_or_dangling_link_is_missing(tmp_path: Path) -> None:
    with pytest.raises(
        desired.DesiredStateError, match="is missing: it declares the model production serves"
    ):
        desired.read(tmp_path / "production.yaml")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "nowhere")
    with pytest.raises(desired.DesiredStateError, match="is missing"):
        desired.read(tmp_path / "link.yaml")
