"""`textclf local-cloud` (what `make local-cloud` runs in the background): a port in use ends it at
once with exit code 2 and what to do, without an env file (before, it waited forever for moto's
server thread, which werkzeug had ended); a stopped local cloud frees its port. Each start has a
timeout, so that a start that never returns fails instead of hanging the suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3

from textclf.localcloud import LocalCloud

TEXTCLF = Path(sys.executable).with_name("textclf")
# The child's start-up (imports of moto and the extensions) under a loaded machine takes seconds.
STARTED_WITHIN = 60


def local_cloud(port: int, env_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(TEXTCLF), "local-cloud", "--port", str(port), "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
    )


def finish(child: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise AssertionError(f"textclf local-cloud still running after {timeout} s") from None
    return child.returncode, stderr


def test_a_port_in_use_ends_local_cloud_at_once_with_what_to_do(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        returncode, stderr = finish(local_cloud(port, env_file), timeout=STARTED_WITHIN)
    assert returncode == 2, stderr
    assert f"error: port {port} is in use: pick another (LOCALCLOUD_PORT=0 picks a free one)" in stderr
    assert "Traceback" not in stderr
    assert not env_file.exists()


def start_within(cloud: LocalCloud, seconds: float) -> LocalCloud:
    """cloud.start() in a thread, so that a start that never returns fails the test instead."""
    outcome: list[BaseException | LocalCloud] = []
    thread = threading.Thread(target=lambda: outcome.append(cloud.start()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"LocalCloud(port={cloud.port}).start() did not return in {seconds} s"
    return cloud


def test_a_stopped_local_cloud_frees_its_port() -> None:
    """The port is bound before the server thread starts and handed to it: after stop() no socket
    of the first local cloud holds the port, so a second one starts on it at once."""
    first = start_within(LocalCloud(0), STARTED_WITHIN)
    port = first.port
    assert serves(first)
    first.stop()
    second = start_within(LocalCloud(port), 10)
    try:
        assert second.url == f"http://127.0.0.1:{port}"
        assert serves(second)
    finally:
        second.stop()


def serves(cloud: LocalCloud) -> bool:
    env = cloud.env()
    s3 = boto3.client(
        "s3",
        endpoint_url=cloud.url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
