"""`textclf serve --port` (or TEXTCLF_PORT, SAGEMAKER_BIND_TO_PORT): ASCII digits 0-65535 only.
int() reads any script's digits, so --port ８０ (full-width) listened on port 80 without a word."""

from __future__ import annotations

import argparse
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf import cli
from textclf.serving.server import port_number

# Every decimal digit Unicode knows outside ASCII: int() reads each as its value.
DIGITS = [chr(c) for c in range(0x80, 0x110000) if unicodedata.category(chr(c)) == "Nd"]


@pytest.mark.parametrize("port", ["８０", "８０８０", "٨٠", "𝟖𝟎", "8０", "8_080", "+80", "80.0", ""])
def test_serve_refuses_a_port_that_is_not_ascii_digits(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["serve", "--port", port])
    assert exit_.value.code == 2
    assert "is not a port number 0-65535 (from --port, TEXTCLF_PORT or SAGEMAKER_BIND_TO_PORT)" in (
        capsys.readouterr().err
    )


@settings(max_examples=300, deadline=None)
@given(port=st.integers(0, 65535), at=st.integers(0, 4), digit=st.sampled_from(DIGITS))
def test_any_non_ascii_digit_in_a_port_is_refused(port, at, digit):
    text = str(port)
    at = min(at, len(text))
    with pytest.raises(argparse.ArgumentTypeError, match="is not a port number"):
        port_number(text[:at] + digit + text[at + 1 :])


@settings(max_examples=100, deadline=None)
@given(port=st.integers(0, 65535))
def test_every_port_in_ascii_digits_is_taken(port):
    assert port_number(str(port)) == port
