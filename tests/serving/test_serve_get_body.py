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
