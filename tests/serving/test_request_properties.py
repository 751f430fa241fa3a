"""Property tests of the server's request parsing (hypothesis, bounded): any body with any content
type gives texts or a RequestError with a 4xx, never another exception; CSV written by a CSV writer
reads back as the same texts; and over real HTTP, no request body gets a 5xx."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_client import loaded_service, request

from textclf.serving.server import Limits, RequestError, check_texts, make_server, parse_csv, parse_texts

CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/csv", "application/jsonlines", "text/csv; charset=utf-8", "", "text/plain"]
)
# Bodies near the formats: JSON fragments, quotes, separators, surrogate escapes, control characters.
PIECES = st.sampled_from(
    [
        '{"inputs": ',
        '"',
        '""',
        "[",
        "]",
        "{",
        "}",
        ",",
        "\n",
        "\r",
        "\r\n",
        "\\ud800",
        "\\u0000",
        "\u200b",
        "\u2028",
        "\x0c",
        "text",
        "1",
        "null",
        '{"inputs": "a"}',
        ":",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.lists(PIECES, max_size=30).map(lambda parts: "".join(parts).encode("utf-8")),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
LIMITS = Limits(max_batch_size=8, max_text_chars=50, long_text="truncate")


@settings(max_examples=400, deadline=None)
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_any_body_gives_texts_or_a_4xx(body, content_type):
    try:
        texts, truncated = check_texts(parse_texts(body, content_type), LIMITS)
    except RequestError as error:
        assert 400 <= error.status < 500 and error.message
        return
    assert 1 <= len(texts) <= LIMITS.max_batch_size and len(truncated) == len(texts)
    assert all(isinstance(text, str) and text.strip() for text in texts)
    for text in texts:
        text.encode("utf-8")  # no lone surrogate reaches the tokenizer


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8), crlf=st.booleans())
def test_what_a_csv_writer_writes_reads_back_as_the_same_texts(texts, crlf):
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n" if crlf else "\n").writerows(
        [text] for text in texts
    )

    assert parse_csv(buffer.getvalue()) == texts


@pytest.fixture(scope="module")
def one_server(tiny_model_dir):
    """One server for all examples: starting one per example would dominate the test's time."""
    http_server = make_server("127.0.0.1", 0, loaded_service(tiny_model_dir))
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http_server.server_address[1]}"
    http_server.shutdown()
    http_server.server_close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_no_request_body_gets_a_5xx_over_http(one_server, body, content_type):
    reply = request(one_server, body=body, headers={"Content-Type": content_type} if content_type else {})

    assert reply.status in (200, 400, 413, 415), reply
    assert ("predictions" in reply.body) == (reply.status == 200)
