"""A bounded load test of the inference server process: 2,000 requests at concurrency 16."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
from serving_client import classify

REQUESTS = 2000
CONCURRENCY = 16
TIME_LIMIT_S = 240
TEXTS = [
    "Where is my parcel?",
    "I was charged twice for the same order and want a refund of the second payment.",
    "Please cancel my subscription at the end of the month.",
    "The blender arrived broken; how do I return it?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@pytest.mark.slow
def test_2000_requests_at_concurrency_16_get_no_5xx(server):
    parts = urlsplit(server.url)
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT_S

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            for n in range(index, REQUESTS, CONCURRENCY):
                if time.monotonic() > deadline:
                    return
                # Mostly one text, every fifth request a small batch, every 50th a bad one.
                inputs = TEXTS[n % len(TEXTS)] if n % 5 else TEXTS
                started = time.perf_counter()
                reply = classify(server.url, [] if n % 50 == 0 else inputs, connection=connection)
                elapsed = time.perf_counter() - started
                with lock:
                    statuses[reply.status] += 1
                    latencies.append(elapsed)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIME_LIMIT_S + 30)
    wall = time.monotonic() - started

    summary = {
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "wall_s": round(wall, 2),
        "requests_per_s": round(sum(statuses.values()) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }
    print(f"\nload test: {summary}")
    assert summary["requests"] == REQUESTS, summary  # finished within the time limit
    assert not [status for status in statuses if status >= 500], summary
    assert statuses[400] == REQUESTS // 50 and statuses[200] == REQUESTS - REQUESTS // 50, summary
