"""The ECS model fetch stops when asked and is bounded (R13B-7): `textclf serve` installed its
SIGTERM/SIGINT handlers (which only record the signal) before the fetch and looked at them only after
the model was loaded, the socket's timeout is per read, and any Content-Length was taken. So Ctrl-C
did nothing, ECS's SIGTERM waited for the SIGKILL (which left the partial `.model-*.tar.gz` in the
model folder), and a stalled, trickled or endless answer held the task or filled its disk. Now a stop
signal ends the fetch at once, nothing extracted and the partial archive removed; the download is
bounded by FETCH_SECONDS and MAX_ARCHIVE_BYTES (and the folder's free space); it says when it starts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator

import pytest
from serving_client import MAX_BATCH, write_params
from tests.slow_answers import answering, endless, stalled

from textclf.serving import fetch

URL = "s3://textclf-fetch-artifacts/models/abc1234/model.tar.gz"
DIGEST = "a" * 64
KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"}


@pytest.fixture
def s3() -> Iterator:
    """A stand-in for S3 (tests.slow_answers): the environment that sends the fetch to it."""
    with contextlib.ExitStack() as stack:

        def start(length: int | None, pieces: Iterable[bytes] = (), pause: float = 0.0) -> dict:
            endpoint = stack.enter_context(answering(pieces, length, pause))
            return {**KEYS, "AWS_ENDPOINT_URL": endpoint}

        yield start


@pytest.fixture
def restored_signals() -> Iterator[None]:
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_a_stalled_download_and_leaves_the_folder_empty(
    s3, tmp_path, restored_signals, number
):
    env = s3(1000, stalled())  # the headers, then nothing: a read waits for its whole 60 s timeout
    stops = fetch.StopSignals().install()
    threading.Timer(0.5, os.kill, (os.getpid(), number)).start()
    started = time.monotonic()
    with pytest.raises(fetch.Interrupted) as raised:
        fetch.fetch(tmp_path / "model", URL, DIGEST, env, stops=stops)
    assert time.monotonic() - started < 10
    assert str(raised.value) == (
        f"{signal.Signals(number).name} while fetching the model: stopped; nothing was extracted into the "
        "model folder"
    )
    assert list((tmp_path / "model").iterdir()) == []  # the partial .model-*.tar.gz is gone


def test_a_signal_before_the_fetch_stops_it_before_any_request(tmp_path, restored_signals, monkeypatch):
    stops = fetch.StopSignals().install()
    os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", lambda *a, **k: pytest.fail("a request was sent"))
    with pytest.raises(fetch.Interrupted, match=r"^SIGTERM while fetching the model"):
        fetch.fetch(
            tmp_path / "model", URL, DIGEST, {**KEYS, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, stops
        )


def test_an_endless_answer_stops_at_the_bound_not_the_disk(s3, tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "MAX_ARCHIVE_BYTES", 1024**2)
    env = s3(None, endless())  # no Content-Length, no end
    with pytest.raises(fetch.FetchError, match=f"^{URL}: the answer is longer than the 1048576 bytes"):
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)
    assert list((tmp_path / "model").iterdir()) == []


def test_a_trickled_answer_stops_at_the_deadline(s3, tmp_path, monkeypatch):
    """64 bytes every 0.05 s: every read returns before the socket's timeout, for ever."""
    monkeypatch.setattr(fetch, "FETCH_SECONDS", 1)
    env = s3(10**8, endless(64), pause=0.05)
    started = time.monotonic()
    with pytest.raises(
        fetch.FetchError, match=rf"^{URL}: the download took longer than 1 s \([0-9]+ bytes read\)"
    ):
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)
    assert time.monotonic() - started < 10
    assert list((tmp_path / "model").iterdir()) == []


@pytest.mark.parametrize(
    ("length", "named"),
    [
        (10**14, "S3 announces 100000000000000 bytes, more than a model archive's 21474836480"),
        (10**10, "10000000000 bytes do not fit in "),
    ],
)
def test_an_archive_larger_than_a_model_or_the_free_space_is_refused_before_a_byte(
    s3, tmp_path, monkeypatch, length, named
):
    free = fetch.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda path: free._replace(free=10**9))
    env = s3(length, [b"x" * 1024])  # a few bytes, then the connection closes
    with pytest.raises(fetch.FetchError, match=f"^{URL}: {named}"):
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)
    assert list((tmp_path / "model").iterdir()) == []


def test_the_fetch_says_when_it_starts_and_how_large_the_archive_is(s3, tmp_path):
    said: list[dict] = []
    env = s3(5, [b"12345"])
    with pytest.raises(fetch.FetchError, match="has sha256"):  # the five bytes are no release
        fetch.fetch(tmp_path / "model", URL, DIGEST, env, say=lambda **fields: said.append(fields))
    assert said == [{"status": "fetching", "url": URL, "bytes": 5}]


def test_serve_stops_on_ctrl_c_while_it_fetches_the_model(s3, tmp_path):
    """The tester's case: `textclf serve` with a stalled S3 and SIGINT, then SIGTERM, ignored."""
    env = s3(10**8, endless(64), pause=1.0)
    params = write_params(tmp_path / "params.yaml", max_batch_size=MAX_BATCH)
    command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(tmp_path / "m")]
    command += ["--port", "0", "--params", str(params)]
    model = {"TEXTCLF_MODEL_URL": URL, "TEXTCLF_MODEL_SHA256": DIGEST}
    process = subprocess.Popen(
        command,
        env={**os.environ, **env, **model},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # past the imports: the fetch is under way
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]
    assert {"component": "serve", "status": "fetching", "url": URL, "bytes": 10**8} in lines
    assert lines[-1] == {
        "component": "serve",
        "status": "stopped",
        "reason": "SIGINT while fetching the model: stopped; nothing was extracted into the model folder",
    }
    assert out == "" and list((tmp_path / "m").iterdir()) == []  # never listened; no partial archive


def container_credentials(url: str) -> dict[str, str]:
    """An ECS task's environment: no keys, the container credentials endpoint at `url`."""
    return {"AWS_REGION": "us-east-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{url}/v2/credentials/x"}


def test_a_stop_signal_ends_a_stalled_credentials_endpoint_too(tmp_path, restored_signals):
    """The task's credentials are asked for before the download (a read of up to 10 s each)."""
    with answering(stalled(), 1000) as endpoint:
        stops = fetch.StopSignals().install()
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        with pytest.raises(fetch.Interrupted, match=r"^SIGTERM while fetching the model: stopped"):
            fetch.fetch(tmp_path / "model", URL, DIGEST, container_credentials(endpoint), stops=stops)
        assert time.monotonic() - started < 5


def test_an_endless_credentials_answer_is_refused_not_read_whole(tmp_path):
    """200 KiB stand in for an endless answer (the old code read it whole, and would an endless one)."""
    refused = pytest.raises(fetch.FetchError, match="did not answer: an answer longer than 65536 bytes")
    with answering([b"x" * 200 * 1024]) as endpoint, refused:
        fetch.fetch(tmp_path / "model", URL, DIGEST, container_credentials(endpoint))
