"""The inference server: SageMaker's container contract on one port (8080 by default).

- `GET /ping`: 200 once the model is loaded and a warm-up prediction succeeded, 503 before.
- `POST /invocations`: classify texts. JSON `{"inputs": "text"}` or `{"inputs": ["a", "b"]}`,
  `text/csv` with one text per record, or `application/jsonlines` with one text per line (as
  SageMaker Batch Transform sends with `SplitType: Line`). The answer is JSON:
  `{"model_version": "...", "predictions": [{"label": "...", "score": 0.97, "truncated": false}]}`,
  one prediction per input, in order (JSON lines, one prediction a line, when the client accepts
  only `application/jsonlines`). `HEAD /ping` answers as GET without the body (RFC 9110 section
  9.1). Every client error is a 4xx with a JSON `{"error": "..."}` body
  that says what to change: 400 malformed input, 405 another method, 406 no acceptable answer type,
  408 a body that stops arriving, 411 no Content-Length, 413 too many texts, too long a text (when
  `deploy.serve.long_text` is `reject`) or too big a body, 415 another content type or a charset
  other than UTF-8 (or US-ASCII).

Predictions go through `textclf.serving.inference`, the module the evaluate stage scores the test
split with: the endpoint serves exactly the graph the gate judged. No torch in this process.

Why the standard library (`ThreadingHTTPServer`) and a lock around the model, not gunicorn/uvicorn:
SageMaker Serverless wants one worker per container, and one CPU forward pass already uses every
core, so running two at once only makes both slower and doubles activation memory. Threads still
read, parse and validate requests in parallel while one of them holds the model. No extra
dependency in the serving image, and nothing to import before the model starts loading.

On SIGTERM the server stops accepting requests, lets the ones in flight finish (at most
`DRAIN_SECONDS`) and exits 0.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from textclf.atomic import DuplicateKey, unique_keys
from textclf.config import ServeParams
from textclf.serving import capture, fetch, signals
from textclf.serving.inference import ModelDirError, Predictor, check_model_dir, weights_digest
from textclf.text import normalise

__all__ = ["ModelDirError", "check_model_dir", "weights_digest"]  # the CLI names them from here

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
# The redeploy Lambda sets it on the SageMaker Model; without it the weights' digest names the model.
VERSION_ENV = "MODEL_VERSION"
# SageMaker's own payload limit for real-time endpoints; Serverless allows 4 MB of it.
MAX_BODY_BYTES = 6 * 1024 * 1024
WARM_UP_TEXT = "warm-up request: is the model answering?"
JSON_TYPES = ("application/json", "application/*", "*/*")
JSONLINES = "application/jsonlines"
# How long SIGTERM waits for requests in flight. Docker waits 10 s before SIGKILL, SageMaker 30 s;
# a batch of 32 long texts takes well under a second on 2 cores.
DRAIN_SECONDS = 8.0
# A client that announced a body must send all of it within this long, else 408 (a deadline for the
# whole body: a byte every few seconds does not extend it).
BODY_TIMEOUT_SECONDS = 30.0
# From a request's first byte, its request line and headers must arrive within this long.
HEADER_TIMEOUT_SECONDS = 10.0
# A kept-alive connection with no request starting frees its thread after this long.
IDLE_TIMEOUT_SECONDS = 60.0
# Connections served at once (one thread each); more are answered 503 at once, without a thread.
MAX_CONNECTIONS = 64
# Bodies larger than this are parsed and checked at most PARSE_SLOTS at a time: parsing holds 10 to 25
# times a body in Python objects (6 MB of two-letter CSV records: 125 MB at the peak), and with every
# connection parsing at once 64 of them held 8 GB before the batch limit refused them all. A normal
# batch (max_batch_size texts of max_text_chars) is smaller and never waits.
LARGE_BODY_BYTES = 256 * 1024
PARSE_SLOTS = 2
# How long a large body waits for a slot before a 503 (retry); parsing one takes about a second.
PARSE_WAIT_SECONDS = 10.0
# Content-Length is 1*DIGIT (RFC 9110 section 8.6); no sign, space, underscore or list.
CONTENT_LENGTH = re.compile(r"[0-9]{1,10}")
# The whitespace around a field value that is not part of it, and only that: RFC 9112 section 5
# frames a field line as `field-name ":" OWS field-value OWS`, with OWS = *( SP / HTAB ) (RFC 9110
# section 5.6.3), and RFC 9110 section 5.5 says "A field value does not include leading or trailing
# whitespace. When a specific version of HTTP allows such whitespace to appear in a message, a
# field parsing implementation MUST exclude such whitespace prior to evaluating the field value."
# So `Content-Length: 16 ` is the value "16" (refusing it would break that MUST); any other
# whitespace (VT, FF, a bare CR, NBSP, Unicode spaces) is inside the value and makes it invalid.
OWS = " \t"
# A Host field value: `uri-host [ ":" port ]` (RFC 9110 section 7.2), uri-host being RFC 3986's
# IP-literal, IPv4address or reg-name (unreserved, pct-encoded and sub-delims characters); empty is
# allowed (RFC 9112 section 3.2: a target without an authority gets an empty Host).
HOST = re.compile(r"(\[[A-Za-z0-9:._~!$&'()*+,;=-]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]*)?")
# Errors the standard library would answer with a 5xx although the client caused them.
CLIENT_STATUS = {HTTPStatus.NOT_IMPLEMENTED: HTTPStatus.METHOD_NOT_ALLOWED}
CLIENT_STATUS[HTTPStatus.HTTP_VERSION_NOT_SUPPORTED] = HTTPStatus.BAD_REQUEST


class ServeError(RuntimeError):
    """The server cannot start: a port in use, an unknown host, a capture setting it cannot use."""


class RequestError(Exception):
    """A bad request: answered with `status` and `message`, never raised past the handler."""

    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Limits:
    max_batch_size: int
    max_text_chars: int
    long_text: str  # "truncate" | "reject"
    # Emit one prediction-signals log line per request (deploy.serve.signals).
    signals: bool = False

    @classmethod
    def from_params(cls, serve: ServeParams) -> Limits:
        return cls(serve.max_batch_size, serve.max_text_chars, serve.long_text, serve.signals)


# ---------------------------------------------------------------------------------------------
# Requests


def _media_type(header: str | None) -> str:
    # OWS only (SP, HTAB): the API proxy strips the same, so both take or refuse one Content-Type.
    return (header or "").split(";", 1)[0].strip(OWS).lower()


def _charset(header: str | None) -> str | None:
    """The Content-Type's `charset` parameter, lower-case and unquoted (RFC 9110 section 8.3.2:
    parameter names and charset values are case-insensitive), or None when it has none. Two
    charsets are refused: "It is an error for a specific parameter to be specified more than once"
    (RFC 6838 section 4.3), and taking the first would decode a body its sender meant in the second."""
    charsets = []
    for parameter in (header or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip(OWS).lower() == "charset":
            charsets.append(value.strip(OWS).strip('"').lower())
    if len(charsets) > 1:
        raise _bad(
            f"Content-Type {_clip(header or '')!r} names {len(charsets)} charsets: send one (charset=utf-8)"
        )
    return charsets[0] if charsets else None


def _quality(media_range: str) -> float:
    """The `q` weight of one Accept media range (1 when absent or not a qvalue: RFC 9110 section
    12.4.2 allows 0 to 1 with at most three decimals)."""
    for parameter in media_range.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q" and re.fullmatch(r"0(\.\d{0,3})?|1(\.0{0,3})?", value.strip()):
            return float(value)
    return 1.0


def _bad(message: str) -> RequestError:
    return RequestError(HTTPStatus.BAD_REQUEST, message)


def _too_many(count: int | str, limit: int) -> RequestError:
    return RequestError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"{count} texts in one request; at most {limit} (deploy.serve.max_batch_size): split the batch",
    )


def _lines(text: str) -> int:
    """How many lines `text` has, a last one of only whitespace (the file's end) not counted: counted
    by the C loop of str.count, not by splitting 6 MB into 1.5 million strings."""
    last = text[text.rfind("\n") + 1 :]
    return text.count("\n") + (1 if last.strip() else 0)


def parse_csv(text: str, limit: int | None = None) -> list[str]:
    """One text per CSV record, one column. Only `\\n` and `\\r\\n` end a record; a record in double
    quotes may hold commas, line breaks and quotes (doubled inside the quotes). An unquoted record
    is the text as it is, commas included. More than `limit` records are refused as soon as seen (a
    body without quotes is counted first, exactly, by its line breaks)."""
    if limit is not None and '"' not in text:
        count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if count > limit:
            raise _too_many(count, limit)
    records: list[str] = []
    position, size = 0, len(text)
    while position < size:
        number = len(records) + 1
        if limit is not None and number > limit:
            raise _too_many(f"more than {limit}", limit)
        if text[position] == '"':
            record, position = _quoted_record(text, position, number)
        else:
            newline = text.find("\n", position)
            end = size if newline < 0 else newline
            record = text[position:end]
            if newline >= 0:
                record = record.removesuffix("\r")
            position = end + 1
        records.append(record)
    return records


def _quoted_record(text: str, start: int, number: int) -> tuple[str, int]:
    """The text of the quoted record at `start` and where the next record begins."""
    parts, position = [], start + 1
    while True:
        quote = text.find('"', position)
        if quote < 0:
            raise _bad(f"CSV record {number}: the opening double quote is never closed")
        parts.append(text[position:quote])
        if text.startswith('"', quote + 1):  # "" inside quotes is one quote
            parts.append('"')
            position = quote + 2
            continue
        after = quote + 1
        for ending in ("\r\n", "\n", ""):
            if text.startswith(ending, after) and (ending or after == len(text)):
                return "".join(parts), after + len(ending)
        raise _bad(
            f"CSV record {number}: text after the closing quote; send one text per record "
            f'(one column), with quotes inside a quoted text doubled ("")'
        )


class _LongNumber(Exception):
    """An integer literal longer than Python converts (sys.get_int_max_str_digits, 4300 by default)."""

    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _json_int(literal: str) -> int:
    try:
        return int(literal)
    except ValueError:  # "Exceeds the limit ... use sys.set_int_max_str_digits()": the owner's knob
        raise _LongNumber(len(literal.lstrip("-"))) from None


BOM = "\ufeff"


def _load_json(text: str, where: str) -> Any:
    if text.startswith(BOM):  # json's own message is advice to the programmer ("decode using utf-8-sig")
        raise _bad(f"{where} starts with a byte order mark (U+FEFF): send UTF-8 without it")
    try:
        # A key given twice is ambiguous (a proxy may read the first, Python the last): refused.
        return json.loads(text, object_pairs_hook=unique_keys, parse_int=_json_int)
    except DuplicateKey as duplicate:
        raise _bad(f"{where}: key {duplicate.key!r} is given twice in one object: send it once") from None
    except _LongNumber as number:
        raise _bad(
            f"{where}: a number of {number.digits:,} digits, too long to read; texts are JSON strings "
            '(send {"inputs": "..."})'
        ) from None
    except RecursionError:
        raise _bad(f"{where}: JSON nested too deeply") from None
    except ValueError as error:
        raise _bad(f"{where}: malformed JSON: {error}") from None


def parse_jsonlines(text: str, limit: int | None = None) -> list[str]:
    """One text per line: a JSON string, or `{"inputs": "text"}`. More than `limit` lines are refused
    before any is parsed (6 MB of one-character lines took 6 s of CPU to parse, then a 413)."""
    if limit is not None and (count := _lines(text)) > limit:
        raise _too_many(count, limit)
    lines = text.split("\n")
    if lines and not lines[-1].strip():
        lines.pop()  # the newline that ends the last line
    texts = []
    for number, line in enumerate(lines, start=1):
        value = _load_json(line, f"JSON line {number}") if line.strip() else None
        if isinstance(value, dict) and set(value) == {"inputs"}:
            value = value["inputs"]
        if not isinstance(value, str):
            raise _bad(f'JSON line {number}: expected a JSON string or {{"inputs": "text"}}, one per line')
        texts.append(value)
    return texts


def parse_json(text: str, limit: int | None = None) -> list[str]:
    """`{"inputs": ...}`. `limit` is left to check_texts: json.loads reads a list of a million texts
    in a tenth of a second, in C."""
    del limit
    payload = _load_json(text, "body")
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise _bad('expected a JSON object {"inputs": "text"} or {"inputs": ["text", ...]}')
    unknown = sorted(set(payload) - {"inputs"})
    if unknown:
        raise _bad(f"unknown keys {unknown}: only 'inputs' is accepted")
    inputs = payload["inputs"]
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list):
        raise _bad(f"'inputs' must be a string or a list of strings, not {type(inputs).__name__}")
    for index, item in enumerate(texts):
        if not isinstance(item, str):
            raise _bad(f"inputs[{index}] must be a string, not {type(item).__name__}")
    return texts


PARSERS = {"application/json": parse_json, "text/csv": parse_csv, JSONLINES: parse_jsonlines}
# The charsets a body may declare (lower-case), and how it is decoded: UTF-8 and its ASCII subset.
CHARSETS = {"utf-8": "utf-8", "us-ascii": "ascii"}


def content_parser(content_type: str | None) -> tuple[Any, str]:
    """The parser and codec of a Content-Type, or the 415 (or 400) it gets: decided by the header
    alone, so the server answers it before the body (Expect: 100-continue included)."""
    media_type = _media_type(content_type) or "application/json"
    parser = PARSERS.get(media_type)
    if parser is None:
        raise RequestError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"content type {media_type!r} is not supported: use application/json, text/csv or {JSONLINES}",
        )
    charset = _charset(content_type)
    codec = CHARSETS.get("utf-8" if charset is None else charset)
    if codec is None:
        # RFC 9110 section 15.5.16: 415 when the content is in a format the target does not support
        # "due to the request's indicated Content-Type"; decoding it as UTF-8 made a latin-1 body a
        # 400 "not valid UTF-8", and an ASCII one went through under a false label.
        raise RequestError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"charset {_clip(charset or '')!r} is not supported: send the body in UTF-8 "
            f"({media_type}; charset=utf-8, or no charset)",
        )
    return parser, codec


def parse_texts(body: bytes, content_type: str | None, limit: int | None = None) -> list[str]:
    """The texts a request carries, or a RequestError naming what is wrong; more than `limit` texts
    refused as early as the type allows (check_texts refuses them in any case)."""
    parser, codec = content_parser(content_type)
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        name = "UTF-8" if codec == "utf-8" else "US-ASCII"
        raise _bad(f"body is not valid {name} ({error.reason} at byte {error.start})") from None
    if text.startswith(BOM):
        # RFC 8259 section 8.1: a JSON text sent over a network carries no byte order mark; the API
        # proxy refuses one too. One rule for the three types (a CSV body's BOM was dropped).
        raise _bad("the body starts with a byte order mark (U+FEFF): send UTF-8 without it")
    return parser(text, limit)


def check_texts(texts: list[str], limits: Limits) -> tuple[list[str], list[bool]]:
    """Apply the configured limits: the texts to classify and which of them were truncated."""
    if not texts:
        raise _bad("empty input: send at least one text")
    if len(texts) > limits.max_batch_size:
        raise _too_many(len(texts), limits.max_batch_size)
    kept, truncated = [], []
    for index, text in enumerate(texts):
        _check_text(index, text)
        too_long = len(text) > limits.max_text_chars
        if too_long and limits.long_text == "reject":
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"text {index} has {len(text)} characters; at most {limits.max_text_chars} "
                f"(deploy.serve.max_text_chars)",
            )
        cut = text[: limits.max_text_chars]
        if too_long and not normalise(cut):
            # The model gets the cut text: the rule above, on the text as received, passed 300 spaces
            # and a message, and the model classified an empty text.
            raise _bad(
                f"text {index} is empty once cut to its first {limits.max_text_chars} characters "
                "(deploy.serve.max_text_chars) and normalised: they show nothing (only whitespace, "
                "control, format or combining characters); send the message without the leading blank "
                "characters"
            )
        kept.append(cut)
        truncated.append(too_long)
    return kept, truncated


def _check_text(index: int, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        raise _bad(f"text {index} holds a lone surrogate (U+{code:04X}): send valid Unicode") from None
    if not normalise(text):
        # The prepare stage refuses such rows too: nothing is left once the text is normalised.
        raise _bad(
            f"text {index} is empty once normalised: it shows nothing (only whitespace, control, format or "
            "combining characters)"
        )


# ---------------------------------------------------------------------------------------------
# The service behind the HTTP handler


class InferenceService:
    """Readiness, the predictor, the lock that keeps one prediction running at a time, and the
    requests in flight (so SIGTERM can let them finish)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.model_version = ""
        self.predictor: Predictor | None = None
        # Optional sampled capture of texts (deploy.serve.capture_fraction, textclf.serving.capture).
        self.capture: capture.Capture | None = None
        self._lock = threading.Lock()
        self._parsing = threading.BoundedSemaphore(PARSE_SLOTS)  # for bodies above LARGE_BODY_BYTES
        self._in_flight = 0
        self._idle = threading.Condition()

    def load(
        self, model_dir: Path, max_length: int, quantize: str, version: str | None, predictor_class=Predictor
    ) -> dict[str, float]:
        """Load the graph and run one warm-up prediction; /ping turns 200 only after both.
        `predictor_class` exists for the benchmark's PyTorch reference (bench/torch_reference.py)."""
        started = time.perf_counter()
        predictor = predictor_class(model_dir, max_length, quantize)
        loaded = time.perf_counter()
        try:
            [(_, score)] = predictor.predict([WARM_UP_TEXT])
        except ModelDirError:
            raise
        except Exception as error:  # a graph that loads but cannot run: the model, not a request
            raise ModelDirError(
                f"{model_dir}: the warm-up prediction failed ({error}); train again"
            ) from None
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            # A graph whose weights went NaN loads and runs: ready, it would answer every request 500.
            raise ModelDirError(
                f"{model_dir}: the warm-up prediction's score {score!r} is not a probability: the graph "
                "is damaged or not this project's export; train again (dvc repro) or fetch the model again"
            )
        warmed = time.perf_counter()
        self.model_version = version or f"local-{weights_digest(model_dir)}"
        self.predictor = predictor
        self.ready.set()
        return {"load_s": round(loaded - started, 3), "warm_up_s": round(warmed - loaded, 3)}

    @contextmanager
    def request(self) -> Iterator[None]:
        """Count a request in flight; refuse new ones once stopping."""
        if self.stopping.is_set():
            raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down: retry")
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def drain(self, timeout: float) -> int:
        """Wait until no request is in flight, at most `timeout` seconds; the number still running."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout)
            return self._in_flight

    def check_ready(self) -> None:
        """A 503 while the model loads."""
        if not self.ready.is_set() or self.predictor is None:
            raise RequestError(
                HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading: retry after /ping is 200"
            )

    @contextmanager
    def _parse_slot(self, size: int) -> Iterator[None]:
        """One of PARSE_SLOTS for a body above LARGE_BODY_BYTES (a 503 after PARSE_WAIT_SECONDS)."""
        if size <= LARGE_BODY_BYTES:
            yield
            return
        if not self._parsing.acquire(timeout=PARSE_WAIT_SECONDS):
            raise RequestError(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"the server is reading other large requests: retry shortly (bodies above "
                f"{LARGE_BODY_BYTES} bytes are read {PARSE_SLOTS} at a time)",
                {"Retry-After": "1"},
            )
        try:
            yield
        finally:
            self._parsing.release()

    def classify(self, body: bytes, content_type: str | None) -> list[dict[str, Any]]:
        return self.classify_with_signals(body, content_type)[0]

    def classify_with_signals(
        self, body: bytes, content_type: str | None
    ) -> tuple[list[dict[str, Any]], list[signals.TextSignal], float]:
        """The predictions, what the signals record of each text (empty when signals are off), and
        the milliseconds the model took (tokenizer, graph, softmax; not the wait for the lock)."""
        self.check_ready()
        with self._parse_slot(len(body)):
            received = parse_texts(body, content_type, self.limits.max_batch_size)
            texts, truncated = check_texts(received, self.limits)
        with self._lock:
            # Label, score, tokens the graph saw and whether model.max_length cut the text, from the
            # one tokenization the graph ran on (textclf.serving.inference.Prediction).
            began = time.perf_counter()
            results = self.predictor.classify(texts)
            graph_ms = (time.perf_counter() - began) * 1000
        for index, result in enumerate(results):
            # A softmax probability, or the graph is damaged (weights gone NaN): never `"score": NaN`
            # in an answer, a signal line or a captured record (RFC 8259 has no NaN).
            score = result.score
            if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
                raise RequestError(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    f"the model gave text {index} a score that is not a probability ({score!r}): its graph "
                    "is damaged or not this project's export; serve a model the gate passed",
                )
        predictions = [
            {"label": r.label, "score": r.score, "truncated": cut or r.truncated}
            for r, cut in zip(results, truncated, strict=True)
        ]
        if self.capture is not None:  # appends to a buffer; a thread writes
            self.capture.offer(received, predictions, self.model_version)
        if not self.limits.signals:
            return predictions, [], graph_ms
        recorded = [
            signals.TextSignal(r.label, r.score, len(text), r.tokens, cut or r.truncated)
            for r, text, cut in zip(results, received, truncated, strict=True)
        ]
        return predictions, recorded, graph_ms


def _answer_type(accept: str | None) -> str:
    """`application/json`, or JSON lines when the client accepts them and no JSON. A media range
    with `q=0` is "not acceptable" (RFC 9110, section 12.4.2), so it is not offered."""
    if not accept:
        return "application/json"
    offered = {_media_type(part) for part in accept.split(",") if _quality(part) > 0}
    if offered & set(JSON_TYPES):
        return "application/json"
    if JSONLINES in offered:
        return JSONLINES
    raise RequestError(
        HTTPStatus.NOT_ACCEPTABLE, f"answers are application/json or {JSONLINES}; Accept was {accept!r}"
    )


class _DeadlineReader(io.RawIOBase):
    """The connection's reads, each bounded by the time left to the current deadline (socket
    timeouts alone restart with every byte, so a client trickling one byte at a time never timed
    out). Waiting for a request on a kept-alive connection is bounded by the idle timeout; from its
    first byte, the request line and headers by the header timeout (a new connection's first request
    line and headers by the header timeout from the connection); the body by the body timeout (set by
    the handler)."""

    def __init__(self, connection: socket.socket, idle: float, header: float) -> None:
        self.connection, self.idle, self.header = connection, idle, header
        self.expect_request(first=True)

    def expect_request(self, first: bool = False) -> None:
        """The next request's deadline. A new connection's first request must arrive whole within
        the header timeout of the connection (a silent socket held a slot for the idle timeout, 60
        s: 64 of them took every slot, renewably); a kept-alive one may idle for the idle timeout."""
        if first:
            self.deadline, self.starting = time.monotonic() + self.header, False
        else:
            self.deadline, self.starting = time.monotonic() + self.idle, True

    def expect_body(self, seconds: float) -> None:
        self.deadline, self.starting = time.monotonic() + seconds, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self.connection.settimeout(left)
        count = self.connection.recv_into(buffer)
        if count and self.starting:  # a request began: its head must arrive in time
            self.deadline, self.starting = time.monotonic() + self.header, False
        return count


# The versions served (RFC 9112 section 2.3); any other is a 400 that says what to send.
SERVED_VERSIONS = frozenset({"HTTP/1.0", "HTTP/1.1"})


class _HeadLines:
    """The connection's reader while a request's head is parsed, keeping the lines it read."""

    def __init__(self, reader: io.BufferedReader) -> None:
        self.reader = reader
        self.lines: list[bytes] = []

    def readline(self, limit: int = -1) -> bytes:
        line = self.reader.readline(limit)
        self.lines.append(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


def _bare_cr_or_nul(lines: list[bytes]) -> bool:
    """Whether a line holds a CR that does not end it (before its LF) or a NUL."""
    for line in lines:
        content = line.removesuffix(b"\n").removesuffix(b"\r")
        if b"\r" in content or b"\0" in content:
            return True
    return False


BARE_CR_OR_NUL = (
    "a bare CR or a NUL in the request line or a header line (RFC 9112 section 2.2): end each line "
    "with CRLF and send no control characters in field values"
)
# The start of a field line: `field-name ":"`, field-name being a token (RFC 9112 section 5, RFC 9110
# sections 5.1 and 5.6.2). No whitespace before the colon, none at the start of the line (obs-fold).
FIELD_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:")
# RFC 9112 section 2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore
# at least one empty line (CRLF) received prior to the request-line." Up to this many are ignored.
EMPTY_LINES_IGNORED = 8
EMPTY_LINES = (b"\r\n", b"\n")  # a lone LF ends a line too (RFC 9112 section 2.2, as the parser reads)


def _malformed_field_line(lines: list[bytes]) -> bool:
    """Whether a header line is not `name: value` with a token for a name. Checked on the lines as
    received: the email parser Python reads headers with also parses by Content-Type, so its defects
    mix a malformed line with a multipart type without a body (refused as a malformed header, where a
    415 naming the types served was due) and a `message/rfc822` type gets a "payload"."""
    return any(line not in (*EMPTY_LINES, b"") and not FIELD_LINE.match(line) for line in lines)


class Handler(BaseHTTPRequestHandler):
    """One request: route, read the body, answer JSON. Every error becomes a JSON answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    server_version = "textclf"
    # Headers and body leave in one segment, unbuffered by Nagle: otherwise the body waits for the
    # client's delayed ACK of the headers, 40 ms per request (measured by bench/serve_bench.py).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS  # an idle kept-alive connection frees its thread after this long
    header_timeout = HEADER_TIMEOUT_SECONDS
    body_timeout = BODY_TIMEOUT_SECONDS
    write_timeout = 30.0  # a client that stops reading its answer
    service: InferenceService  # set on the subclass made by make_server

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the standard library's reader, unused: reads go through the deadlines
        self.reader = _DeadlineReader(self.connection, self.timeout, self.header_timeout)
        self._first = True
        self.rfile = io.BufferedReader(self.reader, 65536)

    def handle_one_request(self) -> None:
        if not self._first:  # the first request's deadline runs from the connection (setup)
            self.reader.expect_request()
        self._first = False
        self._continue = self._body_read = False
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The standard library's parse, then a 400 for a request line or header line holding a
        bare CR or a NUL. Python's header parser takes a bare CR for the end of a line (so
        `Content-Length: 5<CR><CR><LF>Transfer-Encoding: chunked` loses the second field, and
        `X-A: a<CR>Content-Length: 9` makes two), where RFC 9112 section 2.2 says "A recipient of
        such a bare CR MUST consider that element to be invalid or replace each bare CR with SP":
        a proxy that replaces it frames the request differently, so it is refused (RFC 9110 section
        5.5: a recipient of CR, LF or NUL within a field value MUST reject the message or replace
        them with SP)."""
        self.close_connection = True  # until a request line is read (as the standard library does)
        for _ in range(EMPTY_LINES_IGNORED):
            if self.raw_requestline not in EMPTY_LINES:
                break
            # An empty line before the request line (RFC 9112 section 2.2, above): a client may send
            # a CRLF after a body; it closed the connection unanswered.
            self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:  # empty lines, then the end of the connection: no request
            return False
        if len(self.raw_requestline) > 65536:
            self.command, self.request_version = None, "HTTP/1.1"
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        words = self.raw_requestline.split()
        version = words[2].decode("latin-1") if len(words) == 3 else None
        if _bare_cr_or_nul([self.raw_requestline]):
            # Before the words are counted: `GET /ping HTTP/1.1<CR>Host: x` is one line to the
            # parser, whose last word `x` it took for the version ("Bad request version ('x')").
            refusal = BARE_CR_OR_NUL
        elif not words:
            # A line of spaces, or more empty lines than are ignored: the standard library closed
            # the connection unanswered.
            refusal = (
                "no request line (an empty line or only whitespace): send `GET /ping HTTP/1.1` or "
                "`POST /invocations HTTP/1.1` first (RFC 9112 section 3)"
            )
        elif len(words) == 2:
            # `GET /ping` with no version is HTTP/0.9, whose answer has no status line or headers
            # (the standard library would then wait for headers and answer the body alone). RFC 9112
            # section 3: request-line = method SP request-target SP HTTP-version.
            refusal = (
                "a request line without an HTTP version: send `GET /ping HTTP/1.1` (HTTP/0.9 is not served)"
            )
        elif version is not None and version not in SERVED_VERSIONS:
            # `HTTP/0.9` written out took the standard library's 0.9 path (a body alone, no status line
            # or headers), and `HTTP/1.10` was served as 1.1 (issue 27, round 10, U-r10-6). RFC 9112
            # section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT.
            refusal = f"HTTP version {version[:20]!r} is not served: send HTTP/1.1 (or HTTP/1.0)"
        else:
            refusal = None
        if refusal is not None:  # refused at once, in HTTP/1.1
            self.command, self.request_version = None, "HTTP/1.1"
            self.send_error(HTTPStatus.BAD_REQUEST, refusal)
            return False
        recorder = _HeadLines(self.rfile)
        self.rfile = recorder  # type: ignore[assignment]
        try:
            parsed = super().parse_request()
        finally:
            self.rfile = recorder.reader
        if parsed and _bare_cr_or_nul(recorder.lines):
            self.send_error(HTTPStatus.BAD_REQUEST, BARE_CR_OR_NUL)
            return False
        if parsed and _malformed_field_line(recorder.lines):
            # A line the parser could not read as `name: value` (`Content-Length : 5`, `Bad Name: x`,
            # a first line starting with whitespace) makes it drop it and every field after it, the
            # framing fields included; RFC 9112 section 5.1: a server "MUST reject, with a response
            # status code of 400 (Bad Request), any received request message that contains
            # whitespace between a header field name and colon". A line folded onto the one before
            # (obs-fold) kept its CRLF inside the value; RFC 9112 section 5.2: a server "MUST either
            # reject the message by sending a 400 (Bad Request) ... or replace each received obs-fold
            # with one or more SP octets".
            self.send_error(
                HTTPStatus.BAD_REQUEST,
                "a header line that is not `name: value` (a field name is one token, with no "
                "whitespace before the colon, and no line starts with whitespace; RFC 9112 section 5)",
            )
            return False
        problem = self._host_problem() if parsed else None
        if problem:
            self.send_error(HTTPStatus.BAD_REQUEST, problem)
            return False
        return parsed

    def _host_problem(self) -> str | None:
        """RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
        HTTP/1.1 request message that lacks a Host header field and to any request message that
        contains more than one Host header field line or a Host header field with an invalid field
        value." (A proxy and this server could otherwise route one request to two hosts.)"""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return f"{len(hosts)} Host headers: send exactly one (RFC 9112 section 3.2)"
        if not hosts and self.request_version != "HTTP/1.0":
            return "no Host header: an HTTP/1.1 request must carry one (RFC 9112 section 3.2)"
        if hosts and not HOST.fullmatch(hosts[0].strip(OWS)):
            host = _clip(_as_sent(hosts[0].strip(OWS)))
            return (
                f"Host {host!r} is not a host name or address with an optional port (RFC 9112 section "
                "3.2, RFC 9110 section 7.2)"
            )
        return None

    def _shown_path(self) -> str:
        """The request target as sent, cut as the other echoes of a request are (it may be 64 KiB)."""
        path = _as_sent(self.path)
        return repr(path) if len(path) <= 100 else f"{path[:100] + '...'!r} ({len(path)} characters)"

    def do_GET(self) -> None:
        if self.headers.get("Content-Length") or "Transfer-Encoding" in self.headers:
            # A GET that announces a body: its bytes are never read, so they must not be taken for
            # the next request on this connection (a proxy counts them as this one's body, RFC 9112
            # section 6.3): answered, then the connection is closed.
            self.close_connection = True
        if urlsplit(self.path).path == "/invocations":
            return self._method_not_allowed()
        if urlsplit(self.path).path != "/ping":
            return self._send(
                HTTPStatus.NOT_FOUND, {"error": f"no such path {self._shown_path()}: use GET /ping"}
            )
        if self.service.stopping.is_set():
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "stopping"})
        if self.service.ready.is_set():
            return self._send(HTTPStatus.OK, {"status": "ready", "model_version": self.service.model_version})
        return self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "loading"})

    # RFC 9110 section 9.1: "All general-purpose servers MUST support the methods GET and HEAD";
    # section 9.3.2: HEAD is GET without the content, with the same header fields (Content-Length
    # included). _write leaves the body out for a HEAD request.
    do_HEAD = do_GET

    def do_POST(self) -> None:
        if urlsplit(self.path).path == "/ping":
            return self._method_not_allowed()
        if urlsplit(self.path).path != "/invocations":
            self.close_connection = True  # the body was not read
            return self._send(
                HTTPStatus.NOT_FOUND,
                {"error": f"no such path {self._shown_path()}: use POST /invocations"},
            )
        try:
            with self.service.request():
                started = time.perf_counter()
                answer_type = _answer_type(self._accept())
                self._check_content_coding()
                if self._continue:
                    # Expect: 100-continue: what the head decides is answered before the body is
                    # invited (RFC 9110 section 10.1.1). Otherwise the body, already on its way, is read
                    # first: closing a connection with its bytes unread resets it, and the client may
                    # lose the answer.
                    content_parser(self._content_type())
                    self.service.check_ready()
                body = self._read_body()
                content_type = self._content_type()
                predictions, recorded, graph_ms = self.service.classify_with_signals(body, content_type)
                self._answer(answer_type, predictions)
                if recorded:  # after the answer: the client does not wait for the log line
                    latency_ms = (time.perf_counter() - started) * 1000
                    _emit(signals.lines(recorded, latency_ms, self.service.model_version, graph_ms))
                return None
        except RequestError as error:
            if not self._body_read:
                self.close_connection = True  # the body is unread: its bytes are no next request
            return self._send(error.status, {"error": error.message}, error.headers)
        except Exception as error:  # a bug must cost one request, never the server
            self.log_error("prediction failed: %r", error)
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"prediction failed: {error}"})

    def _answer(self, answer_type: str, predictions: list[dict[str, Any]]) -> None:
        headers = {"X-Model-Version": self.service.model_version}
        if self.service.stopping.is_set():
            self.close_connection = True  # the last answer on this connection
        if answer_type == JSONLINES:
            lines = "".join(json.dumps(p) + "\n" for p in predictions)
            return self._write(HTTPStatus.OK, lines.encode("utf-8"), JSONLINES, headers)
        return self._send(
            HTTPStatus.OK, {"model_version": self.service.model_version, "predictions": predictions}, headers
        )

    def _method_not_allowed(self) -> None:
        """405 with the Allow header a 405 must carry (RFC 9110, section 15.5.6): the path's one
        method, or both for another path."""
        self.close_connection = True  # a body, if any, was not read
        allowed = {"/ping": "GET, HEAD", "/invocations": "POST"}.get(urlsplit(self.path).path)
        message = (
            f"use {allowed.split(',')[0]} {urlsplit(self.path).path}"
            if allowed
            else "use GET /ping or POST /invocations"
        )
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": message}, {"Allow": allowed or "GET, HEAD, POST"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

    def _check_content_coding(self) -> None:
        """The body is read as it comes: a content coding (gzip, br, ...) would be classified as
        compressed bytes. RFC 9110 section 15.5.16: 415 for "a content coding that is not
        acceptable", with Accept-Encoding naming the codings accepted (section 12.5.3)."""
        codings = [
            coding.strip(OWS).lower()
            for value in self.headers.get_all("Content-Encoding") or []
            for coding in value.split(",")
            if coding.strip(OWS)
        ]
        refused = [coding for coding in codings if coding != "identity"]
        if refused:
            self.close_connection = True  # the body is not read
            raise RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Encoding {_clip(', '.join(refused))!r} is not accepted: send the body "
                "uncompressed, without Content-Encoding (RFC 9110 section 8.4)",
                {"Accept-Encoding": "identity"},
            )

    def _accept(self) -> str | None:
        """The Accept field lines as one list: Accept is a comma-separated list (RFC 9110 section
        12.5.1), whose lines a recipient may combine without changing the message's meaning (section
        5.3); reading the first line only answered `Accept: application/jsonlines` then `Accept:
        application/json` otherwise than the same list on one line."""
        lines = self.headers.get_all("Accept")
        return ", ".join(line.strip(OWS) for line in lines) if lines else None

    def _content_type(self) -> str | None:
        """The one Content-Type field: RFC 9110 section 5.3 lets a field occur twice only when its
        definition is a comma-separated list, which Content-Type's (section 8.3) is not, so two
        are refused rather than the first taken, as for Host."""
        fields = self.headers.get_all("Content-Type") or []
        if len(fields) > 1:
            raise _bad(f"{len(fields)} Content-Type headers: send exactly one (RFC 9110 section 5.3)")
        return fields[0] if fields else None

    def handle_expect_100(self) -> bool:
        """`Expect: 100-continue`: the 100 is sent when the body is about to be read (_read_body),
        after every check the head decides, each of which answers with its final status instead (RFC
        9110 section 10.1.1). The standard library sent it from parse_request, before this server's
        own checks of the head, into the 64 KiB write buffer: it left only with the final answer."""
        self._continue = True
        return True

    def _read_body(self) -> bytes:
        size = self._content_length()
        if self._continue and size:
            self.connection.settimeout(self.write_timeout)
            self.send_response_only(HTTPStatus.CONTINUE)
            self.end_headers()
            self.wfile.flush()
            self._continue = False
        self._body_read = True  # from here the framing is known: a refusal may keep the connection
        self.reader.expect_body(self.body_timeout)
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the body stopped arriving before its Content-Length of {size} bytes "
                f"(all of it must arrive within {self.body_timeout:g} s)",
            ) from None
        if len(body) < size:
            self.close_connection = True
            raise _bad(f"the body ended after {len(body)} of the {size} bytes its Content-Length announced")
        return body

    def _content_length(self) -> int:
        """The body's length, from exactly one valid Content-Length (RFC 9112 section 6.3: several
        or an invalid one make the framing ambiguous, so the connection is closed after the 4xx)."""
        lengths = self.headers.get_all("Content-Length") or []
        if "Transfer-Encoding" in self.headers:
            # Whatever its value, an empty one included: RFC 9112 section 6.1, a request with both
            # Transfer-Encoding and Content-Length is refused or framed by Transfer-Encoding alone,
            # and the connection "MUST" be closed after the answer.
            self.close_connection = True
            raise RequestError(
                HTTPStatus.LENGTH_REQUIRED,
                "Transfer-Encoding is not accepted (RFC 9112 section 6.1): send the body with a "
                "Content-Length header only",
            )
        if not lengths:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length header")
        if len(lengths) > 1:
            self.close_connection = True
            raise _bad(f"{len(lengths)} Content-Length headers: send exactly one")
        length = lengths[0].strip(OWS)  # optional whitespace around the value (OWS above)
        if not CONTENT_LENGTH.fullmatch(length):
            self.close_connection = True
            raise _bad(f"Content-Length {_clip(lengths[0])!r} is not a number of bytes (digits only)")
        size = int(length)
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {size} bytes; at most {MAX_BODY_BYTES}"
            )
        return size

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's errors (request line, headers, unknown methods) as JSON 4xx."""
        status = CLIENT_STATUS.get(HTTPStatus(code), HTTPStatus(code))
        if self.request_version == "HTTP/0.9":  # a malformed request line: answer in HTTP/1.1
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        hint = "use GET /ping or POST /invocations" if code == HTTPStatus.NOT_IMPLEMENTED else ""
        detail = message or HTTPStatus(code).phrase
        self._send(status, {"error": f"{detail}: {hint}" if hint else detail})

    def _send(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._write(status, body, "application/json", headers)

    def _write(
        self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.connection.settimeout(self.write_timeout)  # reads left it at their deadline's remainder
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has the headers of GET's and no content
            self.wfile.write(body)
        self.wfile.flush()  # before the request counts as done: a draining server may exit next

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request would dominate the logs under load: log only server errors (503
        # while loading is expected, not an error).
        if isinstance(code, int) and code >= 500 and code != HTTPStatus.SERVICE_UNAVAILABLE:
            super().log_request(code, size)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connections waits in the backlog instead of being refused
    max_connections = MAX_CONNECTIONS

    def server_activate(self) -> None:
        super().server_activate()
        self.slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection up to max_connections; beyond, a 503 without a thread."""
        if not self.slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps({"error": "too many connections at once: retry shortly"}).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(0.5)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is one log line, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            _log(status="client_disconnected", client=str(client_address[0]), error=repr(error))
            return
        super().handle_error(request, client_address)


def make_server(
    host: str,
    port: int,
    service: InferenceService,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    header_timeout: float = HEADER_TIMEOUT_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
) -> Server:
    """The server, listening; ServeError when the address cannot be used."""
    if _ipv6(host):
        raise ServeError(
            f"cannot listen on {host!r}: IPv6 addresses are not served (the server listens on IPv4); pass "
            "--host 127.0.0.1 for this machine only, or 0.0.0.0 for every interface"
        )
    bound = {"service": service, "body_timeout": body_timeout, "header_timeout": header_timeout}
    handler = type("BoundHandler", (Handler,), bound)
    server_class = type("BoundServer", (Server,), {"max_connections": max_connections})
    try:
        return server_class((host, port), handler)
    except socket.gaierror as error:
        if error.errno == getattr(socket, "EAI_ADDRFAMILY", None):  # a name with IPv6 addresses only
            raise ServeError(
                f"cannot listen on {host!r}: it has no IPv4 address, and the server listens on IPv4; "
                "pass --host 127.0.0.1 for this machine only, or 0.0.0.0 for every interface"
            ) from None
        raise ServeError(f"cannot listen on {host!r}: unknown host ({error.strerror}); pass --host") from None
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServeError(
            f"cannot listen on {host}:{port} ({reason}); pass another --port (0 picks a free one) or --host"
        ) from None


def _ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).version == 6
    except ValueError:
        return False


def _as_sent(text: str) -> str:
    """A request line's or header's text as the client wrote it: http.server decodes their bytes as
    latin-1 (RFC 9110 section 5.5), so UTF-8 `bücher` read as `bÃ¼cher`; bytes that are not UTF-8
    are shown escaped (\\xff)."""
    try:
        return text.encode("latin-1").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # not from the wire
        return text


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# The `textclf serve` program


def _log(**fields: Any) -> None:
    print(json.dumps({"component": "serve", **fields}), file=sys.stderr, flush=True)


_EMIT_LOCK = threading.Lock()


def _emit(lines: list[str]) -> None:
    """Prediction signals to stderr, which SageMaker sends to the endpoint's log group like stdout.
    Not stdout: a parent that reads only the first stdout line ({"listening": ...}) would let the
    pipe fill and block the server. One write per line under a lock: lines never interleave."""
    with _EMIT_LOCK:
        for line in lines:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


# What MODEL_VERSION may hold: it is sent in every answer's X-Model-Version header, so visible ASCII
# only (RFC 9110 section 5.5: a CR or LF would end the header and start another). The release gives
# the commit; a person may give a tag such as v-1.2.
MODEL_VERSION = re.compile(r"[\x21-\x7e]{1,128}")


def checked_version(version: str) -> str:
    """MODEL_VERSION as given, or ServeError naming it (the server refuses it before listening)."""
    if not MODEL_VERSION.fullmatch(version):
        raise ServeError(
            f"environment variable {VERSION_ENV}={_clip(repr(version))}: must be 1 to 128 visible ASCII "
            "characters (the release sets the model's git commit), no spaces or line breaks: it is sent "
            "in every answer's X-Model-Version header; unset it to use the weights' digest"
        )
    return version


def run(
    model_dir: Path,
    host: str,
    port: int,
    serve_params: ServeParams,
    max_length: int,
    predictor_class=Predictor,
) -> None:
    """Listen at once (so /ping answers 503 while loading), load and warm up, then serve until
    SIGTERM or SIGINT. Prints `{"listening": URL}` on stdout when the socket is bound."""
    # Signals only record themselves: a handler that took a lock (Event.set, Thread.start) could
    # deadlock when a second signal interrupted it (SIGTERM then SIGINT within milliseconds left the
    # server serving). The main thread acts on them.
    version = os.environ.get(VERSION_ENV)
    if version is not None:
        version = checked_version(version)
    # The same record stops the model's download at once (ECS's SIGTERM, a person's Ctrl-C): a
    # download can block in a read for a minute, and the task would wait for ECS's SIGKILL.
    stops = fetch.StopSignals().install()
    received = stops.received
    started = time.perf_counter()
    try:  # ECS: the released model, checked against its sha256
        fetch.from_environment(model_dir, stops, say=_log)
    except fetch.Interrupted as error:
        _log(status="stopped", reason=str(error))  # stopped as asked, as when serving
        return
    if predictor_class is Predictor:  # a wrong folder fails before anything listens
        check_model_dir(model_dir, serve_params.quantize)
    service = InferenceService(Limits.from_params(serve_params))
    try:
        service.capture = capture.from_environment(serve_params.capture_fraction)
    except (ValueError, OSError) as error:
        raise ServeError(
            f"sampled capture (deploy.serve.capture_fraction, {capture.URI_ENV}): {error}"
        ) from None
    server = make_server(host, port, service)
    url = f"http://{server.server_address[0]}:{server.server_address[1]}"
    print(json.dumps({"listening": url}), flush=True)
    worker = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    worker.start()
    try:  # a signal meanwhile is acted on once the model is loaded (a fraction of a second)
        timings = service.load(model_dir, max_length, serve_params.quantize, version, predictor_class)
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    _log(
        status="ready",
        url=url,
        model_dir=str(model_dir),
        model_version=service.model_version,
        graph=getattr(service.predictor, "graph", Path("-")).name,
        ready_s=round(time.perf_counter() - started, 3),
        **timings,
    )
    while not received and worker.is_alive():
        worker.join(0.1)
    service.stopping.set()  # requests on open connections get 503 from now on
    server.shutdown()  # no new connections
    server.server_close()
    left = service.drain(DRAIN_SECONDS)
    if service.capture is not None:
        service.capture.close()  # what is buffered is written, within capture.CLOSE_SECONDS
        _log(status="capture", **service.capture.stats)
    if left:
        _log(status="stopped", dropped_requests=left, drain_s=DRAIN_SECONDS)
        os._exit(1)  # requests still running after the bound: say so, do not wait for them
    _log(status="stopped")


def port_number(text: str) -> int:
    """A TCP port, 0-65535 (0: a free one), in ASCII digits; the message names where a port may
    come from. int() reads any script's digits: --port ８０ (full-width) listened on port 80."""
    digits = text.strip()
    port = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number 0-65535 (from --port, TEXTCLF_PORT or SAGEMAKER_BIND_TO_PORT)"
        )
    return port


def host_name(text: str) -> str:
    """An address to listen on. Empty is refused: the socket layer reads "" as every interface, so
    an empty TEXTCLF_HOST would have exposed the server beyond this machine without a word."""
    if not text or len(text) > 253 or any(c.isspace() or not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not a host to listen on (from --host or TEXTCLF_HOST): pass an address "
            "or name, 127.0.0.1 for this machine only, 0.0.0.0 for every interface"
        )
    return text


def add_arguments(command: argparse.ArgumentParser) -> None:
    """`textclf serve` flags. Environment variables set the defaults, so an image sets them once."""
    env = os.environ.get
    # An empty variable is unset (an empty path would be the working directory).
    command.set_defaults(params=env("TEXTCLF_PARAMS") or "params.yaml")
    command.add_argument(
        "--model-dir",
        default=env("TEXTCLF_MODEL_DIR") or DEFAULT_MODEL_DIR,
        help="the trained model folder (env TEXTCLF_MODEL_DIR; default: %(default)s)",
    )
    command.add_argument(
        "--host",
        type=host_name,
        default=env("TEXTCLF_HOST", "127.0.0.1"),
        help="address to listen on (env TEXTCLF_HOST; 0.0.0.0 in a container; default: %(default)s)",
    )
    command.add_argument(
        "--port",
        type=port_number,  # argparse applies it to the default too, and only when serve runs
        default=env("TEXTCLF_PORT") or env("SAGEMAKER_BIND_TO_PORT") or str(DEFAULT_PORT),
        help="port (env TEXTCLF_PORT or SAGEMAKER_BIND_TO_PORT; 0 = a free one; default: %(default)s)",
    )
