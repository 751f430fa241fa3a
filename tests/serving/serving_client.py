"""Helpers for the serving tests: start `textclf serve`, talk HTTP to it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from textclf.serving.server import InferenceService, Limits

# The limits the tests probe (small, so over-limit requests stay small).
MAX_BATCH = 8
MAX_CHARS = 300


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict

    @property
    def error(self) -> str:
        return self.body.get("error", "")


def request(
    url: str,
    method: str = "POST",
    path: str = "/invocations",
    body: bytes | str | dict | list | None = None,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> Reply:
    """One HTTP request; a dict or list body is sent as JSON."""
    headers = dict(headers or {})
    if isinstance(body, dict | list):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    own = connection is None
    if own:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return Reply(response.status, dict(response.getheaders()), json.loads(raw) if raw else {})
    finally:
        if own:
            connection.close()


def classify(url: str, texts, connection=None) -> Reply:
    return request(url, body={"inputs": texts}, connection=connection)


def write_params(path: Path, **serve) -> Path:
    """A params.yaml with the serving limits for a test (other sections at their defaults)."""
    lines = ["model:", "  max_length: 64", "deploy:", "  serve:"]
    lines += [f"    {key}: {value}" for key, value in serve.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ServerProcess:
    """`textclf serve` as a child process on 127.0.0.1 and a free port."""

    def __init__(self, model_dir: Path, params: Path, log: Path, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(model_dir)]
        command += ["--port", "0", "--host", "127.0.0.1", "--params", str(params)]
        self.started = time.monotonic()
        self.log = log
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env={**os.environ, **(env or {})},
        )
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        self.url = json.loads(line)["listening"]

    def wait_ready(self, timeout: float = 180) -> float:
        """Seconds from process start to the first /ping 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()}")
            try:
                if request(self.url, "GET", "/ping").status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"/ping not 200 after {timeout} s: {self.log.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return self.process.returncode


def loaded_service(model_dir: Path, **limits) -> InferenceService:
    service = InferenceService(
        Limits(
            **{"max_batch_size": MAX_BATCH, "max_text_chars": MAX_CHARS, "long_text": "truncate", **limits}
        )
    )
    service.load(model_dir, max_length=64, quantize="none", version="test-version")
    return service
