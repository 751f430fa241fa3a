"""The capture's buffer is bounded in characters too, not only in records (R14C-6): it holds the
texts as received (up to the server's 6 MB body each, deploy.serve.long_text: truncate keeps them
whole), so 10,000 buffered records could hold 60 GB, and 40 requests of one 2 MB text each, all
sampled, held 80 MB until the next flush, written as one object of that size: a Serverless
container (1 to 6 GB) ran out of memory for a sample that "never blocks or fails a prediction"."""

from __future__ import annotations

import json
import threading

from textclf.serving import capture

TEXT = "x" * (2 * 1024**2)
PREDICTION = [{"label": "billing", "score": 0.9}]


class HeldSink:
    """A store whose writes wait until released (a slow S3), recording the objects."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.objects: list[bytes] = []

    def __call__(self, key: str, body: bytes) -> None:
        self.release.wait(30)
        self.objects.append(body)


def test_large_texts_fill_the_buffer_by_their_characters_and_the_rest_are_dropped_and_counted():
    sink = HeldSink()
    sampler = capture.Capture(1.0, "captured/e/", sink, flush_seconds=3600)
    for _ in range(40):  # 80 Mi characters offered
        sampler.offer([TEXT], PREDICTION, "v1")  # never raises
    held = sampler.stats["captured"] - sampler.stats["written"]
    assert held * len(TEXT) <= 40 * 1024**2  # the buffer and the batch being written
    assert sampler.stats["dropped"] == 40 - sampler.stats["captured"] > 0
    sink.release.set()
    sampler.close()


def test_each_object_is_bounded_in_size_and_every_kept_record_is_written_once():
    sink = HeldSink()
    sink.release.set()
    sampler = capture.Capture(1.0, "captured/e/", sink, flush_seconds=3600)
    for index in range(12):
        sampler.offer([TEXT[:-2] + f"{index:02d}"], PREDICTION, "v1")
    sampler.close()

    assert sink.objects and max(map(len, sink.objects)) <= 9 * 1024**2
    written = [json.loads(line)["text"][-2:] for body in sink.objects for line in body.splitlines()]
    assert sorted(written) == [f"{index:02d}" for index in range(12)][: len(written)]
    assert len(written) == sampler.stats["written"] == sampler.stats["captured"] - sampler.stats["dropped"]
