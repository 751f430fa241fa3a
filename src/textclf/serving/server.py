"""The inference server: SageMaker's container contract on one port (8080 by default).

- `GET /ping`: 200 once the model is loaded and a warm-up prediction succeeded, 503 before.
- `POST /invocations`: classify texts. JSON `{"inputs": "text"}` or `{"inputs": ["a", "b"]}`, or
  `text/csv` with one text per line. The answer is always JSON:
  `{"model_version": "...", "predictions": [{"label": "...", "score": 0.97, "truncated": false}]}`,
  one prediction per input, in order. Errors are JSON `{"error": "..."}` with a 4xx status: 400 for
  malformed JSON, wrong types and empty input, 411 without Content-Length, 413 for too many texts,
  too long a text (when `deploy.serve.long_text` is `reject`) or too big a body, 415 for another
  content type, 406 when the client accepts no JSON.

Why the standard library (`ThreadingHTTPServer`) and a lock around the model, not gunicorn/uvicorn:
SageMaker Serverless wants one worker per container, and one CPU forward pass already uses every
core, so running two at once only makes both slower and doubles activation memory. Threads still
read, parse and validate requests in parallel while one of them holds the model. No extra
dependency in the serving image, and nothing to import before the model starts loading.

The model folder is the one the train stage writes and `model.tar.gz` carries (SageMaker extracts
it to /opt/ml/model): HuggingFace `save_pretrained` files, the tokenizer, and `labels.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from textclf.config import ServeParams
from textclf.text import normalise

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
# The redeploy Lambda sets it on the SageMaker Model; without it the weights' digest names the model.
VERSION_ENV = "MODEL_VERSION"
# SageMaker's own payload limit for real-time endpoints; Serverless allows 4 MB of it.
MAX_BODY_BYTES = 6 * 1024 * 1024
WARM_UP_TEXT = "warm-up request: is the model answering?"
JSON_TYPES = ("application/json", "application/*", "*/*")


class ModelDirError(RuntimeError):
    """The model folder is missing or does not hold a trained model."""


class RequestError(Exception):
    """A bad request: answered with `status` and `message`, never raised past the handler."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_batch_size: int
    max_text_chars: int
    long_text: str  # "truncate" | "reject"

    @classmethod
    def from_params(cls, serve: ServeParams) -> Limits:
        return cls(serve.max_batch_size, serve.max_text_chars, serve.long_text)


# ---------------------------------------------------------------------------------------------
# The model


def check_model_dir(model_dir: Path) -> list[str]:
    """The labels of the model in `model_dir`, or a ModelDirError that says what to do."""
    if not model_dir.is_dir():
        raise ModelDirError(
            f"model folder {model_dir} does not exist: train one with `make repro` (writes models/model) "
            f"or pass --model-dir / set TEXTCLF_MODEL_DIR"
        )
    missing = [name for name in ("config.json", "labels.json") if not (model_dir / name).is_file()]
    if missing:
        raise ModelDirError(
            f"model folder {model_dir} lacks {', '.join(missing)}: it is not a model the train stage "
            f"wrote (expected HuggingFace save_pretrained files, the tokenizer and labels.json)"
        )
    try:
        labels = json.loads((model_dir / "labels.json").read_text(encoding="utf-8"))["labels"]
    except (ValueError, KeyError, TypeError) as error:
        raise ModelDirError(f'{model_dir / "labels.json"}: expected {{"labels": [...]}} ({error})') from None
    return list(labels)


def weights_digest(model_dir: Path) -> str:
    """A short digest of the weights: names a model that came without a version."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    digest = hashlib.sha256()
    for path in weights or [model_dir / "config.json"]:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


class Classifier:
    """The tokenizer and model, loaded once. Not thread-safe: the server calls it under a lock."""

    def __init__(self, model_dir: Path, max_length: int, quantize: str = "none") -> None:
        labels = check_model_dir(model_dir)  # before the slow imports: a wrong folder fails fast
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a progress bar per load is noise in a server's log
        self._torch = torch
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
        id2label = {int(i): label for i, label in model.config.id2label.items()}
        if [id2label[i] for i in sorted(id2label)] != labels:
            raise ModelDirError(
                f"{model_dir}: config.json id2label {id2label} does not match labels.json {labels}; "
                f"the folder mixes files of two models"
            )
        self.labels = labels
        self.model = quantize_int8(model) if quantize == "int8" else model

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(label, probability) for each text, in order."""
        # The same clean-up the training data had (textclf.text.normalise), so serving sees text
        # in the form the model was trained on.
        batch = self.tokenizer(
            [normalise(text) for text in texts],
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        with self._torch.inference_mode():
            probabilities = self.model(**batch).logits.softmax(dim=-1)
        scores, indices = probabilities.max(dim=-1)
        return [(self.labels[i], round(s, 6)) for i, s in zip(indices.tolist(), scores.tolist(), strict=True)]


def quantize_int8(model):
    """Dynamic int8 quantization of the Linear layers (weights int8, activations quantized on the fly)."""
    import torch

    with warnings.catch_warnings():
        # Deprecated in favour of torchao, which would be one more dependency; still works in torch 2.x.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


# ---------------------------------------------------------------------------------------------
# Requests


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _unquote_csv_line(line: str) -> str:
    """`"a, ""quoted"" text"` -> `a, "quoted" text`; an unquoted line is the text as it is."""
    if len(line) >= 2 and line[0] == '"' and line[-1] == '"':
        return line[1:-1].replace('""', '"')
    return line


def parse_texts(body: bytes, content_type: str | None) -> list[str]:
    """The texts a request carries, or a RequestError naming what is wrong."""
    media_type = _media_type(content_type) or "application/json"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid UTF-8 ({error.reason})") from None
    if media_type == "text/csv":
        lines = text.splitlines()
        if not lines:
            raise RequestError(HTTPStatus.BAD_REQUEST, "empty input: send one text per line")
        return [_unquote_csv_line(line) for line in lines]
    if media_type != "application/json":
        raise RequestError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"content type {media_type!r} is not supported: use application/json or text/csv",
        )
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {error}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, 'expected a JSON object {"inputs": "text"} or {"inputs": ["text", ...]}'
        )
    unknown = sorted(set(payload) - {"inputs"})
    if unknown:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"unknown keys {unknown}: only 'inputs' is accepted")
    inputs = payload["inputs"]
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list):
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"'inputs' must be a string or a list of strings, not {type(inputs).__name__}",
        )
    for index, item in enumerate(texts):
        if not isinstance(item, str):
            raise RequestError(
                HTTPStatus.BAD_REQUEST, f"inputs[{index}] must be a string, not {type(item).__name__}"
            )
    return texts


def check_texts(texts: list[str], limits: Limits) -> tuple[list[str], list[bool]]:
    """Apply the configured limits: the texts to classify and which of them were truncated."""
    if not texts:
        raise RequestError(HTTPStatus.BAD_REQUEST, "empty input: send at least one text")
    if len(texts) > limits.max_batch_size:
        raise RequestError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"{len(texts)} texts in one request; at most {limits.max_batch_size} "
            f"(deploy.serve.max_batch_size): split the batch",
        )
    kept, truncated = [], []
    for index, text in enumerate(texts):
        if not text.strip():
            raise RequestError(HTTPStatus.BAD_REQUEST, f"text {index} is empty")
        too_long = len(text) > limits.max_text_chars
        if too_long and limits.long_text == "reject":
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"text {index} has {len(text)} characters; at most {limits.max_text_chars} "
                f"(deploy.serve.max_text_chars)",
            )
        kept.append(text[: limits.max_text_chars])
        truncated.append(too_long)
    return kept, truncated


# ---------------------------------------------------------------------------------------------
# The service behind the HTTP handler


class InferenceService:
    """Readiness, the model and the lock that keeps one prediction running at a time."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.ready = threading.Event()
        self.model_version = ""
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()

    def load(self, model_dir: Path, max_length: int, quantize: str, version: str | None) -> dict[str, float]:
        """Load the model and run one warm-up prediction; /ping turns 200 only after both."""
        started = time.perf_counter()
        classifier = Classifier(model_dir, max_length, quantize)
        loaded = time.perf_counter()
        classifier.predict([WARM_UP_TEXT])
        warmed = time.perf_counter()
        self.model_version = version or f"local-{weights_digest(model_dir)}"
        self._classifier = classifier
        self.ready.set()
        return {"load_s": round(loaded - started, 3), "warm_up_s": round(warmed - loaded, 3)}

    def classify(self, body: bytes, content_type: str | None) -> dict[str, Any]:
        if not self.ready.is_set() or self._classifier is None:
            raise RequestError(
                HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading: retry after /ping is 200"
            )
        texts, truncated = check_texts(parse_texts(body, content_type), self.limits)
        with self._lock:
            results = self._classifier.predict(texts)
        return {
            "model_version": self.model_version,
            "predictions": [
                {"label": label, "score": score, "truncated": cut}
                for (label, score), cut in zip(results, truncated, strict=True)
            ],
        }


class Handler(BaseHTTPRequestHandler):
    """One request: route, read the body, answer JSON. Every error becomes a JSON answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    server_version = "textclf"
    # Headers and body leave in one segment, unbuffered by Nagle: otherwise the body waits for the
    # client's delayed ACK of the headers, 40 ms per request (measured by bench/serve_bench.py).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 60  # a client that stops sending mid-request frees its thread after this long
    service: InferenceService  # set on the subclass made by make_server

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/ping":
            return self._send(HTTPStatus.NOT_FOUND, {"error": f"no such path {self.path!r}: use GET /ping"})
        if self.service.ready.is_set():
            return self._send(HTTPStatus.OK, {"status": "ready", "model_version": self.service.model_version})
        return self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "loading"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/invocations":
            self.close_connection = True  # the body was not read
            return self._send(
                HTTPStatus.NOT_FOUND, {"error": f"no such path {self.path!r}: use POST /invocations"}
            )
        try:
            self._check_accept()
            body = self._read_body()
            answer = self.service.classify(body, self.headers.get("Content-Type"))
        except RequestError as error:
            return self._send(error.status, {"error": error.message})
        except Exception as error:  # a bug must cost one request, never the server
            self.log_error("prediction failed: %r", error)
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"prediction failed: {error}"})
        headers = {"X-Model-Version": self.service.model_version}
        return self._send(HTTPStatus.OK, answer, headers)

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use GET /ping or POST /invocations"})

    do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _check_accept(self) -> None:
        accept = self.headers.get("Accept")
        if accept and not any(_media_type(part) in JSON_TYPES for part in accept.split(",")):
            self.close_connection = True
            raise RequestError(
                HTTPStatus.NOT_ACCEPTABLE, f"answers are application/json; Accept was {accept!r}"
            )

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length header")
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length!r} is not a number") from None
        if size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {size} bytes; at most {MAX_BODY_BYTES}"
            )
        return self.rfile.read(size)

    def _send(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request would dominate the logs under load: log only server errors (503
        # while loading is expected, not an error).
        if isinstance(code, int) and code >= 500 and code != HTTPStatus.SERVICE_UNAVAILABLE:
            super().log_request(code, size)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connections waits in the backlog instead of being refused


def make_server(host: str, port: int, service: InferenceService) -> Server:
    handler = type("BoundHandler", (Handler,), {"service": service})
    return Server((host, port), handler)


# ---------------------------------------------------------------------------------------------
# The `textclf serve` program


def _log(**fields: Any) -> None:
    print(json.dumps({"component": "serve", **fields}), file=sys.stderr, flush=True)


def run(
    model_dir: Path,
    host: str,
    port: int,
    serve_params: ServeParams,
    max_length: int,
) -> None:
    """Listen at once (so /ping answers 503 while loading), load and warm up, then serve until
    SIGTERM or SIGINT. Prints `{"listening": URL}` on stdout when the socket is bound."""
    started = time.perf_counter()
    check_model_dir(model_dir)  # a wrong folder fails before anything listens
    service = InferenceService(Limits.from_params(serve_params))
    server = make_server(host, port, service)
    url = f"http://{server.server_address[0]}:{server.server_address[1]}"
    print(json.dumps({"listening": url}), flush=True)
    worker = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    worker.start()

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        timings = service.load(model_dir, max_length, serve_params.quantize, os.environ.get(VERSION_ENV))
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    _log(
        status="ready",
        url=url,
        model_dir=str(model_dir),
        model_version=service.model_version,
        quantize=serve_params.quantize,
        ready_s=round(time.perf_counter() - started, 3),
        **timings,
    )
    worker.join()
    server.server_close()
    _log(status="stopped")


def add_arguments(command: argparse.ArgumentParser) -> None:
    """`textclf serve` flags. Environment variables set the defaults, so an image sets them once."""
    env = os.environ.get
    command.set_defaults(params=env("TEXTCLF_PARAMS", "params.yaml"))
    command.add_argument(
        "--model-dir",
        default=env("TEXTCLF_MODEL_DIR", DEFAULT_MODEL_DIR),
        help="the trained model folder (env TEXTCLF_MODEL_DIR; default: %(default)s)",
    )
    command.add_argument(
        "--host",
        default=env("TEXTCLF_HOST", "127.0.0.1"),
        help="address to listen on (env TEXTCLF_HOST; 0.0.0.0 in a container; default: %(default)s)",
    )
    command.add_argument(
        "--port",
        type=int,
        default=int(env("TEXTCLF_PORT") or env("SAGEMAKER_BIND_TO_PORT") or DEFAULT_PORT),
        help="port (env TEXTCLF_PORT or SAGEMAKER_BIND_TO_PORT; 0 = a free one; default: %(default)s)",
    )
