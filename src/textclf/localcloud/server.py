"""Start and stop the local cloud, and hand out the environment that points clients at it."""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
import urllib.request
from pathlib import Path

REGION = "us-east-1"
# Modules that add what moto lacks. Each has `install()`, called once before the server starts.
EXTENSIONS = (
    "textclf.localcloud.clock",
    "textclf.localcloud.iam",
    "textclf.localcloud.checksums",
    "textclf.localcloud.s3names",
    "textclf.localcloud.oidc",
    "textclf.localcloud.endpoints",
    "textclf.localcloud.eventdelivery",
    "textclf.localcloud.infra",
    "textclf.localcloud.lambdas",
    "textclf.localcloud.metricfilters",
    "textclf.localcloud.runtime",
    "textclf.localcloud.training",
    "textclf.localcloud.transform",
    "textclf.localcloud.apigateway",
    "textclf.localcloud.alarms",
)
_installed = False


def install_extensions() -> None:
    global _installed
    if _installed:
        return
    for name in EXTENSIONS:
        importlib.import_module(name).install()
    _installed = True


class LocalCloud:
    """moto's ThreadedMotoServer on 127.0.0.1 (a free port by default), with our extensions."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server = None

    def start(self) -> LocalCloud:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        install_extensions()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

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


def serve_forever(port: int, env_file: Path | None) -> None:
    """Run the local cloud in the foreground until SIGINT or SIGTERM (used by `make local-cloud`)."""
    cloud = LocalCloud(port).start()
    env = cloud.env()
    if env_file is not None:
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()), encoding="utf-8")
    print(json.dumps({"local_cloud": cloud.url, "env_file": str(env_file) if env_file else None}), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        cloud.stop()
        if env_file is not None and env_file.exists():
            env_file.unlink()


def apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)
