"""The server's 400 for a text that shows nothing (R13B-9): a text of only U+200D, U+2060, a soft
hyphen, a bidirectional mark, a tag character or combining marks was classified (200) while the 400
for empty texts said "only whitespace, control or zero-width characters"; the message now says what
the rule is (textclf.text.normalise: nothing visible is left)."""

from __future__ import annotations

import pytest

from textclf.serving import server

LIMITS = server.Limits(max_batch_size=8, max_text_chars=300, long_text="truncate")


@pytest.mark.parametrize(
    "text", ["\u200d", "\u2060", "\u00ad", "\u200e", "\u061c", "\U000e0001", "\u0301", "\u200b\ufeff", " \t"]
)
def test_a_text_that_shows_nothing_is_a_400_saying_so(text):
    with pytest.raises(server.RequestError) as refused:
        server.check_texts(["a message", text], LIMITS)
    assert refused.value.status == 400
    assert str(refused.value) == (
        "text 1 is empty once normalised: it shows nothing (only whitespace, control, format or combining "
        "characters)"
    )


@pytest.mark.parametrize("text", ["a", "e\u0301", "\u200dx", "\U0001f600"])
def test_a_text_with_something_visible_is_classified(text):
    assert server.check_texts([text], LIMITS)[0] == [text]


@pytest.mark.parametrize(
    "text", [" " * 300 + "hello", "\u200b" * 299 + "\n" + "where is my parcel", "\u0301" * 400 + "x"]
)
def test_a_long_text_whose_kept_part_shows_nothing_is_a_400_naming_the_limit(text):
    """R14C-5: the empty-text rule judged the text as received, and the model got its first
    max_text_chars characters: 300 spaces and then a message passed the rule and the model
    classified an empty text (200, a label for nothing)."""
    with pytest.raises(server.RequestError) as refused:
        server.check_texts(["a message", text], LIMITS)
    assert refused.value.status == 400
    assert str(refused.value) == (
        "text 1 is empty once cut to its first 300 characters (deploy.serve.max_text_chars) and normalised: "
        "they show nothing (only whitespace, control, format or combining characters); send the "
        "message without the leading blank characters"
    )


def test_a_long_text_whose_kept_part_shows_something_is_cut_and_classified():
    kept, truncated = server.check_texts([" " * 200 + "a" * 200], LIMITS)
    assert kept == [" " * 200 + "a" * 100] and truncated == [True]
