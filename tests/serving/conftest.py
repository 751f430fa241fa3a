"""Fixtures for the serving tests: the inference server on 127.0.0.1, as a process and in-process."""

from __future__ import annotations

import threading

import pytest
from serving_client import MAX_BATCH, MAX_CHARS, ServerProcess, write_params

from textclf.serving.server import InferenceService, make_server


@pytest.fixture(scope="session")
def server(tiny_model_dir, tmp_path_factory):
    """`textclf serve` on the tiny model, rejecting long texts; stopped (SIGTERM) at the end."""
    folder = tmp_path_factory.mktemp("serve")
    params = write_params(
        folder / "params.yaml", max_batch_size=MAX_BATCH, max_text_chars=MAX_CHARS, long_text="reject"
    )
    process = ServerProcess(tiny_model_dir, params, folder / "server.log", env={"MODEL_VERSION": "abc1234"})
    process.wait_ready()
    yield process
    assert process.stop() == 0, (folder / "server.log").read_text()


def start_in_process(service: InferenceService):
    http_server = make_server("127.0.0.1", 0, service)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    return http_server, f"http://127.0.0.1:{http_server.server_address[1]}"


@pytest.fixture
def in_process_server():
    """Start servers in this process (real HTTP on 127.0.0.1) for a test; all stopped after it."""
    servers = []

    def start(service: InferenceService) -> str:
        http_server, url = start_in_process(service)
        servers.append(http_server)
        return url

    yield start
    for http_server in servers:
        http_server.shutdown()
        http_server.server_close()
