"""Optional sampled capture: a fraction of the predicted texts, with their predictions, written to
S3 in batches, ready to be labelled and dropped into the data bucket's `incoming/`.

Off by default: `deploy.serve.capture_fraction` is 0. It runs only when the fraction is above 0
and TEXTCLF_CAPTURE_URI names where to write (`s3://<data bucket>/captured/<endpoint>/`; the
serving role may write there only when Terraform's `capture_enabled` is true, terraform/capture.tf).
Captured texts are raw customer messages: personal data in most deployments (docs/monitoring.md).

- Never blocks or fails a prediction: a request only appends the sampled records to a bounded
  buffer (MAX_BUFFERED records, MAX_BUFFERED_CHARS characters of text; beyond either, records are
  dropped and counted); a background thread writes.
- Batched: one object per FLUSH_SECONDS or MAX_BATCH records (MAX_BATCH_CHARS characters), whichever
  comes first, as JSON lines
  under `<prefix><yyyy>/<mm>/<dd>/<model version>/<time>-<random>.jsonl`. A failed write keeps
  nothing back (the batch is dropped and counted): capture is a sample, not a record.
- The object inherits the bucket's default encryption (KMS, terraform/storage.tf); the lifecycle
  rule on `captured/` expires it.

The serving image has no boto3: the PUT is signed here with SigV4 (standard library only), with the
credentials the container has (the environment's keys or the container credentials endpoint, as
textclf.serving.fetch finds them). AWS_ENDPOINT_URL (the local cloud) is honoured, path style.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import sys
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from textclf.s3uri import check_prefix, split_s3_uri
from textclf.serving import fetch, sigv4

URI_ENV = "TEXTCLF_CAPTURE_URI"
FLUSH_SECONDS = 60.0
MAX_BATCH = 1000
MAX_BUFFERED = 10_000
# The same bounds in characters of text: a record holds its text as received (up to the server's 6 MB
# body), so a bound in records alone let 10,000 of them hold 60 GB, and one object hold 1,000.
MAX_BUFFERED_CHARS = 32 * 1024**2
MAX_BATCH_CHARS = 8 * 1024**2
# How long shutting down may wait for the last writes (after the server's drain: the host's SIGKILL
# follows a SIGTERM the process does not end on).
CLOSE_SECONDS = 10.0

Put = Callable[[str, bytes], None]


def _log(**fields: Any) -> None:
    print(json.dumps({"component": "capture", **fields}), file=sys.stderr, flush=True)


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix ending in /) of an s3://bucket/captured/prefix/ URI, or ValueError: a
    bucket name and a prefix of S3's safe characters (textclf.s3uri), so no query, fragment, user
    part or `..` is taken for part of a key."""
    shape = f"{URI_ENV}={uri[:200]!r}: expected s3://<bucket>/captured/<prefix>/"
    try:
        check_prefix(uri, URI_ENV)
    except ValueError as error:
        raise ValueError(f"{shape} ({error})") from None
    bucket, prefix = split_s3_uri(uri)
    if not prefix.startswith("captured/"):
        raise ValueError(shape)
    return bucket, prefix if prefix.endswith("/") else prefix + "/"


def flush_seconds(raw: str | None) -> float:
    """TEXTCLF_CAPTURE_FLUSH_SECONDS: a finite number of seconds, 0.1 to 3600 (0 or NaN would make the
    writer spin or die; a negative or infinite wait is refused by the thread's Event)."""
    if not raw:
        return FLUSH_SECONDS
    try:  # ASCII digits: float() also reads `6_0` and other scripts' digits as 60
        value = float(raw) if raw.isascii() and "_" not in raw else math.nan
    except ValueError:
        value = math.nan
    if not 0.1 <= value <= 3600:
        raise ValueError(f"TEXTCLF_CAPTURE_FLUSH_SECONDS={raw[:40]!r}: a number of seconds, 0.1 to 3600")
    return value


def signed_put(url: str, body: bytes, region: str, credentials: dict[str, str], now: dt.datetime) -> Any:
    """A PUT of `body` (JSON lines) to `url`, signed with Signature Version 4 for S3."""
    content = {"content-type": "application/jsonlines"}
    return sigv4.signed_request("PUT", url, body, region, credentials, now, content)


def s3_put(uri: str, env: dict[str, str] | None = None) -> Put:
    """Write objects under the capture URI's bucket, as the container's credentials."""
    env = dict(os.environ if env is None else env)
    bucket, _ = split_uri(uri)
    region = fetch.region(env)

    def put(key: str, body: bytes) -> None:
        url = fetch.object_url(f"s3://{bucket}/{key}", env, region)
        request = signed_put(url, body, region, fetch._credentials(env), dt.datetime.now(dt.UTC))
        # A 2xx status is S3's answer (urlopen raises for any other); its body (none) is not read,
        # so an answer that trickles bytes cannot hold the writer.
        with urllib.request.urlopen(request, timeout=30):
            pass

    return put


class Capture:
    """Samples records per request; a thread writes them in batches."""

    def __init__(
        self,
        fraction: float,
        prefix: str,
        put: Put,
        flush_seconds: float = FLUSH_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.fraction, self.prefix, self.put = fraction, prefix, put
        self.flush_seconds = flush_seconds
        self.rng = rng or random.Random()
        self._buffer: deque[dict[str, Any]] = deque()
        self._buffered_chars = 0  # of the texts in _buffer
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.stats = {"captured": 0, "written": 0, "objects": 0, "dropped": 0, "failed_writes": 0}
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def offer(self, texts: list[str], predictions: list[dict[str, Any]], model_version: str) -> None:
        """Called by a request after its answer: cheap, never raises into the request."""
        try:
            now = time.time()
            with self._lock:
                for text, prediction in zip(texts, predictions, strict=True):
                    if self.rng.random() >= self.fraction:
                        continue
                    if (
                        len(self._buffer) >= MAX_BUFFERED
                        or self._buffered_chars + len(text) > MAX_BUFFERED_CHARS
                    ):
                        self.stats["dropped"] += 1
                        continue
                    record = {"text": text, "label": prediction["label"], "score": prediction["score"]}
                    self._buffer.append({**record, "model_version": model_version, "time": now})
                    self._buffered_chars += len(text)
                    self.stats["captured"] += 1
                if len(self._buffer) >= MAX_BATCH or self._buffered_chars >= MAX_BATCH_CHARS:
                    self._wake.set()
        except Exception as error:  # a capture bug must never cost a prediction
            _log(status="offer_failed", error=repr(error))

    def _take(self) -> list[dict[str, Any]]:
        """The next batch: at most MAX_BATCH records and MAX_BATCH_CHARS characters of text (one
        record at least, which MAX_BUFFERED_CHARS bounds)."""
        batch: list[dict[str, Any]] = []
        chars = 0
        with self._lock:
            while self._buffer and len(batch) < MAX_BATCH:
                size = len(self._buffer[0]["text"])
                if batch and chars + size > MAX_BATCH_CHARS:
                    break
                batch.append(self._buffer.popleft())
                chars += size
            self._buffered_chars -= chars
        return batch

    def flush(self) -> None:
        """Write what is buffered, one object per MAX_BATCH records."""
        while batch := self._take():
            when = dt.datetime.fromtimestamp(batch[0]["time"], dt.UTC)
            version = "".join(c for c in str(batch[0]["model_version"]) if c.isalnum() or c in "-_.")[:64]
            key = (
                f"{self.prefix}{when:%Y/%m/%d}/{version or 'unknown'}/"
                f"{when:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}.jsonl"
            )
            body = "".join(json.dumps(record) + "\n" for record in batch).encode("utf-8")
            try:
                self.put(key, body)
                self.stats["written"] += len(batch)
                self.stats["objects"] += 1
            except Exception as error:  # the sample is lost; predictions go on
                self.stats["failed_writes"] += 1
                _log(status="write_failed", key=key, records=len(batch), error=repr(error)[:300])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Write what is left (on shutdown), within `timeout` seconds in all: the writer's last flush,
        then what requests added after it, each in a thread waited for only until the deadline (a
        PUT whose answer stalls or trickles held the process after SIGTERM, until SIGKILL). What is
        not written by then is dropped, counted and said."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            last = threading.Thread(target=self.flush, name="capture-last", daemon=True)
            last.start()
            last.join(max(0.0, deadline - time.monotonic()))
            writing = last.is_alive()
        else:
            writing = True
        with self._lock:
            left = len(self._buffer)
            self._buffer.clear()
            self._buffered_chars = 0
            self.stats["dropped"] += left
        if writing or left:
            _log(
                status="close_timeout",
                seconds=timeout,
                records_dropped=left,
                write_in_progress=writing,
                reason="S3 did not answer the capture's writes in time; the rest of the sample is lost",
            )


def from_environment(fraction: float, env: dict[str, str] | None = None) -> Capture | None:
    """The capture the configuration asks for, or None (off, or no URI: said once on stderr)."""
    env = dict(os.environ if env is None else env)
    if fraction <= 0:
        return None
    uri = env.get(URI_ENV)
    if not uri:
        _log(status="off", reason=f"deploy.serve.capture_fraction is {fraction} but {URI_ENV} is not set")
        return None
    bucket, prefix = split_uri(uri)
    try:  # the region and endpoint settings checked at start, not on every flush
        fetch.object_url(f"s3://{bucket}/x", env, fetch.region(env))
    except fetch.FetchError as error:
        raise ValueError(str(error)) from None
    flush = flush_seconds(env.get("TEXTCLF_CAPTURE_FLUSH_SECONDS"))
    _log(status="on", fraction=fraction, uri=uri, flush_seconds=flush)
    return Capture(fraction, prefix, s3_put(uri, env), flush)
