"""The server against request fields that change what a request means (issue 27, round 7, U-4):
Host missing or given twice (RFC 9112 section 3.2), a content coding it does not decode (RFC 9110
section 8.4 and 15.5.16), a request line without a version (HTTP/0.9), an empty Transfer-Encoding
beside a Content-Length (RFC 9112 section 6.1), a number too long for Python to read. Each is a JSON
4xx in HTTP/1.1 that says what to send, never a 200 or Python's advice to the server's owner."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_client import loaded_service
from test_serve_framing import exchange

BODY = b'{"inputs": "hi"}'
LENGTH = b"Content-Length: %d\r\n" % len(BODY)


@pytest.fixture(scope="module")
def service(tiny_model_dir):
    return loaded_service(tiny_model_dir)


@pytest.fixture
def url(in_process_server, service) -> str:
    return in_process_server(service)


def status_and_error(answer: bytes) -> tuple[int, str]:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert match, answer[:200]
    _, _, body = answer.partition(b"\r\n\r\n")
    return int(match[1]), json.loads(body).get("error", "")


def post(*fields: bytes, body: bytes = BODY) -> bytes:
    head = b"POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\n"
    return head + b"".join(fields) + b"\r\n" + body


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (b"GET /ping HTTP/1.1\r\n\r\n", "no Host header"),
        (b"GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "2 Host headers"),
        (post(LENGTH), "no Host header"),
        (post(b"Host: a\r\n", b"Host: a\r\n", LENGTH), "2 Host headers"),
        (b"GET /ping HTTP/1.1\r\nHost: a b\r\n\r\n", "Host 'a b' is not"),
        (b"GET /ping HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "2 Host headers"),
    ],
)
def test_host_missing_twice_or_invalid_is_400(url, request_bytes, message):
    status, error = status_and_error(exchange(url, request_bytes))

    assert status == 400 and message in error and "RFC 9112 section 3.2" in error


@pytest.mark.parametrize(
    "host", [b"Host: x\r\n", b"Host: 127.0.0.1:8080\r\n", b"Host: [::1]:80\r\n", b"Host:\r\n"]
)
def test_a_single_valid_or_empty_host_is_served(url, host):
    answer = exchange(url, b"GET /ping HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_http_1_0_without_host_is_served(url):
    assert exchange(url, b"GET /ping HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("coding", [b"gzip", b"deflate, identity", b"br", b"x-unknown"])
def test_a_content_coding_other_than_identity_is_415(url, coding):
    answer = exchange(url, post(b"Host: x\r\n", b"Content-Encoding: " + coding + b"\r\n", LENGTH))

    status, error = status_and_error(answer)
    assert status == 415 and "Content-Encoding" in error and "send the body uncompressed" in error
    assert b"\r\nAccept-Encoding: identity\r\n" in answer.partition(b"\r\n\r\n")[0]


def test_identity_coding_is_served(url):
    fields = (b"Host: x\r\n", b"Content-Encoding: identity\r\n", b"Connection: close\r\n", LENGTH)
    answer = exchange(url, post(*fields))

    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


def test_a_request_line_without_a_version_gets_an_http_1_1_400(url):
    answer = exchange(url, b"GET /ping\r\n")

    status, error = status_and_error(answer)
    assert status == 400 and "HTTP version" in error


@pytest.mark.parametrize("value", [b"", b" ", b"identity"])
def test_a_transfer_encoding_of_any_value_beside_content_length_is_refused(url, value):
    answer = exchange(url, post(b"Host: x\r\n", b"Transfer-Encoding: " + value + b"\r\n", LENGTH))

    status, error = status_and_error(answer)
    assert status in (400, 411) and "Transfer-Encoding" in error
    assert b"Connection: close" in answer.partition(b"\r\n\r\n")[0]


@pytest.mark.parametrize(
    "body", [b'{"inputs": ' + b"9" * 5000 + b"}", b'{"inputs": ["a", -' + b"1" * 5000 + b"]}"]
)
def test_a_number_too_long_to_read_is_named_without_pythons_advice(url, body):
    length = b"Content-Length: %d\r\n" % len(body)
    answer = exchange(url, post(b"Host: x\r\n", b"Connection: close\r\n", length, body=body))
    status, error = status_and_error(answer)

    assert status == 400 and "5,000 digits" in error
    assert "sys.set_int_max_str_digits" not in error


HOST_BYTES = st.binary(max_size=30).filter(lambda value: b"\r" not in value and b"\n" not in value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hosts=st.lists(HOST_BYTES, max_size=3), coding=st.none() | HOST_BYTES)
def test_any_host_and_coding_fields_get_a_json_answer_never_a_5xx(url, hosts, coding):
    fields = [b"Host: " + host + b"\r\n" for host in hosts]
    fields += [] if coding is None else [b"Content-Encoding: " + coding + b"\r\n"]
    answer = exchange(url, post(*fields, b"Connection: close\r\n", LENGTH))

    status, error = status_and_error(answer)
    assert status in (200, 400, 415), answer[:300]
    if len(hosts) != 1:  # refused for its Host fields, or earlier for a NUL in one
        assert status == 400 and ("Host" in error or "NUL" in error), error


def test_two_content_types_are_400(url):
    """Content-Type is no list (RFC 9110 sections 5.3, 8.3): the first of two was taken (round 9, U-s4)."""
    fields = (b"Host: x\r\n", b"Content-Type: text/csv\r\n", b"Connection: close\r\n", LENGTH)
    answer = exchange(url, post(*fields))

    status, error = status_and_error(answer)
    assert status == 400 and "2 Content-Type headers: send exactly one" in error


@pytest.mark.parametrize(
    "version", [b"HTTP/0.9", b"HTTP/1.10", b"HTTP/1.2", b"HTTP/1", b"http/1.1", b"HTTPS/1.1", b"HTTP/2.0"]
)
def test_a_version_other_than_1_0_and_1_1_is_400_in_http_1_1(url, version):
    # Round 10, U-r10-6: `HTTP/0.9` written out was answered with the body alone, `HTTP/1.10` as 1.1.
    status, error = status_and_error(exchange(url, b"GET /ping " + version + b"\r\nHost: x\r\n\r\n"))

    assert status == 400 and "is not served: send HTTP/1.1" in error


@pytest.mark.parametrize(
    ("fields", "answer_type"),
    [
        ((b"Accept: application/jsonlines\r\n", b"Accept: application/json\r\n"), b"application/json"),
        (
            (b"Accept: application/json;q=0\r\n", b"Accept: application/jsonlines\r\n"),
            b"application/jsonlines",
        ),
        ((b"Accept: application/jsonlines\r\n",), b"application/jsonlines"),
    ],
)
def test_accept_given_on_two_lines_is_read_as_one_list(url, fields, answer_type):
    """R14C-8: Accept is a list (RFC 9110 section 12.5.1), and section 5.3 lets its field lines be
    combined into one comma-separated list without changing the message's meaning; the server read
    the first line only, so `Accept: application/jsonlines` then `Accept: application/json` got JSON
    lines, where the same Accept on one line (or through a proxy that combines them) got JSON."""
    answer = exchange(url, post(b"Host: x\r\n", *fields, LENGTH, b"Connection: close\r\n"))

    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert b"\r\nContent-Type: " + answer_type + b"\r\n" in answer.partition(b"\r\n\r\n")[0]


def test_accept_refusing_every_type_across_two_lines_is_406(url):
    answer = exchange(
        url,
        post(b"Host: x\r\n", b"Accept: text/html\r\n", b"Accept: application/json;q=0\r\n", LENGTH),
    )

    status, error = status_and_error(answer)
    assert status == 406 and "Accept was 'text/html, application/json;q=0'" in error
