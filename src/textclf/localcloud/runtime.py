"""SageMaker Runtime `InvokeEndpoint` answered by the real inference server, not moto's canned body.

moto answers every InvokeEndpoint with static text. With this extension, a request to an endpoint
is served as SageMaker serves it: by the serving container's program (`textclf serve`, run here as
a child process) loaded with the model the endpoint's live config names. So a smoke request after
a redeploy proves the new model really answers, and with the model version it was deployed as.

- The endpoint must exist and be InService (else a ValidationError, as on AWS); its config's first
  production variant names the model, whose ModelDataUrl (a model.tar.gz in the local S3) and
  Environment (MODEL_VERSION, set by the redeploy Lambda) start the server.
- One server per model data URL, started at the first request (loading takes seconds) and kept
  while the endpoint serves that model; when the endpoint moves to another model, the old server
  is stopped. All servers stop when the local cloud process exits or moto is reset.
- A 4xx/5xx from the server becomes SageMaker's ModelError (HTTP 424) with the server's message.
- The server reads `params.yaml` (deploy.serve, model.max_length) from the local cloud's working
  folder, or TEXTCLF_PARAMS, as the serving image reads the copy baked into it.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textclf.s3uri import split_s3_uri

START_TIMEOUT_S = 180
_lock = threading.Lock()


@dataclass
class ModelServer:
    """A `textclf serve` child process serving one model.tar.gz."""

    model_data_url: str
    process: subprocess.Popen
    url: str
    folder: tempfile.TemporaryDirectory

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.folder.cleanup()


# Running servers, by endpoint ARN.
_servers: dict[str, ModelServer] = {}


def stop_all() -> None:
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


class InvokeError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _live_model(account_id: str, region: str, endpoint_name: str) -> tuple[str, str, dict[str, str]]:
    """(endpoint ARN, ModelDataUrl, container environment) of the endpoint's live model."""
    from moto.sagemaker.models import sagemaker_backends

    from textclf.localcloud.endpoints import advance

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise InvokeError(
            400, "ValidationError", f"Endpoint {endpoint_name} of account {account_id} not found."
        )
    advance(backend, endpoint)
    # UpdateRollbackFailed still serves (on a mix of configs: here, the one it was switched to).
    if endpoint.endpoint_status not in ("InService", "UpdateRollbackFailed"):
        raise InvokeError(
            400, "ValidationError", f"Endpoint {endpoint_name} is {endpoint.endpoint_status}, not InService."
        )
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    model = backend._models[config.production_variants[0]["ModelName"]]
    container = model.primary_container or (model.containers or [{}])[0]
    url = container.get("ModelDataUrl")
    if not url:
        raise InvokeError(424, "ModelError", f"model {model.model_name} has no ModelDataUrl to serve")
    return endpoint.arn, url, dict(container.get("Environment") or {})


def _extract(account_id: str, url: str, folder: Path) -> None:
    from moto.s3.models import s3_backends

    bucket, key = split_s3_uri(url)
    blob = s3_backends[account_id]["aws"].get_object(bucket, key).value
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        archive.extractall(folder, filter="data")


def _start(account_id: str, url: str, environment: dict[str, str]) -> ModelServer:
    folder = tempfile.TemporaryDirectory(prefix="textclf-endpoint-")
    _extract(account_id, url, Path(folder.name))
    params = os.environ.get("TEXTCLF_PARAMS", "params.yaml")
    command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", folder.name, "--port", "0"]
    process = subprocess.Popen(
        [*command, "--params", params],
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    try:
        listening = json.loads(line)["listening"]
    except (ValueError, KeyError):
        process.kill()
        folder.cleanup()
        raise InvokeError(424, "ModelError", f"the serving program did not start for {url}") from None
    server = ModelServer(url, process, listening, folder)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise InvokeError(
                424, "ModelError", f"the serving program exited ({process.returncode}) for {url}"
            )
        try:
            with urllib.request.urlopen(f"{listening}/ping", timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    server.stop()
    raise InvokeError(424, "ModelError", f"the model {url} did not pass /ping within {START_TIMEOUT_S} s")


def _server_for(account_id: str, region: str, endpoint_name: str) -> ModelServer:
    arn, url, environment = _live_model(account_id, region, endpoint_name)
    with _lock:
        current = _servers.get(arn)
        if current is not None and current.model_data_url == url and current.process.poll() is None:
            return current
        stale = _servers.pop(arn, None)
        if stale is not None:
            stale.stop()
        server = _start(account_id, url, environment)
        _servers[arn] = server
        return server


def invoke(account_id: str, region: str, endpoint_name: str, body: bytes, headers: dict[str, str]) -> Any:
    server = _server_for(account_id, region, endpoint_name)
    request = urllib.request.Request(
        f"{server.url}/invocations",
        data=body,
        method="POST",
        headers={
            "Content-Type": headers.get("Content-Type") or "application/json",
            "Accept": headers.get("Accept") or "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return (
                200,
                {"Content-Type": response.headers.get("Content-Type", "application/json")},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        message = f'Received client error ({error.code}) from primary with message "{detail}".'
        raise InvokeError(424, "ModelError", message) from None


def install() -> None:
    """Patch moto's SageMaker Runtime InvokeEndpoint; called once before the local cloud starts."""
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    def invoke_endpoint(self: Any) -> Any:
        name = self.path.split("/")[2]  # /endpoints/<name>/invocations
        try:
            # raw_body: the request bytes as sent (body is decoded text).
            return invoke(self.current_account, self.region, name, self.raw_body, dict(self.headers))
        except InvokeError as error:
            payload = {"__type": error.kind, "message": error.message}
            # moto takes the status from the headers.
            headers = {
                "status": str(error.status),
                "Content-Type": "application/json",
                "x-amzn-ErrorType": error.kind,
            }
            return error.status, headers, json.dumps(payload)

    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint

    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        stop_all()
        original_reset(self)

    MotoAPIBackend.reset = reset
    atexit.register(stop_all)
