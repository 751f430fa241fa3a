"""Whitespace around and inside a Content-Length value (issue 27 point 4), decided by the RFCs:
RFC 9112 section 5 frames a field line as `field-name ":" OWS field-value OWS` with OWS =
*( SP / HTAB ) (RFC 9110 section 5.6.3), and RFC 9110 section 5.5: "A field value does not include
leading or trailing whitespace. When a specific version of HTTP allows such whitespace to appear in
a message, a field parsing implementation MUST exclude such whitespace prior to evaluating the
field value." So spaces and tabs around the digits are not part of the value and are accepted; any
other whitespace Python's int() would skip (VT, FF, the separators 0x1C-0x1F, NEL, NBSP) or a bare
CR is part of the value, which is then not 1*DIGIT (RFC 9110 section 8.6): 400, connection closed,
the request hidden behind the body unanswered (RFC 9112 section 6.3)."""

from __future__ import annotations

import pytest
from test_serve_framing import BODY, PING, exchange, statuses
from test_serve_framing import quick_server as quick_server  # the fixture, re-exported

CLOSE_PING = PING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")


def request(raw_value: bytes) -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length:" + raw_value + b"\r\n\r\n" + BODY + CLOSE_PING
    )


N = str(len(BODY)).encode()


@pytest.mark.parametrize(
    "raw_value",
    [N, b" " + N, b" " + N + b" ", b"\t" + N + b"\t", b"   " + N + b" \t ", b" \t" + N],
    ids=["bare", "space-before", "spaces-around", "tabs-around", "mixed", "space-tab-before"],
)
def test_spaces_and_tabs_around_the_digits_are_not_part_of_the_value(quick_server, raw_value):
    """OWS is excluded before the value is evaluated (a MUST): the request and the next one are
    each answered."""
    answer = exchange(quick_server(), request(raw_value))
    assert statuses(answer) == [200, 200], answer


@pytest.mark.parametrize(
    "inner",
    [b"\x0b", b"\x0c", b"\x1c", b"\x1f", b"\x85", b"\xa0"],
    ids=["VT", "FF", "FS", "US", "NEL", "NBSP"],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_other_whitespace_around_the_digits_is_part_of_the_value_and_refused(quick_server, inner, where):
    """Python's int() skips each of these (" \\x1c16".strip() is "16"): a parser built on it would
    read a length where RFC 9110 sees none."""
    value = b" " + (inner + N if where == "before" else N + inner)
    answer = exchange(quick_server(), request(value))
    assert statuses(answer) == [400], answer
    assert b"is not a number of bytes (digits only)" in answer


BARE_CR = b"a bare CR or a NUL in the request line or a header line (RFC 9112 section 2.2)"


@pytest.mark.parametrize(
    "head",
    [
        # Python's parser ends the header section at the bare CR and drops Transfer-Encoding; a proxy
        # that replaces the CR with SP (as RFC 9112 allows) sees both fields: two framings.
        b"POST /invocations HTTP/1.1\r\nContent-Length: " + N + b"\r\r\nTransfer-Encoding: chunked\r\n\r\n",
        # One line to a proxy, two fields (one a Content-Length) to Python.
        b"POST /invocations HTTP/1.1\r\nX-Note: a\rContent-Length: " + N + b"\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: " + N + b"\r\nX-Note: a\x00b\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: \x00" + N + b"\r\n\r\n",
        b"POST /invocations\rHTTP/1.1\r\nContent-Length: " + N + b"\r\n\r\n",
    ],
    ids=["CR-then-TE", "CR-inside-a-field", "NUL-in-a-field", "NUL-in-the-length", "CR-in-the-request-line"],
)
def test_a_bare_cr_or_a_nul_in_the_head_is_a_400_and_closes(quick_server, head):
    """RFC 9112 section 2.2: a bare CR makes the element invalid (or is replaced by SP); Python's
    parser instead ends the line there. Refusing is the one reading every party agrees on."""
    answer = exchange(quick_server(), head + BODY + CLOSE_PING)
    codes = statuses(answer)
    assert codes and codes[0] == 400 and len(codes) == 1, answer
    assert b"<quiet>" not in answer
    if codes == [400] and b"HTTP/1.1 400" in answer and b"Bad request version" not in answer:
        assert BARE_CR in answer or b"Bad request syntax" in answer, answer


@pytest.mark.parametrize("value", [b" 1 6", b" 1\t6"], ids=["space-inside", "tab-inside"])
def test_whitespace_inside_the_value_is_refused(quick_server, value):
    answer = exchange(quick_server(), request(value))
    assert statuses(answer) == [400], answer
    assert b"is not a number of bytes (digits only)" in answer
