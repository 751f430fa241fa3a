"""A number params.yaml writes in a form YAML readers disagree on is refused naming its line and its
key (issue 27, round 8, U-p2: `epochs: 1:30` loaded as 90, `epochs: 010` as 8, and `epochs: !!int 2.5`
was "a number too long to read (invalid literal for int() with base 10)"; round 11: a date that is no
date was "a number too long to read (month must be in 1..12)")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textclf.config import ParamsError, read_params_bytes


def refused(text: str) -> str:
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    return str(error.value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1:30", "is read by YAML as a number in base 60 (1:30 is 90)"),
        ("010", "is read by YAML as a number in octal (010 is 8)"),
        ("0b11", "is read by YAML as a number in binary (0b11 is 3)"),
        ("0x10", "is read by YAML as a number in hexadecimal (0x10 is 16)"),
        ("-0x1_0", "is read by YAML as a number in hexadecimal"),
        # params.yaml takes no tags (round 11, F-u): a tagged number is refused for its tag.
        ("!!int 2.5", "a YAML tag (!!int) changes what the value means"),
        ("!!int 010", "a YAML tag (!!int) changes what the value means"),
        ("!!float abc", "a YAML tag (!!float) changes what the value means"),
        # YAML reads these as dates; before, "a number too long to read (month must be in 1..12)".
        ("2026-13-45", "'2026-13-45' has the form YAML reads as a date but is no date"),
        ("2026-12-07 25:00:00", "has the form YAML reads as a date but is no date"),
    ],
)
def test_the_line_and_the_key_are_named(value: str, why: str) -> None:
    message = refused(f"# params\ntrain:\n  seed: 1\n  epochs: {value}\n")
    assert message.startswith("params.yaml: line 4: train.epochs: "), message
    assert why in message, message


def test_keys_in_lists_and_merges_are_named() -> None:
    assert refused("data:\n  labels: [a, 010]\n").startswith("params.yaml: line 2: data.labels[1]: '010'")
    text = "base: &b {seed: 010}\ntrain:\n  <<: *b\n"
    assert refused(text).startswith("params.yaml: line 1: base.seed: '010'")


def test_an_integer_too_long_for_python_keeps_its_message() -> None:
    assert refused("train:\n  seed: " + "9" * 5000 + "\n").startswith(
        "params.yaml: a number too long to read"
    )


@given(st.integers(min_value=0, max_value=10**6))
def test_plain_whole_numbers_load(number: int) -> None:
    assert read_params_bytes(f"train:\n  epochs: {number}\n".encode(), "p") == {"train": {"epochs": number}}
