"""The drift issue names the value it refuses: NaN, Infinity and lone surrogates included, and also
when fields are missing besides (issue 27, round 4: such payloads were refused as "missing fields"
without naming the value, and a bad reason or a payload that is not UTF-8 without saying where)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.monitoring.test_drift_issue import GOOD
from tests.monitoring.test_drift_issue_inputs import run
from textclf.monitoring import issue


def refusal(raw: str) -> str:
    with pytest.raises(issue.PayloadError) as raised:
        issue.parse(raw)
    return str(raised.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_are_named(constant):
    # Python's json module reads them; RFC 8259 section 6 has no such numbers and GitHub never sends them.
    message = refusal(json.dumps(GOOD)[:-1] + f', "alarm2": {constant}}}')
    assert constant in message and "RFC 8259" in message, message
    message = refusal(f'{{"alarm": {constant}}}')
    assert constant in message and "missing fields" not in message, message


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"alarm": "\ud800"}, r"client_payload.alarm: '\ud800' is not a valid alarm"),
        ({"endpoint": "bad endpoint!"}, "client_payload.endpoint: 'bad endpoint!' is not a valid endpoint"),
        ({"reason": "x\ud800"}, r"'\ud800' (U+D800) at character 2"),
    ],
)
def test_a_bad_value_is_named_even_with_fields_missing(payload, named):
    message = refusal(json.dumps(payload))
    assert named in message, message
    assert "missing fields" in message, message  # both problems, in one message


@pytest.mark.parametrize(
    ("reason", "named"),
    [
        ("line one\nline two", r"'\n' (U+000A) at character 9"),
        ("ok\ud800", r"'\ud800' (U+D800) at character 3"),
        ("café", r"'é' (U+00E9) at character 4"),
        (None, "got None, not a string"),
        (5, "got 5, not a string"),
        ("", "got an empty string"),
        ("r" * 1025, "got 1025 characters"),
    ],
)
def test_a_bad_reason_says_what_and_where(reason, named):
    message = refusal(json.dumps({**GOOD, "reason": reason}))
    assert message.startswith("client_payload.reason: expected 1 to 1024 printable ASCII characters")
    assert named in message, message


def test_bytes_that_are_not_utf8_name_their_place():
    # The workflow's environment variable holding bytes that are not UTF-8: Python decodes them as
    # lone surrogates (surrogateescape), which the size check cannot encode.
    raw = json.dumps(GOOD)[:10] + "\udcff" + json.dumps(GOOD)[10:]
    message = refusal(raw)
    assert message.startswith("client_payload: not UTF-8 text"), message
    assert "character 11" in message, message


def test_the_program_names_the_value_without_a_traceback():
    done = run(b'{"alarm": NaN}')
    assert done.returncode == 2, done.stderr
    assert b"NaN" in done.stderr and b"Traceback" not in done.stderr, done.stderr


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(kept=st.sets(st.sampled_from(sorted(GOOD))), field=st.sampled_from(sorted(GOOD)), value=VALUES)
def test_every_bad_value_and_every_missing_field_is_named(kept, field, value):
    payload = {name: GOOD[name] for name in kept} | {field: value}
    try:
        json.dumps(payload, allow_nan=False)
    except ValueError:  # NaN or Infinity somewhere: not JSON, refused as such before anything is read
        with pytest.raises(issue.PayloadError, match=r"is not a JSON value \(RFC 8259"):
            issue.parse(json.dumps(payload))
        return
    try:
        issue.parse(json.dumps(payload))
    except issue.PayloadError as error:
        message = str(error)
    else:
        assert set(payload) == set(GOOD)  # accepted: complete, and the value was a good one
        return
    missing = sorted(set(GOOD) - set(payload))
    assert (f"missing fields {missing}" in message) == bool(missing), message
    if issue._problem(field, value):
        assert f"client_payload.{field}: " in message, message
