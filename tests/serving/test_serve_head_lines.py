"""The lines before and in a request's head, read as RFC 9112 frames them: empty lines before the
request line are ignored (section 2.2), a bare CR ending the request line gets the bare-CR message
(section 2.2), and header lines are checked as received, not through the email parser's reading of
the Content-Type (a multipart or message type is a 415 naming the types served, not a malformed
header)."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urlsplit

import pytest
from test_serve_framing import BODY, exchange, statuses
from test_serve_framing import quick_server as quick_server  # the fixture, re-exported

PING = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
MALFORMED_LINE = b"a header line that is not `name: value`"
BARE_CR = b"a bare CR or a NUL in the request line or a header line (RFC 9112 section 2.2)"


def error_of(answer: bytes) -> str:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]


def post(content_type: bytes) -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY
    )


@pytest.mark.parametrize(
    "content_type",
    [b"multipart/form-data; boundary=x", b"multipart/mixed", b"message/rfc822", b"message/partial"],
)
def test_a_multipart_or_message_content_type_is_a_415_naming_the_types_served(quick_server, content_type):
    """The email parser Python reads headers with reports a multipart type without a body as
    defects and gives a message type a payload: both were answered as a malformed header line."""
    answer = exchange(quick_server(), post(content_type))
    assert statuses(answer) == [415], answer
    message = error_of(answer)
    assert content_type.split(b";")[0].decode() in message
    assert "use application/json, text/csv or application/jsonlines" in message


def test_a_multipart_content_type_on_a_ping_is_answered(quick_server):
    ping = PING.replace(b"Host: x\r\n", b"Host: x\r\nContent-Type: multipart/form-data; boundary=x\r\n")
    assert statuses(exchange(quick_server(), ping)) == [200]


@pytest.mark.parametrize(
    "line",
    [
        b"Content-Length : 5",  # whitespace before the colon (RFC 9112 section 5.1: a MUST 400)
        b"Bad Name: x",
        b"X(a): b",  # ( is not a token character
        b"From x",  # no colon: the email parser dropped it as an envelope line
        b"X-A: a\r\n b",  # obs-fold: the CRLF stayed inside the value (section 5.2: reject or replace)
    ],
    ids=["space-before-colon", "space-in-name", "paren-in-name", "no-colon", "obs-fold"],
)
@pytest.mark.parametrize("content_type", [b"application/json", b"multipart/form-data; boundary=x"])
def test_a_header_line_that_is_not_name_colon_value_is_a_400(quick_server, line, content_type):
    head = b"GET /ping HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type + b"\r\n" + line + b"\r\n\r\n"
    answer = exchange(quick_server(), head)
    assert statuses(answer) == [400], answer
    assert MALFORMED_LINE in answer


@pytest.mark.parametrize("empty", [b"\r\n", b"\n", b"\r\n\n\r\n"], ids=["CRLF", "LF", "three"])
def test_empty_lines_before_the_request_line_are_ignored(quick_server, empty):
    """RFC 9112 section 2.2: a server SHOULD ignore at least one empty line before the request
    line; the connection was closed without an answer."""
    answer = exchange(quick_server(), empty + PING)
    assert statuses(answer) == [200], answer


def test_an_empty_line_after_a_body_on_a_kept_alive_connection_is_ignored(quick_server):
    """The case the rule is for: a client that sends CRLF after a POST body."""
    post_then_crlf = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY + b"\r\n"
    )
    assert statuses(exchange(quick_server(), post_then_crlf + PING)) == [200, 200]


@pytest.mark.parametrize("before", [b"\r\n" * 9, b"   \r\n", b"\t\r\n"], ids=["nine-empty", "spaces", "tab"])
def test_a_blank_line_instead_of_a_request_line_is_a_400_saying_what_to_send(quick_server, before):
    """A line of whitespace (or more empty lines than are ignored) was closed unanswered."""
    answer = exchange(quick_server(), before + PING)
    assert statuses(answer) == [400], answer
    assert "no request line" in error_of(answer) and "GET /ping HTTP/1.1" in error_of(answer)


def test_only_an_empty_line_then_the_end_is_no_request(quick_server):
    parts = urlsplit(quick_server())
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as raw:
        raw.sendall(b"\r\n")
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(1024) == b""  # closed, nothing to answer


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /ping HTTP/1.1\rHost: x\r\nConnection: close\r\n\r\n",
        b"GET /ping HTTP/1.1\r\rHost: x\r\n\r\n",
        b"GET /ping HTTP/1.1\0\r\nHost: x\r\n\r\n",
        b"GET /pi\rng HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["CR-ends-the-line", "CR-CR", "NUL-after-version", "CR-in-target"],
)
def test_a_bare_cr_or_nul_in_the_request_line_gets_the_bare_cr_message(quick_server, request_line):
    """`GET /ping HTTP/1.1<CR>Host: x` was one line whose last word the standard library took for
    the version: "Bad request version ('x')"."""
    answer = exchange(quick_server(), request_line)
    assert statuses(answer) == [400], answer
    assert BARE_CR in answer
    assert not re.search(rb"Bad request version", answer)
