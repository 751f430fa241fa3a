"""Three server messages a client can act on (R13B-8): a body starting with a byte order mark was
"malformed JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)", Python's advice to a programmer (and a
CSV body's BOM was dropped: the three types disagreed); `--host ::1` was "unknown host (Address family
for hostname not supported)" for a valid address the IPv4 server does not serve; non-ASCII bytes in
Host or the path were echoed as mojibake (`bÃ¼cher`: http.server reads them as latin-1)."""

from __future__ import annotations

import json

import pytest
from test_serve_framing import exchange
from test_serve_framing import quick_server as quick_server  # the fixture, re-exported

from textclf.serving import server

BOM = "\ufeff".encode()


def error_of(answer: bytes) -> str:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"inputs": "hi"}'),
        ("application/jsonlines", b'"hi"\n'),
        ("text/csv", b"hi\n"),
    ],
)
def test_a_body_with_a_byte_order_mark_is_one_rule_for_every_type(content_type, body):
    with pytest.raises(server.RequestError) as refused:
        server.parse_texts(BOM + body, content_type)
    assert refused.value.status == 400
    assert str(refused.value) == "the body starts with a byte order mark (U+FEFF): send UTF-8 without it"


def test_a_json_line_with_a_byte_order_mark_names_the_line():
    with pytest.raises(server.RequestError, match=r"^JSON line 2 starts with a byte order mark \(U\+FEFF\)"):
        server.parse_texts(b'"a"\n' + BOM + b'"b"\n', "application/jsonlines")


@pytest.mark.parametrize("host", ["::1", "[::1]", "fe80::1", "::"])
def test_an_ipv6_address_is_named_as_not_served(host):
    with pytest.raises(server.ServeError) as refused:
        server.make_server(host, 0, server.InferenceService(server.Limits(8, 300, "truncate")))
    assert str(refused.value) == (
        f"cannot listen on {host!r}: IPv6 addresses are not served (the server listens on IPv4); pass "
        "--host 127.0.0.1 for this machine only, or 0.0.0.0 for every interface"
    )


@pytest.mark.parametrize(
    ("request_bytes", "error"),
    [
        (
            "GET /ping HTTP/1.1\r\nHost: bücher\r\nConnection: close\r\n\r\n".encode(),
            "Host 'bücher' is not a host name",
        ),
        ("GET /pïng HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), "no such path '/pïng'"),
        (
            "POST /invöcations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode(),
            "no such path '/invöcations'",
        ),
        (b"GET /p\xffng HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "no such path '/p\\\\xffng'"),
    ],
)
def test_non_ascii_bytes_are_shown_as_sent(quick_server, request_bytes, error):
    answer = exchange(quick_server(), request_bytes)
    assert error_of(answer).startswith(error), answer


@pytest.mark.parametrize("method", [b"GET", b"POST"])
def test_an_unknown_long_path_is_shown_cut_not_echoed_whole(quick_server, method):
    """R14C-10: the 404 echoed the whole request target (up to 64 KiB) into its message, where every
    other echo of the request is cut (Host, Content-Length, Content-Type, charset)."""
    path = b"/" + b"a" * 60_000
    head = method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    answer = exchange(quick_server(), head)
    assert answer.startswith(b"HTTP/1.1 404 ")
    error = error_of(answer)
    assert error.startswith("no such path '/aaaa") and "...' (60001 characters): use " in error
    assert len(error) < 300
