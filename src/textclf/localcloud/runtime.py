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
- A 4xx/5xx from the server becomes SageMaker's ModelError (HTTP 424) with the container's status
  in `OriginalStatusCode`, its body in `OriginalMessage` and the container's log stream in
  `LogStreamArn` (InvokeEndpoint's ModelError, https://docs.aws.amazon.com/botocore/latest/reference/services/sagemaker-runtime/client/exceptions/ModelError.html):
  a client sees the container's 5xx only there, never as the response's HTTP status.
- The server reads `params.yaml` (deploy.serve, model.max_length) from the local cloud's working
  folder, or TEXTCLF_PARAMS, as the serving image reads the copy baked into it.
- What the container writes to stderr goes to CloudWatch Logs as on SageMaker: log group
  `/aws/sagemaker/Endpoints/<EndpointName>`, stream `<variant>/<instance-id>`
  (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html), written as the
  model's execution role (so a role without `logs:PutLogEvents` there loses its logs, as on AWS),
  in batches (every LOG_FLUSH_SECONDS). The group's metric filters then publish their metrics
  (textclf.localcloud.metricfilters): the prediction signals become metrics by the mechanism
  production uses. stdout carries only the server's `{"listening": ...}` line.
- Each request publishes the endpoint's invocation metrics as SageMaker does (namespace
  AWS/SageMaker, dimensions EndpointName and VariantName; "Monitor Amazon SageMaker AI with
  Amazon CloudWatch", endpoint invocation metrics): Invocations, Invocation4XXErrors and
  Invocation5XXErrors (the model answered 4xx or 5xx), ModelLatency (microseconds), so the
  endpoint's alarms fire from real traffic (textclf.localcloud.alarms evaluates them).
- `inject_faults(model_data_url, share)` makes the container of that model answer a share of the
  requests with a 500, as a model that breaks under real traffic would: the rehearsal's bake
  scenario uses it (a stand-in for a fault-injection experiment; nothing in AWS's API).
"""

from __future__ import annotations

import atexit
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textclf.s3uri import split_s3_uri

START_TIMEOUT_S = 180
LOG_FLUSH_SECONDS = 0.2
_lock = threading.Lock()
# Injected faults: model data URL -> share of requests its container answers with a 500.
_faults: dict[str, float] = {}


class ContainerLog:
    """The container's stderr lines, shipped to its endpoint's log group as the model's role."""

    def __init__(self, source: Any, cloud_url: str, role: str, group: str, stream: str, region: str) -> None:
        self.cloud_url, self.role, self.group, self.stream = cloud_url, role, group, stream
        self.region = region
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._client: Any = None
        self.errors: list[str] = []
        threading.Thread(target=self._read, args=(source,), name=f"log-{stream}", daemon=True).start()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"flush-{stream}", daemon=True)
        self._flusher.start()

    def _read(self, source: Any) -> None:
        for line in source:  # until the process closes stderr
            line = line.rstrip("\n")
            if line:
                with self._lock:
                    self._pending.append({"timestamp": int(time.time() * 1000), "message": line})
        self._done.set()

    def _flush_loop(self) -> None:
        while not self._done.wait(LOG_FLUSH_SECONDS):
            self.flush()
        self.flush()

    def _logs(self) -> Any:
        if self._client is None:
            import boto3

            from textclf.localcloud import iam

            credentials = iam.service_session(self.role, "sagemaker.amazonaws.com", f"endpoint-{self.stream}")
            session = boto3.Session(
                region_name=self.region,
                aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=credentials["AWS_SESSION_TOKEN"],
            )
            client = session.client("logs", endpoint_url=self.cloud_url)
            try:
                client.create_log_group(logGroupName=self.group)  # SageMaker creates it when missing
            except client.exceptions.ResourceAlreadyExistsException:
                pass
            except Exception as error:  # Terraform usually made it; the role may not create
                self.errors.append(f"CreateLogGroup: {error}")
            client.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
            self._client = client
        return self._client

    def flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        if not events:
            return
        try:
            logs = self._logs()
            for start in range(0, len(events), 10000):  # PutLogEvents: at most 10,000 events
                logs.put_log_events(
                    logGroupName=self.group,
                    logStreamName=self.stream,
                    logEvents=events[start : start + 10000],
                )
        except Exception as error:  # lost logs must never stop the endpoint
            self.errors.append(f"PutLogEvents: {error}")
            del self.errors[:-20]

    def close(self, timeout: float = 5.0) -> None:
        self._done.wait(timeout)
        self._flusher.join(timeout)


@dataclass
class ModelServer:
    """A `textclf serve` child process serving one model.tar.gz."""

    model_data_url: str
    process: subprocess.Popen
    url: str
    folder: tempfile.TemporaryDirectory
    log: ContainerLog | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
        self.folder.cleanup()


# Running servers, by endpoint ARN.
_servers: dict[str, ModelServer] = {}


def stop_all() -> None:
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
        _faults.clear()
    for server in servers:
        server.stop()


class InvokeError(Exception):
    def __init__(self, status: int, kind: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.fields = fields  # ModelError: OriginalStatusCode, OriginalMessage, LogStreamArn

    def payload(self) -> dict[str, Any]:
        return {"__type": self.kind, "Message": self.message, **self.fields}


@dataclass(frozen=True)
class LiveModel:
    endpoint_arn: str
    model_data_url: str
    environment: dict[str, str]
    role: str
    variant: str
    serverless: bool = False


# InvokeEndpoint's limits (SageMaker Runtime API reference, InvokeEndpoint:
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html): a body of
# at most 6 MB, and "The maximum request and response payload size for serverless invocations is
# 4 MB" ("Invoke a serverless endpoint", SageMaker developer guide); header lengths as botocore's model.
MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_SERVERLESS_BODY_BYTES = 4 * 1024 * 1024
HEADER_LIMITS = {"X-Amzn-SageMaker-Custom-Attributes": 1024, "X-Amzn-SageMaker-Inference-Id": 64}


def request_problem(live: LiveModel, body: bytes, headers: dict[str, str]) -> str | None:
    """SageMaker's ValidationError message for an InvokeEndpoint it refuses before the container, or None."""
    given = {key.lower(): value for key, value in headers.items()}
    limit = MAX_SERVERLESS_BODY_BYTES if live.serverless else MAX_BODY_BYTES
    if len(body) > limit:
        kind = "serverless invocations" if live.serverless else "an invocation"
        return (
            f"The request body is {len(body)} bytes: the maximum request payload size for {kind} "
            f"is {limit // 2**20} MB."
        )
    for header, most in HEADER_LIMITS.items():
        value = given.get(header.lower())
        if value is not None and len(value) > most:
            return f"{header} is {len(value)} characters long: at most {most}."
    variant = given.get("x-amzn-sagemaker-target-variant")
    if variant is not None and variant != live.variant:
        return (
            f"The variant {variant[:63]!r} given as TargetVariant is not a variant of this endpoint "
            f"({live.variant})."
        )
    if given.get("x-amzn-sagemaker-target-model") is not None:
        return "TargetModel is for multi-model endpoints; this endpoint serves one model."
    if given.get("x-amzn-sagemaker-inference-component") is not None:
        return "InferenceComponentName names no inference component: this endpoint has none."
    return None


def _live_model(account_id: str, region: str, endpoint_name: str) -> LiveModel:
    """The endpoint's live model: what to serve, with which environment, as which role."""
    from moto.sagemaker.models import sagemaker_backends

    from textclf.localcloud.endpoints import advance

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise InvokeError(
            400, "ValidationError", f"Endpoint {endpoint_name} of account {account_id} not found."
        )
    advance(backend, endpoint)
    # An update keeps serving on the current config until it switches ("there is no availability
    # loss", UpdateEndpoint API reference); UpdateRollbackFailed still serves (on a mix of configs:
    # here, the one it was switched to).
    if endpoint.endpoint_status not in ("InService", "Updating", "SystemUpdating", "UpdateRollbackFailed"):
        raise InvokeError(
            400, "ValidationError", f"Endpoint {endpoint_name} is {endpoint.endpoint_status}, not InService."
        )
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    model = backend._models[config.production_variants[0]["ModelName"]]
    container = model.primary_container or (model.containers or [{}])[0]
    url = container.get("ModelDataUrl")
    if not url:
        raise InvokeError(424, "ModelError", f"model {model.model_name} has no ModelDataUrl to serve")
    variant = config.production_variants[0].get("VariantName") or "AllTraffic"
    environment = dict(container.get("Environment") or {})
    serverless = bool(config.production_variants[0].get("ServerlessConfig"))
    return LiveModel(endpoint.arn, url, environment, model.execution_role_arn, variant, serverless)


def _extract(account_id: str, url: str, folder: Path) -> None:
    from moto.s3.models import s3_backends

    bucket, key = split_s3_uri(url)
    blob = s3_backends[account_id]["aws"].get_object(bucket, key).value
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        archive.extractall(folder, filter="data")


def _start(
    account_id: str, url: str, environment: dict[str, str], log: dict[str, str] | None = None
) -> ModelServer:
    """Start the serving program on the model; `log` (cloud_url, role, group, stream, region) ships
    its stderr to CloudWatch Logs, else stderr is dropped."""
    folder = tempfile.TemporaryDirectory(prefix="textclf-endpoint-")
    _extract(account_id, url, Path(folder.name))
    params = os.environ.get("TEXTCLF_PARAMS", "params.yaml")
    command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", folder.name, "--port", "0"]
    process = subprocess.Popen(
        [*command, "--params", params],
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if log else subprocess.DEVNULL,
        text=True,
    )
    container_log = None
    if log:
        container_log = ContainerLog(
            process.stderr, log["cloud_url"], log["role"], log["group"], log["stream"], log["region"]
        )
    line = process.stdout.readline() if process.stdout else ""
    try:
        listening = json.loads(line)["listening"]
    except (ValueError, KeyError):
        process.kill()
        folder.cleanup()
        raise InvokeError(424, "ModelError", f"the serving program did not start for {url}") from None
    server = ModelServer(url, process, listening, folder, container_log)
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


def _server_for(
    account_id: str, region: str, endpoint_name: str, cloud_url: str | None
) -> tuple[ModelServer, str]:
    """The server of the endpoint's live model (started when needed), and the variant's name."""
    live = _live_model(account_id, region, endpoint_name)
    with _lock:
        current = _servers.get(live.endpoint_arn)
        if (
            current is not None
            and current.model_data_url == live.model_data_url
            and current.process.poll() is None
        ):
            return current, live.variant
        stale = _servers.pop(live.endpoint_arn, None)
        if stale is not None:
            stale.stop()
        log = None
        if cloud_url:
            instance = f"i-{uuid.uuid4().hex[:17]}"
            log = {
                "cloud_url": cloud_url,
                "role": live.role,
                "group": f"/aws/sagemaker/Endpoints/{endpoint_name}",
                "stream": f"{live.variant}/{instance}",
                "region": region,
            }
        server = _start(account_id, live.model_data_url, live.environment, log)
        _servers[live.endpoint_arn] = server
        return server, live.variant


def inject_faults(model_data_url: str, share: float) -> None:
    """From now on the container serving `model_data_url` answers `share` of requests with a 500."""
    if not 0 <= share <= 1:
        raise ValueError(f"share {share} is not within 0..1")
    _faults[model_data_url] = share


def clear_faults() -> None:
    _faults.clear()


def _faulty(model_data_url: str) -> bool:
    share = _faults.get(model_data_url, 0.0)
    return share > 0 and random.random() < share


def invoke(
    account_id: str,
    region: str,
    endpoint_name: str,
    body: bytes,
    headers: dict[str, str],
    cloud_url: str | None = None,
) -> Any:
    problem = request_problem(_live_model(account_id, region, endpoint_name), body, headers)
    if problem:
        raise InvokeError(400, "ValidationError", problem)
    server, variant = _server_for(account_id, region, endpoint_name, cloud_url)
    request = urllib.request.Request(
        f"{server.url}/invocations",
        data=body,
        method="POST",
        headers={
            "Content-Type": headers.get("Content-Type") or "application/json",
            "Accept": headers.get("Accept") or "application/json",
        },
    )
    started = time.perf_counter()
    status = 500
    try:
        if _faulty(server.model_data_url):
            fault = io.BytesIO(b"injected fault")
            raise urllib.error.HTTPError(request.full_url, 500, "injected fault", {}, fault)  # type: ignore[arg-type]
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
            return (
                200,
                {"Content-Type": response.headers.get("Content-Type", "application/json")},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        status = error.code
        detail = error.read().decode("utf-8", "replace")
        kind = "client" if error.code < 500 else "server"
        message = f'Received {kind} error ({error.code}) from primary with message "{detail}".'
        fields: dict[str, Any] = {"OriginalStatusCode": error.code, "OriginalMessage": detail[:2048]}
        if server.log is not None:
            log = server.log
            group = f"arn:aws:logs:{region}:{account_id}:log-group:{log.group}"
            fields["LogStreamArn"] = f"{group}:log-stream:{log.stream}"
        raise InvokeError(424, "ModelError", message, **fields) from None
    finally:
        latency_us = (time.perf_counter() - started) * 1e6
        _publish_invocation(account_id, region, endpoint_name, variant, status, latency_us)


def _publish_invocation(
    account_id: str, region: str, endpoint_name: str, variant: str, status: int, latency_us: float
) -> None:
    from datetime import UTC, datetime

    from moto.cloudwatch.models import cloudwatch_backends

    when = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]
    counts = {
        "Invocations": 1.0,
        "Invocation4XXErrors": float(400 <= status < 500),
        "Invocation5XXErrors": float(status >= 500),
    }
    data = [
        {"MetricName": name, "Value": value, "Unit": "None", "Dimensions": dimensions, "Timestamp": when}
        for name, value in counts.items()
    ]
    data.append(
        {
            "MetricName": "ModelLatency",
            "Value": latency_us,
            "Unit": "Microseconds",
            "Dimensions": dimensions,
            "Timestamp": when,
        }
    )
    cloudwatch_backends[account_id][region].put_metric_data("AWS/SageMaker", data)


def install() -> None:
    """Patch moto's SageMaker Runtime InvokeEndpoint; called once before the local cloud starts."""
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    def invoke_endpoint(self: Any) -> Any:
        name = self.path.split("/")[2]  # /endpoints/<name>/invocations
        try:
            # raw_body: the request bytes as sent (body is decoded text).
            cloud_url = f"http://{self.headers['Host']}" if self.headers.get("Host") else None
            return invoke(
                self.current_account, self.region, name, self.raw_body, dict(self.headers), cloud_url
            )
        except InvokeError as error:
            payload = error.payload()
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
