"""batch-predict's input check reads a line no longer than one request may carry (issue 27, R14B-27):
an object without \\n (one JSON array, CR-only line ends) was joined chunk by chunk, quadratic in
time and held whole in memory, before the first refusal (128 MB: 12 s and 305 MB). A line over
batch.max_payload_mb now stops the reading there, named with its object and number, and CR line ends
are said to be what they are (SplitType Line splits on \\n only)."""

from __future__ import annotations

import time

import pytest

from textclf.batch import job
from textclf.config import BatchParams, ServeParams

MB = job.MB


class Body:
    """A streamed S3 body of `chunks` 1 MiB chunks, counting what was read."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * (1 << 20)) -> None:
        self.chunks, self.chunk, self.read = chunks, chunk, 0

    def iter_chunks(self, size: int):
        for _ in range(self.chunks):
            self.read += 1
            yield self.chunk


class S3:
    def __init__(self, body) -> None:
        self.body = body

    def get_paginator(self, name):
        class Pages:
            def paginate(self, **_):
                return [{"Contents": [{"Key": "batch/in/one.jsonl"}]}]

        return Pages()

    def get_object(self, Bucket, Key):
        return {"Body": self.body}


def test_a_line_longer_than_a_request_stops_the_reading_there():
    body = Body(48)  # 48 MiB without a line end

    with pytest.raises(job.BatchError) as refused:
        job.check_input(S3(body), "s3://textclf-data/batch/in/", ServeParams(), BatchParams())

    message = str(refused.value)
    assert message.startswith("s3://textclf-data/batch/in/one.jsonl line 1: longer than 1 MB")
    assert "batch.max_payload_mb" in message and "the rest of the object was not read" in message
    assert body.read <= 2


def test_cr_line_ends_are_named_as_such():
    record = b'{"inputs": "a"}\r'
    body = Body(24, record * ((1 << 20) // len(record)))

    with pytest.raises(job.BatchError) as refused:
        job.check_input(S3(body), "s3://textclf-data/batch/in/", ServeParams(), BatchParams())

    assert "carriage returns (CR)" in str(refused.value) and "\\n only" in str(refused.value)
    assert body.read <= 2


def test_a_short_file_with_cr_line_ends_is_named_as_such():
    with pytest.raises(job.BatchError, match=r"not JSON .*carriage returns \(CR\)"):
        job.check_record('{"inputs": "a"}\r{"inputs": "b"}\r', "x line 1", ServeParams(), MB)


def test_crlf_line_ends_still_pass():
    body = Body(1, b'{"inputs": "a"}\r\n{"inputs": "b"}\r\n')
    checked = job.check_input(S3(body), "s3://textclf-data/batch/in/", ServeParams(), BatchParams())
    assert checked.rows == 2


def test_lines_split_across_chunks_are_joined_in_order():
    pieces = [b'{"inputs": "a', b'b"}\n{"in', b'puts": "c"}', b"\n", b'{"inputs": "d"}']

    class Chunks:
        def iter_chunks(self, size):
            yield from pieces

    assert list(job._split_lines(Chunks())) == [b'{"inputs": "ab"}', b'{"inputs": "c"}', b'{"inputs": "d"}']


def test_a_long_output_line_is_read_in_linear_time():
    """count_outputs reads the results without a bound: 128 MB in one line is one join, not 128."""
    started = time.perf_counter()
    assert sum(len(line) for line in job._split_lines(Body(128))) == 128 << 20
    assert time.perf_counter() - started < 4  # the chunk-by-chunk join took 12 s at 128 MB
