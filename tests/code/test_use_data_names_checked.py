"""use-data's --dvc-file and --labels are checked as their neighbours are (issue 27 round 8): a
`..` after a folder that is not there made that folder, empty (U-9b, as sample-data's --out now
refuses), and an invisible character in --labels was reported as rows whose labels are not in
--labels, without naming it (U-3b, as params.yaml's data.labels now names it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError


@pytest.mark.parametrize("value", ["d3/../x.dvc", "d3/d4/../../x.dvc", "data/raw/../nosuch/../x.dvc"])
def test_a_dotdot_after_a_missing_folder_is_refused_before_anything_is_made(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)

    with pytest.raises(DataError, match=r"is not a folder, so .*\.\. leads nowhere; nothing was changed"):
        own_data.check_dvc_file(value, Path("data/raw"), force=True)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["raw"]


def test_a_dotdot_after_an_existing_folder_is_taken(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)

    assert own_data.check_dvc_file("data/../x.dvc", Path("data/raw")) == Path("data/../x.dvc")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("billing,deli\u200bvery,returns", "U+200B (ZERO WIDTH SPACE)"),
        ("billing,\u202ereturns", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("billing,deli\x1bvery", "U+001B"),
    ],
)
def test_labels_with_an_invisible_character_are_refused_naming_it(text, named):
    with pytest.raises(DataError) as raised:
        own_data.given_labels(text)

    message = str(raised.value)
    assert message.startswith("--labels ") and named in message, message
    assert "remove the character" in message


def test_make_names_its_variable():
    with pytest.raises(DataError, match=r"^LABELS= 'a,b\\u200b': label 2"):
        own_data.given_labels("a,b\u200b", own_data.MAKE_VARIABLES)


def test_plain_labels_pass():
    assert own_data.given_labels(" spam , ham ") == ["spam", "ham"]
