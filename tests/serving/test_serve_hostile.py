"""Hostile and careless requests against the server: each ends in a JSON 4xx (or a closed
connection), never a 5xx or a traceback, and the next request answers as before. Also CSV as CSV,
JSON lines, and SIGTERM with a request in flight."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from serving_client import (
    MAX_BATCH,
    MAX_CHARS,
    ServerProcess,
    classify,
    loaded_service,
    request,
    write_params,
)

from textclf.serving.server import RequestError, make_server
from textclf.serving.server import parse_csv as parse_csv_body

TEXTS = ["Where is my parcel?", "I was charged twice."]
POST_HEAD = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def raw_exchange(url: str, data: bytes, shut_write: bool = False, timeout: float = 10) -> bytes:
    """Send raw bytes; everything the server answers until it closes or goes quiet."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as raw:
        raw.sendall(data)
        if shut_write:
            raw.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := raw.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


# ---------------------------------------------------------------------------------------------
# Texts a client can send that prepare would refuse

HOSTILE_TEXTS = [
    # (description, body, status, message)
    ("lone surrogate", '{"inputs": ["ok", "\\ud800 broken"]}', 400, "text 1 holds a lone surrogate (U+D800)"),
    ("NUL only", '{"inputs": "\\u0000\\u0000"}', 400, "text 0 is empty once normalised"),
    ("zero-width only", '{"inputs": ["ok", "\\u200b\\ufeff"]}', 400, "text 1 is empty once normalised"),
    ("nested 100k deep", '{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("body", "status", "message"), [c[1:] for c in HOSTILE_TEXTS], ids=[c[0] for c in HOSTILE_TEXTS]
)
def test_texts_prepare_would_refuse_are_refused(server, body, status, message):
    before = classify(server.url, TEXTS).body

    reply = request(server.url, body=body, headers={"Content-Type": "application/json"})

    assert (reply.status, reply.headers["Content-Type"]) == (status, "application/json")
    assert message in reply.error
    assert classify(server.url, TEXTS).body == before


# ---------------------------------------------------------------------------------------------
# CSV as CSV, JSON lines


def test_csv_records_are_parsed_as_csv(server):
    texts = ["a text, with a comma", 'a "quoted" word', "two\nlines", "form\x0cfeed and \u2028 separator"]
    body = 'a text, with a comma\r\n"a ""quoted"" word"\n"two\nlines"\nform\x0cfeed and \u2028 separator\n'

    as_csv = request(server.url, body=body, headers={"Content-Type": "text/csv"})

    assert as_csv.status == 200
    assert (
        as_csv.body["predictions"] == classify(server.url, texts).body["predictions"]
    )  # 4 records, 4 answers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"never closed\nok\n', "CSV record 1: the opening double quote is never closed"),
        ('ok\n"quoted" tail\n', "CSV record 2: text after the closing quote"),
        ('"a","b"\n', "CSV record 1: text after the closing quote"),
    ],
)
def test_malformed_csv_is_a_400_naming_the_record(server, body, message):
    reply = request(server.url, body=body, headers={"Content-Type": "text/csv"})

    assert reply.status == 400 and message in reply.error


def test_only_newline_and_crlf_end_a_csv_record():
    assert parse_csv_body("a\rb\nc\r\nd") == ["a\rb", "c", "d"]
    assert parse_csv_body('"x\r\ny"\r\n') == ["x\r\ny"]
    assert parse_csv_body("a\u2028b\x0cc\x1ed\u0085e\n") == ["a\u2028b\x0cc\x1ed\u0085e"]


def test_jsonlines_takes_one_text_per_line_as_batch_transform_sends(server):
    body = '"Where is my parcel?"\n{"inputs": "I was charged twice."}\n'

    reply = request(server.url, body=body, headers={"Content-Type": "application/jsonlines"})

    assert reply.status == 200
    assert reply.body["predictions"] == classify(server.url, TEXTS).body["predictions"]


def test_jsonlines_answer_when_the_client_accepts_only_jsonlines(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/invocations",
            body="\n".join(json.dumps(t) for t in TEXTS).encode(),
            headers={"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
        )
        response = connection.getresponse()
        lines = response.read().decode().splitlines()
    finally:
        connection.close()

    assert response.status == 200 and response.getheader("Content-Type") == "application/jsonlines"
    assert [json.loads(line) for line in lines] == classify(server.url, TEXTS).body["predictions"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"ok"\n\n"ok"\n', "JSON line 2: expected a JSON string"),
        ('"ok"\n{"inputs": 3}\n', "JSON line 2: expected a JSON string"),
        ('"ok"\n{"inputs": \n', "JSON line 2: malformed JSON"),
    ],
)
def test_malformed_jsonlines_is_a_400_naming_the_line(server, body, message):
    reply = request(server.url, body=body, headers={"Content-Type": "application/jsonlines"})

    assert reply.status == 400 and message in reply.error


# ---------------------------------------------------------------------------------------------
# Errors the HTTP layer raises before our handler runs: JSON 4xx too

PROTOCOL_ERRORS = [
    # (description, raw request, status, message)
    ("unknown method", b"FOO /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 405, "use GET /ping or POST"),
    ("malformed request line", b"GARBAGE\r\n\r\n", 400, "Bad request"),
    ("unsupported version", b"GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", 400, "is not served: send HTTP/1.1"),
    (
        "header line too long",
        b"GET /ping HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        431,
        "Line too long",
    ),
    (
        "too many headers",
        b"GET /ping HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
        431,
        "Too many headers",
    ),
]


@pytest.mark.parametrize(
    ("data", "status", "message"), [c[1:] for c in PROTOCOL_ERRORS], ids=[c[0] for c in PROTOCOL_ERRORS]
)
def test_protocol_errors_are_json_4xx(server, data, status, message):
    answer_status, body = status_and_json(raw_exchange(server.url, data))

    assert answer_status == status
    assert message in body["error"]
    assert classify(server.url, TEXTS).status == 200


def test_a_body_shorter_than_its_content_length_is_a_400_when_the_client_stops_sending(server):
    head = POST_HEAD + b"Content-Length: 100\r\n\r\n"

    answer = raw_exchange(server.url, head + b'{"inputs": "hi"}', shut_write=True)

    status, body = status_and_json(answer)
    assert status == 400 and "ended after 16 of the 100 bytes" in body["error"]
    assert classify(server.url, TEXTS).status == 200


def test_a_body_that_stops_arriving_is_a_408_not_a_500(tiny_model_dir):
    service = loaded_service(tiny_model_dir)
    http_server = make_server("127.0.0.1", 0, service, body_timeout=0.3)

    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{http_server.server_address[1]}"
    head = POST_HEAD + b"Content-Length: 100\r\n\r\n"
    try:
        started = time.monotonic()
        status, body = status_and_json(raw_exchange(url, head + b'{"inputs"', timeout=10))
        waited = time.monotonic() - started
    finally:
        http_server.shutdown()
        http_server.server_close()

    assert status == 408 and "stopped arriving" in body["error"]
    assert waited < 5  # the body timeout, not the 60 s connection timeout


# ---------------------------------------------------------------------------------------------
# SIGTERM


def test_sigterm_lets_a_request_in_flight_finish_then_exits_0(tiny_model_dir, tmp_path):
    params = write_params(tmp_path / "params.yaml", max_batch_size=MAX_BATCH, max_text_chars=MAX_CHARS)
    process = ServerProcess(tiny_model_dir, params, tmp_path / "server.log")
    process.wait_ready()
    parts = urlsplit(process.url)
    body = json.dumps({"inputs": TEXTS}).encode()
    head = POST_HEAD + b"Content-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as in_flight:
        in_flight.sendall(head + body[:10])  # the request is in flight: its body half sent
        time.sleep(0.3)
        process.process.terminate()
        time.sleep(0.5)
        refused = _connects(parts.hostname, parts.port)
        in_flight.sendall(body[10:])
        status, answer = status_and_json(_read_until_closed(in_flight))

    assert process.process.wait(timeout=30) == 0, (tmp_path / "server.log").read_text()
    assert status == 200 and len(answer["predictions"]) == len(TEXTS)
    assert not refused  # no new connections once stopping
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as probe:
            probe.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            return probe.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _read_until_closed(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_drain_waits_for_requests_in_flight_and_refuses_new_ones_once_stopping(tiny_model_dir):
    service = loaded_service(tiny_model_dir)
    with service.request():
        started = time.monotonic()
        assert service.drain(0.2) == 1  # the bound passed with one request still running
        assert time.monotonic() - started >= 0.2
    assert service.drain(5) == 0  # nothing in flight: no wait

    service.stopping.set()
    with pytest.raises(RequestError) as refused, service.request():
        pass
    assert refused.value.status == 503 and "shutting down" in refused.value.message
