"""A text with nothing visible in it is empty (R13B-9): normalise dropped the zero-width space and the
BOM but kept the other characters that show as nothing, so a text of only U+200D (or a word joiner, a
soft hyphen, a bidirectional mark, a tag character, a lone combining mark) was a training row prepare
kept and an input the server classified, where the empty-text rules (data.empty_text, the server's and
batch-predict's 400) are there for exactly such texts. Texts with something visible keep them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.data.test_prepare_hostile import LABELS, data, project  # noqa: F401 (project: the fixture)
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError
from textclf.text import normalise

NOTHING_VISIBLE = [
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\u200e\u200f",  # left-to-right and right-to-left marks
    "\u061c",  # Arabic letter mark
    "\U000e0001\U000e0041",  # tag characters
    "\u0301",  # a combining acute accent with no letter
    "\u20dd",  # a combining enclosing circle
    "\u3164",  # Hangul filler
    "\u2800",  # blank braille pattern
    "\ufe0f",  # variation selector
    " \u200d\t\u2060 \u0301 ",
]


@pytest.mark.parametrize("text", NOTHING_VISIBLE, ids=lambda t: "+".join(f"U+{ord(c):04X}" for c in t))
def test_a_text_with_nothing_visible_normalises_to_empty(text: str) -> None:
    assert normalise(text) == ""


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji sequence joined by U+200D
        "e\u0301",  # é decomposed: NFC composes it
        "co\u00adoperate",
        "\u05e9\u05dc\u05d5\u05dd\u200e!",
        "\ue000",  # a private-use character shows (as a box at least)
    ],
)
def test_a_text_with_something_visible_keeps_its_invisible_characters(text: str) -> None:
    import unicodedata

    assert normalise(text) == unicodedata.normalize("NFC", text)


@given(st.text(alphabet=st.sampled_from(["\u200d", "\u2060", "\u00ad", "\u0301", " ", "\u200b", "a"])))
def test_empty_exactly_when_no_character_shows(text: str) -> None:
    assert (normalise(text) == "") == ("a" not in text)


def rows_with(text: str) -> str:
    good = "".join(f"note {i} on {label},{label}\n" for label in LABELS for i in range(20))
    return f"text,label\n{good}{text},billing\n"


def test_prepare_refuses_a_row_with_nothing_visible_under_empty_text_error(project) -> None:  # noqa: F811
    (project / "data/raw/a.csv").write_text(rows_with("\u200d\u2060"), encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.csv: row 61 \(line 62\): column 'text' is empty"):
        prepare.run(data())


def test_prepare_drops_a_row_with_nothing_visible_under_empty_text_drop(project) -> None:  # noqa: F811
    (project / "data/raw/a.csv").write_text(rows_with("\u00ad"), encoding="utf-8")
    summary = prepare.run(data(empty_text="drop"))
    assert summary["dropped"]["empty_text"] == 1
    assert summary["rows"]["raw"] == 61
