"""Texts the model reads as one (issue 27, round 10, U-d8): the default model's tokenizer lower-cases,
strips accents and cuts around punctuation, so `Refund my order!` and `refund my order !` are one
input. Under two labels they were kept as two rows, the model taught one input with two labels;
use-data and retrain-import took them. Now prepare's rule for one text under two labels (every copy
dropped, counted) holds for texts that differ only so, and use-data and retrain-import refuse such a
pair naming both rows."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.code.test_use_data import USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)
from textclf.config import DataParams, ModelParams
from textclf.pipeline import prepare
from textclf.pipeline.modeling import token_counter

ROWS = [(f"note {i} on {label}", label) for label in ("billing", "returns") for i in range(10)]


def csv_text(rows: list[tuple[str, str]]) -> str:
    return "text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows)


@pytest.fixture(scope="module")
def default_tokenizer():
    return token_counter(ModelParams().name)


def separate(word: str) -> bool:
    """A word the tokenizer always makes of one character: punctuation or a CJK ideograph."""
    return len(word) == 1 and (
        unicodedata.category(word)[0] == "P"
        or (32 < ord(word) < 127 and not word.isalnum())
        or any(low <= ord(word) <= high for low, high in prepare._CJK_RANGES)
    )


def words(tokenizer, text: str) -> str:
    """The words the tokenizer reads (normalised, then pre-tokenized), in the key's form: one space
    between two words, none beside punctuation or an ideograph."""
    normalised = tokenizer.normalizer.normalize_str(text)
    found = [word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalised)]
    return "".join(
        ("" if index == 0 or separate(word) or separate(found[index - 1]) else " ") + word
        for index, word in enumerate(found)
    )


# Characters up to the CJK ideographs whose Unicode category has not changed since Unicode 3.2: the
# tokenizer's tables are of an older Unicode than Python's (a mark added in Unicode 10 is a letter to it).
ALPHABET = st.characters(max_codepoint=0x9FFF).filter(
    lambda c: (
        unicodedata.category(c) not in ("Cn", "Cs")
        and unicodedata.ucd_3_2_0.category(c) == unicodedata.category(c)
    )
)


@settings(max_examples=400, deadline=None)
@given(text=st.text(ALPHABET, max_size=30) | st.text(st.characters(max_codepoint=127), max_size=30))
def test_the_key_is_what_the_default_models_tokenizer_reads(default_tokenizer, text: str) -> None:
    assert prepare.model_key(text) == words(default_tokenizer, text)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Refund my order!", "refund my order !"),
        ("REFUND MY ORDER", "refund my order"),
        ("Café crème, please", "cafe creme,please"),
        ("Ｆｕｌｌ ｗｉｄｔｈ", "Ｆｕｌｌ ｗｉｄｔｈ".lower()),
    ],
)
def test_texts_that_differ_only_so_share_a_key(one: str, other: str) -> None:
    assert prepare.model_key(one) == prepare.model_key(other)
    assert prepare.model_key("refund my order") != prepare.model_key("refund my orders")


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "data/raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_prepare_drops_both_copies_of_a_text_read_alike_under_two_labels(project: Path) -> None:
    rows = [*ROWS, ("Refund my order!", "billing"), ("refund my order !", "returns")]
    (project / "data/raw/a.csv").write_text(csv_text(rows), encoding="utf-8")

    summary = prepare.run(DataParams(labels=None))

    assert summary["dropped"]["conflicting_labels"] == 1 and summary["rows"]["raw"] == 22
    prepared = "".join((project / f"data/prepared/{name}.jsonl").read_text() for name in prepare.SPLITS)
    assert "efund my order" not in prepared


def test_prepare_keeps_one_copy_of_a_text_read_alike_under_one_label(project: Path) -> None:
    """Two copies would be one input counted twice, and could sit in train and test at once."""
    rows = [*ROWS, ("Refund my order!", "billing"), ("REFUND MY ORDER !", "billing")]
    (project / "data/raw/a.csv").write_text(csv_text(rows), encoding="utf-8")

    summary = prepare.run(DataParams(labels=None))

    assert summary["dropped"]["duplicate"] == 1 and summary["dropped"]["conflicting_labels"] == 0
    lines = [
        json.loads(line)
        for name in prepare.SPLITS
        for line in (project / f"data/prepared/{name}.jsonl").read_text().splitlines()
    ]
    assert [row["text"] for row in lines if "efund" in row["text"].lower()] == ["Refund my order!"]


def test_use_data_refuses_texts_read_alike_under_two_labels_naming_both_rows(project: Path) -> None:
    rows = [*ROWS, ("Refund my order!", "billing"), ("refund my order !", "returns")]
    (project / "data/raw/mine.csv").write_text(csv_text(rows), encoding="utf-8")

    with pytest.raises(prepare.DataError) as refused:
        prepare.classes_kept(Path("data/raw"), DataParams(labels=None))

    assert str(refused.value) == (
        "data/raw/mine.csv: row 22 (line 23): its text is the text of data/raw/mine.csv: row 21 (line 22) "
        "once letter case, accents and spaces around punctuation are set aside (the model reads them as one "
        "text) with another label ('returns', there 'billing'); prepare would drop both rows: give both rows "
        "one label, or remove one of them"
    )


def test_use_data_still_drops_equal_texts_under_two_labels_as_prepare_does(project: Path) -> None:
    rows = [*ROWS, ("refund my order", "billing"), ("refund my order", "returns")]
    (project / "data/raw/mine.csv").write_text(csv_text(rows), encoding="utf-8")

    counts, note = prepare.classes_kept(Path("data/raw"), DataParams(labels=None))

    assert (
        counts == Counter(billing=10, returns=10) and "2 rows whose text is given more than one label" in note
    )


def test_the_command_names_the_file_and_rows_and_changes_nothing(clone) -> None:  # noqa: F811 (the fixture)
    rows = [
        {"body": f"message {i} about {kind}", "kind": kind} for kind in ("spam", "ham") for i in range(10)
    ]
    rows += [{"body": "WIN A PRIZE NOW", "kind": "spam"}, {"body": "win a prize now", "kind": "ham"}]
    (clone.parent / "mine/spam.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = snapshot(clone)

    done = textclf(clone, *USE)

    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = " ".join(done.stderr.replace("[textclf]", "").split())  # folded at 100 columns
    assert (
        "../mine/spam.jsonl: row 22 (line 22): its text is the text of ../mine/spam.jsonl: row 21 (line 21) "
        "once letter case" in said
    ), said
    assert snapshot(clone) == before


def test_retrain_import_refuses_a_new_row_read_alike_with_an_existing_one(project: Path) -> None:
    (project / "data/raw/old.csv").write_text(csv_text([*ROWS, ("Refund my order!", "billing")]))
    (project / "new").mkdir()
    (project / "new/new.csv").write_text(csv_text([("refund my order !", "returns")]))

    with pytest.raises(prepare.DataError, match=r"^new/new.csv: row 1 \(line 2\): its text is the text of "):
        prepare.check_joined([Path("data/raw/old.csv")], [Path("new/new.csv")], DataParams(labels=None))


def test_retrain_import_refuses_two_new_rows_read_alike_under_two_labels(project: Path) -> None:
    (project / "data/raw/old.csv").write_text(csv_text(ROWS))
    (project / "new").mkdir()
    (project / "new/new.csv").write_text(
        csv_text([("Refund my order!", "billing"), ("REFUND my order!", "returns")])
    )

    with pytest.raises(
        prepare.DataError, match=r"new/new.csv: row 2 \(line 3\): its text is the text of new/new"
    ):
        prepare.check_joined([Path("data/raw/old.csv")], [Path("new/new.csv")], DataParams(labels=None))
