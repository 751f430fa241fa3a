"""The drift issue's program on hostile payloads and an unreachable or odd GitHub: one message and
exit 2 (payload) or 1 (GitHub), never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.monitoring.test_drift_issue import GOOD
from textclf.monitoring import issue

SRC = Path(__file__).resolve().parents[2] / "src"


def run(payload: bytes, **env: str) -> subprocess.CompletedProcess:
    environment = {b"PATH": os.environb[b"PATH"], b"PYTHONPATH": str(SRC).encode(), b"DRIFT_PAYLOAD": payload}
    environment.update({key.encode(): value.encode() for key, value in env.items()})
    return subprocess.run(
        [sys.executable, "-m", "textclf.monitoring.issue"], env=environment, capture_output=True, timeout=60
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GITHUB = {"GITHUB_REPOSITORY": "acme/text-classifier", "GITHUB_TOKEN": "t"}


def test_a_payload_that_is_not_utf8_is_one_message():
    done = run(b'{"alarm": "\xff\xfe"}', GITHUB_API_URL="http://127.0.0.1:9", **GITHUB)
    assert done.returncode == 2, done.stderr
    assert b"drift issue: client_payload: not UTF-8 text" in done.stderr and b"Traceback" not in done.stderr


def test_github_unreachable_is_one_message():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = run(json.dumps(GOOD).encode(), GITHUB_API_URL=url, **GITHUB)
    assert done.returncode == 1, done.stderr
    assert b"drift issue: could not reach GitHub at " + url.encode() in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("answer", [b"not json", b'{"message": "odd"}', b"[1, 2]", b'[{"number": "7"}]'])
def test_an_answer_github_would_not_send_is_one_message(answer):
    class Odd(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_GET

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        done = run(json.dumps(GOOD).encode(), GITHUB_API_URL=url, **GITHUB)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stderr
    assert b"drift issue: " in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"alarm": "a", "alarm": "b"}', "field 'alarm' is given twice"),
        ("[" * 2000 + "]" * 2000, "nested too deeply"),
        ('"\ud800"', "not UTF-8 text"),
        (
            json.dumps({**GOOD, "time": "2026-13-45T99:99:99Z"}),
            r"client_payload.time: .* is not a valid time",
        ),
        (json.dumps({**GOOD, "time": "\u0662\u0660\u0662\u0666-01-01T00:00:00Z"}), "is not a valid time"),
    ],
)
def test_hostile_payloads_name_the_problem(raw, message):
    with pytest.raises(issue.PayloadError, match=message):
        issue.parse(raw)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from([*GOOD, "extra"]), value=JSON, whole=JSON, use_whole=st.booleans())
def test_any_payload_is_accepted_whole_or_refused_naming_it(field, value, whole, use_whole):
    raw = json.dumps(whole if use_whole else {**GOOD, field: value})
    try:
        alarm = issue.parse(raw)
    except issue.PayloadError as error:
        assert str(error).startswith("client_payload")
        return
    title, body = issue.render(alarm)
    assert title == f"Model drift on {alarm.endpoint}" and issue.marker(alarm.endpoint) in body


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "api.github.com"])
def test_an_api_url_that_is_not_http_is_refused_before_the_token_is_sent(url):
    with pytest.raises(issue.PayloadError, match=r"GITHUB_API_URL=.*expected an https:// URL"):
        issue.GitHub(url, "o/r", "token")
