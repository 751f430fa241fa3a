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

    def slow_parse(body, content_type):
        with lock:
            parsing[0] += 1
            most[0] = max(most[0], parsing[0])
        try:
            time.sleep(0.3)  # long enough for every request to be parsing at once if allowed
            return real(body, content_type)
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

    def held(body, content_type):
        if len(body) > server.LARGE_BODY_BYTES:
            release.wait(20)
        return real(body, content_type)

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
