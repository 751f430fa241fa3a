"""The drift issue's GITHUB_API_URL and GITHUB_TOKEN: a URL urllib cannot send to, or a token an HTTP
header cannot carry, is one line naming the variable, exit 2, the token never shown; a body GitHub
cuts short is one line, exit 1 (R13B-1: http.client's InvalidURL and IncompleteRead are no OSError,
urlsplit's "Invalid IPv6 URL" was raised outside any guard, and a token holding a line break was
printed in "could not reach GitHub ... (Invalid header value b'Bearer ...')")."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.monitoring.test_drift_issue import GOOD
from tests.monitoring.test_drift_issue_inputs import run as run_program
from textclf.monitoring import issue

# The program of the package imported here (PYTHONPATH decides which: an old tree's too).
SRC = Path(issue.__file__).resolve().parents[2]


def run(payload: bytes, **env: str) -> subprocess.CompletedProcess:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tests.monitoring.test_drift_issue_inputs.SRC", SRC)
        return run_program(payload, **env)


REPOSITORY = {"GITHUB_REPOSITORY": "acme/text-classifier"}


URL = "; expected an https:// URL"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (
            "https://api.github.com:abc",
            f"is not a URL (Port could not be cast to integer value as 'abc'){URL}",
        ),
        ("https://api.github.com:99999", f"is not a URL (Port out of range 0-65535){URL}"),
        ("https://[::1", f"is not a URL (Invalid IPv6 URL){URL}"),
        ("https://a b", f"' ' (U+0020) at character 10 is not allowed in a URL{URL}"),
        ("https://api.github.com\n", f"'\\n' (U+000A) at character 23 is not allowed in a URL{URL}"),
        ("https://", f"has no host{URL}"),
        ("https://api.github.com?x=1", "has a query or fragment; expected the API's base URL"),
    ],
)
def test_an_api_url_urllib_cannot_send_to_is_one_line_naming_it(url, named):
    done = run(json.dumps(GOOD).encode(), GITHUB_API_URL=url, GITHUB_TOKEN="t", **REPOSITORY)
    assert done.returncode == 2, done.stderr
    error = done.stderr.decode()
    assert error.startswith(f"drift issue: GITHUB_API_URL={url!r}: {named}"), error
    assert error.count("\n") == 1 and "Traceback" not in error


@pytest.mark.parametrize("token", ["abc\ndef-secret", "abc\r\nX-Evil: 1", "ab cdef-secret", "secret\u00e9"])
def test_a_token_a_header_cannot_carry_is_refused_without_showing_it(token):
    done = run(
        json.dumps(GOOD).encode(), GITHUB_API_URL="http://127.0.0.1:9", GITHUB_TOKEN=token, **REPOSITORY
    )
    assert done.returncode == 2, done.stderr
    error = done.stderr.decode()
    assert error.startswith("drift issue: GITHUB_TOKEN holds a space, a line break or a character an HTTP")
    assert error.count("\n") == 1 and "secret" not in error and "def" not in error and "Evil" not in error


def test_an_answer_cut_short_is_one_message_naming_github():
    """Content-Length 100, then 5 bytes and the connection closes: http.client's IncompleteRead."""

    class Short(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"[1, 2")
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        done = run(json.dumps(GOOD).encode(), GITHUB_API_URL=url, GITHUB_TOKEN="t", **REPOSITORY)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stderr
    error = done.stderr.decode()
    assert error.startswith(f"drift issue: GET {url}/repos/acme/text-classifier/issues?"), error
    assert error.endswith(
        ": the answer was cut short (95 bytes of its Content-Length never came); run the workflow again\n"
    )


def test_a_short_token_does_not_mask_the_reason():
    """The token is masked in a reason, but a one-character test token masked letters of words."""
    done = run(json.dumps(GOOD).encode(), GITHUB_API_URL="http://127.0.0.1:9", GITHUB_TOKEN="t", **REPOSITORY)
    assert done.returncode == 1 and "Connection refused" in done.stderr.decode(), done.stderr
