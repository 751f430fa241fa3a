"""Sampled capture at shutdown is bounded (R13B-20): `close` joined the writer for 10 s, then flushed
in the main thread, whose PUT waited up to 30 s per read, and `s3_put` read the answer's body, so an
S3 answer that stalls or trickles held `textclf serve` after SIGTERM until SIGKILL. Now the last
writes get one deadline; what is not written by then is dropped, counted and said."""

from __future__ import annotations

import threading
import time

from tests.monitoring.test_capture import Sink
from tests.slow_answers import answering
from textclf.serving import capture

PREDICTION = [{"label": "billing", "score": 0.9}]


class Stalled(Sink):
    """A store whose PUT does not come back for `seconds` (then it fails)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.calls = 0

    def __call__(self, key: str, body: bytes) -> None:
        self.calls += 1
        threading.Event().wait(self.seconds)
        raise OSError("S3 did not answer")


def test_a_stalled_write_at_shutdown_is_given_up_at_the_deadline(capsys):
    store = Stalled(seconds=8)
    sampler = capture.Capture(1.0, "captured/e/", store, flush_seconds=3600)
    for i in range(3):
        sampler.offer([f"t{i}"], PREDICTION, "v1")
    started = time.monotonic()
    sampler.close(timeout=0.5)
    assert time.monotonic() - started < 2
    assert store.calls == 1  # the writer's last flush, still waiting: nothing else was tried
    assert '"status": "close_timeout"' in capsys.readouterr().err


def test_records_left_after_the_writers_last_flush_are_written_or_counted(capsys):
    """Records a request added while the writer was stuck are dropped at the deadline, counted."""
    store = Stalled(seconds=8)
    sampler = capture.Capture(1.0, "captured/e/", store, flush_seconds=0.1)
    sampler.offer(["first"], PREDICTION, "v1")
    time.sleep(0.5)  # the writer took "first" and waits for S3
    sampler.offer(["second"], PREDICTION, "v1")
    sampler.close(timeout=0.5)
    assert sampler.stats["dropped"] == 1 and sampler.stats["captured"] == 2
    assert '"records_dropped": 1' in capsys.readouterr().err


def test_a_put_whose_answer_trickles_is_done_at_its_status(monkeypatch):
    """A 200 whose body comes a byte every half second: S3 answered; the body is not waited for."""
    with answering([b"x"] * 10, 10, pause=0.5) as endpoint:  # 5 s of body
        env = {
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
        put = capture.s3_put("s3://textclf-data/captured/e/", env)
        started = time.monotonic()
        put("captured/e/x.jsonl", b'{"text": "t"}\n')
        assert time.monotonic() - started < 3
