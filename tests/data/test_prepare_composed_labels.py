"""The same label written composed and decomposed (`café` with U+00E9, `cafe` + U+0301) in the data is
refused by prepare, naming both rows, as params.yaml's data.labels refuses it; it made two classes that
look the same in every report (issue 27 round 9, U-d6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError


def test_composed_and_decomposed_labels_are_one_label_written_two_ways(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    rows = "".join(f"text {n} for tea,tea\n" for n in range(20))
    (tmp_path / "data/raw/a.csv").write_text(
        "text,label\n" + rows + "".join(f"a {n},{composed}\n" for n in range(20)), encoding="utf-8"
    )
    (tmp_path / "data/raw/b.csv").write_text(
        "text,label\n" + "".join(f"b {n},{decomposed}\n" for n in range(20)), encoding="utf-8"
    )

    with pytest.raises(DataError) as raised:
        prepare.run(DataParams(labels=None))

    message = str(raised.value)
    assert "are the same text written with different Unicode characters" in message, message
    assert "data/raw/a.csv: row 21 (line 22)" in message and "data/raw/b.csv: row 1 (line 2)" in message
    assert not (tmp_path / "data/prepared").exists()


def two_labels_refused(tmp_path: Path, monkeypatch, first: str, second: str) -> str:
    """prepare's refusal of 20 rows labelled `first` and 20 labelled `second` (data.labels null)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    body = "".join(f"a {n},{first}\n" for n in range(20)) + "".join(f"b {n},{second}\n" for n in range(20))
    (tmp_path / "data/raw/a.csv").write_text("text,label\n" + body, encoding="utf-8")
    with pytest.raises(DataError) as raised:
        prepare.run(DataParams(labels=None))
    return str(raised.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Cafe\u0301", "caf\u00e9"),  # capital and decomposed, against composed
        ("x\u00a0y", "x y"),  # a no-break space
        ("\uff42\uff49\uff4c\uff4c", "bill"),  # full-width letters
        ("\u2168", "IX"),  # ROMAN NUMERAL NINE
    ],
)
def test_labels_that_look_alike_are_refused(tmp_path: Path, monkeypatch, first: str, second: str) -> None:
    """Round 9, U-d6b: these passed both the case rule and the NFC rule and made two classes."""
    assert "look alike: the same text once case" in two_labels_refused(tmp_path, monkeypatch, first, second)


def test_labels_that_only_differ_in_case_keep_their_message(tmp_path: Path, monkeypatch) -> None:
    assert "differ only in case" in two_labels_refused(tmp_path, monkeypatch, "Spam", "spam")
