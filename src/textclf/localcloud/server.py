"""Start and stop the local cloud, and hand out the environment that points clients at it."""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import socket
import sys
import threading
import urllib.request
from pathlib import Path

REGION = "us-east-1"
# Modules that add what moto lacks. Each has `install()`, called once before the server starts.
EXTENSIONS = (
    "textclf.localcloud.clock",
    "textclf.localcloud.iam",
    "textclf.localcloud.requestcompression",
    "textclf.localcloud.iamlimits",
    "textclf.localcloud.checksums",
    "textclf.localcloud.s3names",
    "textclf.localcloud.s3limits",
    "textclf.localcloud.s3acls",
    "textclf.localcloud.s3settings",
    "textclf.localcloud.s3listing",
    "textclf.localcloud.s3policies",
    "textclf.localcloud.kmspolicies",
    "textclf.localcloud.oidc",
    "textclf.localcloud.endpoints",
    "textclf.localcloud.eventdelivery",
    "textclf.localcloud.eventbridgechecks",
    "textclf.localcloud.snssqschecks",
    "textclf.localcloud.infra",
    "textclf.localcloud.ecschecks",
    "textclf.localcloud.ecrchecks",
    "textclf.localcloud.lambdas",
    "textclf.localcloud.lambdalimits",
    "textclf.localcloud.metricfilters",
    "textclf.localcloud.logschecks",
    "textclf.localcloud.runtime",
    "textclf.localcloud.training",
    "textclf.localcloud.transform",
    "textclf.localcloud.apigateway",
    "textclf.localcloud.httpapis",
    "textclf.localcloud.alarms",
    "textclf.localcloud.dynamodbchecks",
    "textclf.localcloud.requestbodies",
)
_installed = False


def install_extensions() -> None:
    global _installed
    if _installed:
        return
    for name in EXTENSIONS:
        importlib.import_module(name).install()
    _installed = True


class LocalCloudError(RuntimeError):
    """The local cloud cannot start; the message says what to do."""


class LocalCloud:
    """moto's server (its WSGI app, as moto's ThreadedMotoServer runs it) on 127.0.0.1, a free port by
    default, with our extensions, served from a thread.

    The port is bound here, in the caller's thread, before the server thread starts: moto's
    ThreadedMotoServer binds inside its thread, and when the port is taken werkzeug ends that thread
    (sys.exit) before it sets the event start() waits on, so `textclf local-cloud --port <taken>`
    waited forever."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalCloud:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        install_extensions()
        listener = _listen(self.port)
        try:
            # werkzeug serves a duplicate of the listening socket's descriptor (socket.fromfd).
            self._server = make_server(
                "127.0.0.1",
                self.port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-cloud", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # werkzeug's serve_forever closes the socket as it returns
            if self._thread is not None:
                self._thread.join()
            self._server = None
            self._thread = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for boto3, DVC and Terraform: the endpoint, a region, dummy credentials."""
        return client_env(self.url)

    def reset(self) -> None:
        """Forget every resource (moto's reset API), keeping the server running."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()


def client_env(url: str) -> dict[str, str]:
    """The administrator's environment: what bootstraps a new account and applies Terraform.
    Workflow steps get their own roles' credentials (`textclf.localcloud.principals`)."""
    from textclf.localcloud.iam import admin_env

    return {
        "AWS_ENDPOINT_URL": url,
        **admin_env(),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Fail fast instead of retrying against a server that answers immediately anyway.
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def put_image_manifest(ecr, repository: str, tag: str) -> None:
    """What `make images-push` leaves in ECR, without a Docker engine: a manifest under `tag`
    (the training and endpoint code only ever look images up by tag)."""
    import hashlib

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1024,
            "digest": "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest(),
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def _listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: a free one), as werkzeug would open it (address
    reuse on, its listen queue); a port in use is refused here with what to do."""
    try:
        return socket.create_server(("127.0.0.1", port), backlog=128)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LocalCloudError(
                f"port {port} is in use: pick another (LOCALCLOUD_PORT=0 picks a free one)"
            ) from None
        raise LocalCloudError(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror or error}): pick another port "
            "(LOCALCLOUD_PORT=0 picks a free one)"
        ) from None


# The first line of the environment file local-cloud writes: `--env-file` takes an existing file only
# when it starts so (one a killed run left behind), and the file is deleted at the stop only while it
# still holds what was written (issue 27, round 10, D-j: a user's .envrc of `export` lines passed as
# one of ours, was overwritten, then deleted).
ENV_FILE_MARKER = "# written by textclf local-cloud, deleted when it stops"


def env_file_text(env: dict[str, str]) -> str:
    return ENV_FILE_MARKER + "\n" + "".join(f"export {k}={v}\n" for k, v in env.items())


def _remove_if_ours(env_file: Path, written: str) -> None:
    try:
        if env_file.is_file() and env_file.read_text(encoding="utf-8") == written:
            env_file.unlink()
    except (OSError, ValueError):
        pass  # changed or unreadable since it was written: it is someone's now, left in place


def serve_forever(port: int, env_file: Path | None) -> None:
    """Run the local cloud in the foreground until SIGINT or SIGTERM (used by `make local-cloud`).
    A port it cannot listen on ends it at once with exit code 2, before any env file is written."""
    try:
        cloud = LocalCloud(port).start()
    except LocalCloudError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    written = env_file_text(cloud.env())
    if env_file is not None:
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text(written, encoding="utf-8")
    print(json.dumps({"local_cloud": cloud.url, "env_file": str(env_file) if env_file else None}), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        cloud.stop()
        if env_file is not None:
            _remove_if_ours(env_file, written)


def apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)
