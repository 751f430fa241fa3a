"""Large bodies are parsed a few at a time (R14C-9): parsing a body holds 10 to 25 times its size in
Python objects (6 MB of CSV records `ab`: 125 MB at its peak, JSON lines 152 MB, a JSON list 78 MB),
and every connection (64) parsed at once, so 64 clients each sending 6 MB of short records could hold
8 GB before the batch limit refused them: a container out of memory for requests that are all 413.
Small bodies (a normal batch) are never held back."""

from __future__ import annotations

import threading
import time
import tracemalloc

import pytest
from serving_client import loaded_service
from test_serve_framing import exchange

from textclf.serving import server

BIG_CSV = b"ab\n" * 400_000  # 1.2 MB, 400,000 records


@pytest.fixture(scope="module")
def service(tiny_model_dir):
    return loaded_service(tiny_model_dir)


@pytest.fixture(scope="module")
def service32(tiny_model_dir):
    return loaded_service(tiny_model_dir, max_batch_size=32)


def post(body: bytes, content_type: bytes = b"text/csv") -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )


def test_large_bodies_are_parsed_at_most_a_few_at_once(in_process_server, service, monkeypatch):
    url = in_process_server(service)
    parsing, most = [0], [0]
    lock = threading.Lock()
    real = server.parse_texts

    def slow_parse(body, content_type, *limit):
        with lock:
            parsing[0] += 1
            most[0] = max(most[0], parsing[0])
        try:
            time.sleep(0.3)  # long enough for every request to be parsing at once if allowed
            return real(body, content_type, *limit)
        finally:
            with lock:
                parsing[0] -= 1

    monkeypatch.setattr(server, "parse_texts", slow_parse)
    answers: list[bytes] = []
    clients = [
        threading.Thread(target=lambda: answers.append(exchange(url, post(BIG_CSV), 30))) for _ in range(6)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(60)

    assert len(answers) == 6 and all(a.startswith(b"HTTP/1.1 413 ") for a in answers), [
        a[:80] for a in answers
    ]
    assert most[0] <= 2  # server.PARSE_SLOTS


def test_small_bodies_are_not_held_back_by_large_ones(in_process_server, service, monkeypatch):
    url = in_process_server(service)
    release = threading.Event()
    real = server.parse_texts

    def held(body, content_type, *limit):
        if len(body) > server.LARGE_BODY_BYTES:
            release.wait(20)
        return real(body, content_type, *limit)

    monkeypatch.setattr(server, "parse_texts", held)
    stuck = [
        threading.Thread(target=exchange, args=(url, post(BIG_CSV), 30)) for _ in range(server.PARSE_SLOTS)
    ]
    for client in stuck:
        client.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer = exchange(url, post(b'{"inputs": ["where is my parcel"]}', b"application/json"))
    assert answer.startswith(b"HTTP/1.1 200 ") and time.monotonic() - started < 5, answer[:200]
    release.set()
    for client in stuck:
        client.join(30)


def test_parsing_a_large_body_holds_a_bounded_multiple_of_it():
    """What one slot may hold, measured on 600 KB of short CSV records and scaled to the largest body:
    PARSE_SLOTS of them stay well inside a container's memory."""
    body = b"ab\n" * 200_000
    tracemalloc.start()
    with pytest.raises(server.RequestError):
        server.check_texts(server.parse_texts(body, "text/csv"), server.Limits(32, 5000, "truncate"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak / len(body) * server.MAX_BODY_BYTES * server.PARSE_SLOTS < 512 * 1024**2


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'"a"\n' * 1_572_864, "application/jsonlines", "1572864 texts in one request; at most 32"),
        (b'"a"\n' * 40 + b'"b"', "application/jsonlines", "41 texts in one request; at most 32"),
        (b"a\n" * 3_000_000, "text/csv", "3000000 texts in one request; at most 32"),
        (b"a\n" * 40 + b"b", "text/csv", "41 texts in one request; at most 32"),
        (b'"a"\n' * 2_000_000, "text/csv", "more than 32 texts in one request; at most 32"),
    ],
)
def test_too_many_records_are_refused_before_they_are_all_parsed(service32, body, content_type, message):
    """R14B-11: a JSON lines or CSV body was parsed to its end before max_batch_size was checked:
    6 MB of one-character lines cost 6 s of CPU (CSV 1.4 s) for a 413, where a JSON list of the same
    count was refused in 0.07 s."""
    started = time.process_time()
    with pytest.raises(server.RequestError) as refused:
        service32.classify(body, content_type)
    assert time.process_time() - started < 0.5
    assert refused.value.status == 413
    assert str(refused.value) == f"{message} (deploy.serve.max_batch_size): split the batch"


@pytest.mark.parametrize(
    ("body", "content_type", "count"),
    [
        (b'"a"\n' * 32, "application/jsonlines", 32),
        (b'"a"\n' * 32 + b" ", "application/jsonlines", 32),
        (b'"a"\r\n' * 32, "application/jsonlines", 32),
        (b"a\r\n" * 32, "text/csv", 32),
        (b"a\n" * 32, "text/csv", 32),
        (b'"a\nb"\n' * 32, "text/csv", 32),
    ],
)
def test_a_full_batch_is_still_taken(body, content_type, count):
    assert len(server.parse_texts(body, content_type, 32)) == count
