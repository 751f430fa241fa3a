"""What the server answers a body's declared charset and a HEAD request (issue 27, round 8, U-s1).

A body declared `charset=latin-1` was decoded as UTF-8 regardless: 400 "not valid UTF-8" for
latin-1 bytes, and ASCII went through under a false label. RFC 9110 section 15.5.16: a content
format the server does not support "due to the request's indicated Content-Type" is 415, naming
it. HEAD /ping was 405, where RFC 9110 section 9.1 says "All general-purpose servers MUST support
the methods GET and HEAD": it answers as GET, without the content (section 9.3.2)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from serving_client import request

BODY = '{"inputs": ["Où est mon colis ?", "I was charged twice."]}'


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("application/json; charset=latin-1", "latin-1"),
        ("application/json; Charset=ISO-8859-1", "iso-8859-1"),
        ('application/json; charset="utf-16"', "utf-16"),
        ("text/csv; charset=windows-1252", "windows-1252"),
        ("application/jsonlines; charset=", ""),
    ],
)
def test_a_charset_other_than_utf8_is_415_naming_it(server, content_type, charset):
    body = BODY if "json" in content_type and "lines" not in content_type else "Où est mon colis ?\n"
    reply = request(server.url, body=body.encode("latin-1"), headers={"Content-Type": content_type})

    assert reply.status == 415, reply
    assert f"charset {charset!r} is not supported: send the body in UTF-8" in reply.error


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
        "application/json; charset=US-ASCII",
    ],
)
def test_utf8_and_ascii_declared_bodies_are_classified(server, content_type):
    body = '{"inputs": ["Where is my parcel?"]}' if "ASCII" in content_type else BODY
    reply = request(server.url, body=body.encode("utf-8"), headers={"Content-Type": content_type})

    assert reply.status == 200, reply
    assert len(reply.body["predictions"]) == len(json.loads(body)["inputs"])


def test_a_body_declared_ascii_that_is_not_is_400_naming_it(server):
    reply = request(
        server.url, body=BODY.encode("utf-8"), headers={"Content-Type": "text/csv; charset=us-ascii"}
    )

    assert reply.status == 400 and "body is not valid US-ASCII" in reply.error


def _exchange(url: str, *requests: tuple[str, str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Requests one after the other on one kept-alive connection: status, headers, body of each."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    answers = []
    try:
        for method, path in requests:
            connection.request(method, path)
            response = connection.getresponse()
            answers.append((response.status, dict(response.getheaders()), response.read()))
    finally:
        connection.close()
    return answers


def test_head_ping_answers_as_get_without_the_body(server):
    (head_status, head, head_body), (get_status, get, get_body) = _exchange(
        server.url, ("HEAD", "/ping"), ("GET", "/ping")
    )

    assert head_status == get_status == 200
    assert (
        head_body == b"" and get_body
    )  # the second answer on the connection is whole: nothing was left over
    assert head["Content-Length"] == get["Content-Length"] == str(len(get_body))
    assert head["Content-Type"] == get["Content-Type"]


def test_head_on_the_other_paths_has_no_body_either(server):
    (invocations, allow, body), (other, _, other_body), (ping, _, _) = _exchange(
        server.url, ("HEAD", "/invocations"), ("HEAD", "/nope"), ("GET", "/ping")
    )
    assert (invocations, allow["Allow"], body) == (405, "POST", b"")
    assert (other, other_body) == (404, b"")
    assert ping == 200


def test_a_405_on_ping_names_get_and_head(server):
    reply = request(server.url, "POST", "/ping", body={"inputs": "hi"})

    assert reply.status == 405 and reply.headers["Allow"] == "GET, HEAD"
    assert "use GET /ping" in reply.error


def test_two_charsets_are_400_naming_them(server):
    """RFC 6838 section 4.3: a parameter given twice is an error; the first was taken (round 9, U-s4)."""
    for content_type in ("application/json; charset=utf-8; charset=latin-1", "text/csv;charset=a;charset=b"):
        reply = request(server.url, body=BODY.encode("utf-8"), headers={"Content-Type": content_type})

        assert reply.status == 400, reply
        assert "names 2 charsets: send one (charset=utf-8)" in reply.error
