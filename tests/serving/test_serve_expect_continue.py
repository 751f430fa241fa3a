"""`Expect: 100-continue` (R14B-22). RFC 9110 section 10.1.1: an origin server that receives it
"MUST either send an immediate response with a final status code, if that status can be determined
by examining just the method, target URI, and header fields, or send an immediate 100 (Continue)
response". The server wrote its 100 into the 64 KiB write buffer, so it left only with the final
answer: a client waiting for it waited until the body deadline (curl: 1 s on every body over 1 MiB);
and a request the head already refused got a 100 first, inviting a body that was never read."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from test_serve_framing import exchange
from test_serve_framing import quick_server as quick_server  # the fixture, re-exported

BODY = b'{"inputs": "Where is my parcel?"}'


def head(*fields: bytes, length: int = len(BODY), target: bytes = b"/invocations") -> bytes:
    return (
        b"POST "
        + target
        + b" HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        + b"".join(fields)
        + b"Content-Length: %d\r\n\r\n" % length
    )


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=3)
    return connection


def test_the_100_is_sent_at_once_and_the_body_then_answered(quick_server):
    with connect(quick_server()) as connection:
        connection.sendall(head(b"Content-Type: application/json\r\n", b"Connection: close\r\n"))
        first = connection.recv(65536)  # before any byte of the body: a timeout here fails the test
        assert first == b"HTTP/1.1 100 Continue\r\n\r\n", first
        connection.sendall(BODY)
        answer = connection.makefile("rb").read()  # to the end: Connection: close
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (head(b"Content-Type: application/json\r\n", length=99_999_999), b"413"),
        (head(b"Content-Type: text/plain\r\n"), b"415"),
        (head(b"Content-Type: application/json; charset=latin-1\r\n"), b"415"),
        (head(b"Content-Type: application/json\r\n", b"Content-Type: text/csv\r\n"), b"400"),
        (head(b"Content-Type: application/json\r\n", b"Accept: text/html\r\n"), b"406"),
        (head(b"Content-Type: application/json\r\n", b"Content-Encoding: gzip\r\n"), b"415"),
        (head(b"Content-Type: application/json\r\n", target=b"/nowhere"), b"404"),
        (head(b"Content-Type: application/json\r\n", b"Host: y\r\n"), b"400"),
    ],
)
def test_a_request_the_head_refuses_gets_its_final_status_without_a_100(quick_server, request_head, status):
    answer = exchange(quick_server(), request_head)  # answered and closed: the body is never sent
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert b"100 Continue" not in answer and b"<quiet>" not in answer, answer[:200]


def test_without_expect_a_refused_body_is_read_first_and_the_connection_kept(quick_server):
    """The body a client sent without waiting is read before the 415 (closing a connection with its
    bytes unread resets it, and the client may lose the answer); the next request is then served."""
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
    )
    answer = exchange(quick_server(), request + b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 415 ") and b"HTTP/1.1 200 OK" in answer, answer[:300]
