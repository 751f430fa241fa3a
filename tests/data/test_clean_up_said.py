"""Data that prepare's clean-up empties (every text given two labels, every text blank) is refused
with the reason, by prepare and by use-data before it changes anything (issue 27 round 8, U-d1 and
U-d4): use-data accepted such a file, wrote params.yaml and data.dvc, then prepare refused it, and
prepare said only that a single class ('none') was left."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import own_data, prepare
from textclf.pipeline.prepare import DataError


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    return tmp_path


def conflicting(copies: int = 30) -> str:
    return "text,label\n" + "same text,billing\nsame text,delivery\n" * copies


def use_data(workdir: Path, name: str, body: str, **overrides) -> own_data.Placement:
    source = workdir / name
    source.write_text(body, encoding="utf-8")
    staging = workdir / "staging"
    staging.mkdir(exist_ok=True)
    return own_data.plan(
        source, Path("data/raw"), Path("data.dvc"), DataParams(**overrides), None, staging, force=True
    )


def test_prepare_says_its_conflict_rule_dropped_every_row(workdir):
    (workdir / "data/raw/x.csv").write_text(conflicting(), encoding="utf-8")

    with pytest.raises(DataError) as raised:
        prepare.run(DataParams())

    message = str(raised.value)
    assert "holds no class (no rows are left)" in message, message
    assert (
        "the clean-up dropped 60 of the 60 rows: 60 rows whose text is given more than one label" in message
    )
    assert "(1 text;" in message


def test_prepare_names_the_conflicts_when_a_class_is_left_too_small(workdir):
    body = conflicting(10) + "".join(f"billing text {n},billing\n" for n in range(20))
    body += "".join(f"delivery text {n},delivery\n" for n in range(3))
    (workdir / "data/raw/x.csv").write_text(body, encoding="utf-8")

    with pytest.raises(
        DataError, match="class 'delivery' has 3 rows after cleaning; the clean-up dropped 20 of"
    ):
        prepare.run(DataParams())


def test_use_data_refuses_every_text_given_two_labels_before_changing_anything(workdir):
    with pytest.raises(DataError) as raised:
        use_data(workdir, "x.csv", conflicting())

    message = str(raised.value)
    assert message.startswith(f"{workdir / 'x.csv'}: column 'label' holds no class"), message
    assert "60 rows whose text is given more than one label" in message
    assert not (workdir / "data.dvc").exists()
    assert list((workdir / "data/raw").iterdir()) == []


def test_use_data_refuses_all_blank_texts_as_prepare_does(workdir):
    body = "text,label\n" + "   ,billing\n" * 30 + " ,delivery\n" * 30

    with pytest.raises(DataError, match=r"x.csv: row 1 \(line 2\): column 'text' is empty"):
        use_data(workdir, "x.csv", body)
    with pytest.raises(DataError, match="60 rows with an empty text"):
        use_data(workdir, "x.csv", body, empty_text="drop")


def test_use_data_refuses_a_class_too_small_to_split(workdir):
    body = "text,label\n" + "".join(f"text {n},billing\n" for n in range(20)) + "only one,delivery\n"

    with pytest.raises(DataError, match="class 'delivery' has 1 row after cleaning"):
        use_data(workdir, "x.csv", body)


def test_use_data_counts_the_rows_prepare_keeps(workdir):
    body = "text,label\n" + "".join(f"text {n},billing\ntext {n},billing\n" for n in range(10))
    body += "".join(f"other {n},delivery\n" for n in range(10))

    placement = use_data(workdir, "x.csv", body)

    assert placement.counts == {"billing": 10, "delivery": 10}
