"""The staging burst counts requests that get no HTTP answer (R13B-28).

A connection the endpoint closes unanswered is botocore's ConnectionClosedError, a BotoCoreError,
not a ClientError: it left the burst's thread pool and `textclf staging-check` ended in a
traceback. Dropped connections under load are what the burst is there to find: counted, named,
and the check fails.
"""

from __future__ import annotations

import socket
import threading

import boto3
from botocore.config import Config

from textclf.release import staging


class Drops:
    """A listener that answers the first `answered` connections with a prediction and closes the
    rest unanswered."""

    def __init__(self, answered: int) -> None:
        self.answered = answered
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        body = b'{"predictions": [{"label": "a", "score": 1.0}]}'
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if self.answered > 0:
                    self.answered -= 1
                    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                    conn.sendall(head.encode() + body)


def test_requests_the_endpoint_drops_are_counted_not_a_traceback(aws_env):
    drops = Drops(answered=2)
    try:
        client = boto3.client(
            "sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{drops.port}", config=Config(read_timeout=5)
        )
        burst = staging.burst(client, "ep", "text", requests=6, concurrency=1)
    finally:
        drops.listener.close()
    assert burst["statuses"] == {"200": 2} and burst["errors_5xx"] == 0
    assert burst["no_answer"] == 4
    assert "Connection was closed" in burst["no_answer_example"], burst["no_answer_example"]
    assert "4 without an answer" in staging.markdown(
        {
            "endpoint": "ep",
            "replay": {"rows": 1, "mismatched_rows": [], "latency_p95_ms": 1.0, "latency_p50_ms": 1.0},
            "burst": burst,
            "latency_p95_budget_ms": 100,
            "passed": False,
            "problems": ["x"],
        }
    )
