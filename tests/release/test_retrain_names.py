"""Retrain keys that look like another name (issue 27, round 6, U5): an invisible character
(format characters such as U+FEFF, the line and paragraph separators) or the same name in another
Unicode form (NFC/NFD twins) were imported as distinct files that look the same."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textclf.release import retrain

NAME = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=8)
INVISIBLE = st.characters(categories=("Cf", "Zl", "Zp")).filter(lambda c: c not in retrain.BIDI_CONTROLS)


@given(before=NAME, char=INVISIBLE, after=NAME)
def test_any_invisible_character_is_named(before: str, char: str, after: str) -> None:
    key = f"incoming/{before}{char}{after}.csv"
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.relative_path(key)
    assert f"an invisible character (U+{ord(char):04X}" in str(refused.value), refused.value
    assert repr(key) in str(refused.value)


@given(name=NAME)
def test_two_forms_of_one_name_are_refused_and_one_form_is_not(name: str) -> None:
    composed, decomposed = (unicodedata.normalize(form, f"incoming/{name}.csv") for form in ("NFC", "NFD"))
    retrain.refuse_twins([composed, f"incoming/other/{name}.csv"])
    if composed != decomposed:
        with pytest.raises(retrain.RetrainError, match="equal in NFC form"):
            retrain.refuse_twins([composed, decomposed])


@pytest.mark.parametrize(
    ("first", "second"), [("A.csv", "a.csv"), ("x/Data.CSV", "X/data.csv"), ("straße.csv", "STRASSE.csv")]
)
def test_names_that_differ_only_in_case_are_refused(first: str, second: str) -> None:
    """Round 8, U-r3: one file on a case-insensitive checkout."""
    with pytest.raises(retrain.RetrainError, match="differ only in case"):
        retrain.refuse_twins([f"incoming/{first}", f"incoming/{second}"])
