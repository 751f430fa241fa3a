"""A text that shows nothing is an empty text at the API proxy as at the server (R13B-9): the proxy
refused only what `str.strip()` removes, so a text of U+200B, U+200D, U+2060, a soft hyphen, a
bidirectional mark, a tag character or combining marks alone was sent to the endpoint and classified.
The proxy ships alone (no textclf.text): its rule must be normalise's, on every code point."""

from __future__ import annotations

import pytest
from tests.batch.test_api_proxy import event

from textclf.frontdoor import proxy
from textclf.text import normalise


@pytest.mark.parametrize(
    "text",
    [
        "\u200b",
        "\u200d",
        "\u2060",
        "\u00ad",
        "\u200e",
        "\u061c",
        "\U000e0001",
        "\u0301\u0302",
        "\u3164",
        " \u200d ",
    ],
)
def test_a_text_that_shows_nothing_is_a_400_naming_it(text):
    with pytest.raises(proxy.Refused) as refused:
        proxy.parse(event({"inputs": ["a message", text]}))
    assert refused.value.status == 400
    assert str(refused.value) == (
        "inputs[1] shows nothing (only spaces, control, format or combining characters): send the text itself"
    )


@pytest.mark.parametrize("text", ["a", "\u00e9", "e\u0301", "\U0001f600", "\u200dx", "\u4e2d"])
def test_a_text_with_something_visible_is_sent_on(text):
    assert proxy.parse(event({"inputs": text})) == [text]


def test_the_proxys_rule_is_normalises_on_every_code_point():
    """What the server, prepare and batch-predict take as empty (textclf.text.normalise)."""
    disagree = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF and proxy._shows(chr(code)) != bool(normalise(chr(code)))
    ]
    assert disagree == []
