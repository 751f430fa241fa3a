"""A GET that announces a body (issue 27's fresh round): the server answers /ping without reading
the body, and the body's bytes were then parsed as the next request on the connection, which got an
answer of its own (a request hidden where a proxy sees only a GET's body, RFC 9112 section 6.3).
Now the connection closes after the answer, so nothing behind the GET is ever taken for a request."""

from __future__ import annotations

import pytest
from test_serve_framing import exchange, statuses
from test_serve_framing import quick_server as quick_server  # the fixture, re-exported

HIDDEN = b"GET /hidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: " + str(len(HIDDEN)).encode(),
        b"Content-Length: 0",
        b"Transfer-Encoding: chunked",
    ],
    ids=["content-length", "zero-length", "chunked"],
)
def test_nothing_behind_a_get_with_a_body_is_answered_as_a_request(quick_server, framing):
    request = b"GET /ping HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\n" + HIDDEN
    answer = exchange(quick_server(), request)
    assert statuses(answer) == [200], answer
    assert b"/hidden" not in answer and b"Connection: close" in answer and b"<quiet>" not in answer


def test_a_get_without_a_body_keeps_the_connection(quick_server):
    plain = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = exchange(quick_server(), plain + plain.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert statuses(answer) == [200, 200], answer


NOT_A_FIELD = b"a header line that is not `name: value`"


@pytest.mark.parametrize(
    "head",
    [
        # Python's parser drops every field from the bad line on: the GET looked bodiless and the
        # body behind it was answered as a request of its own.
        b"GET /ping HTTP/1.1\r\nBad Name: x\r\nContent-Length: " + str(len(HIDDEN)).encode() + b"\r\n\r\n",
        b"GET /ping HTTP/1.1\r\nContent-Length : " + str(len(HIDDEN)).encode() + b"\r\n\r\n",
        b"GET /ping HTTP/1.1\r\n Content-Length: " + str(len(HIDDEN)).encode() + b"\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length\t: " + str(len(HIDDEN)).encode() + b"\r\n\r\n",
    ],
    ids=["space-in-a-name", "space-before-the-colon", "leading-whitespace", "tab-before-the-colon"],
)
def test_a_header_line_that_is_not_name_colon_value_is_a_400_and_closes(quick_server, head):
    """RFC 9112 section 5.1: whitespace between a field name and the colon MUST be answered 400."""
    answer = exchange(quick_server(), head + HIDDEN)
    assert statuses(answer) == [400], answer
    assert NOT_A_FIELD in answer and b"/hidden" not in answer and b"<quiet>" not in answer
