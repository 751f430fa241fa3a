"""docker/: the Dockerfiles and entry point scripts pass their linters, the `serve` program answers
like the endpoint's container, and `make images-push` pushes what ECR lacks (no Docker engine
here: `docker` is a recorder that stands in for the CLI, ECR is the local cloud's)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.sagemaker.conftest import ACCOUNT, REGION, push_image

BIN = Path(sys.executable).parent


def test_dockerfiles_pass_hadolint(repo_root):
    done = subprocess.run(
        [str(BIN / "hadolint"), "docker/train.Dockerfile", "docker/serve.Dockerfile"],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_entry_point_scripts_pass_shellcheck(repo_root):
    scripts = ["docker/train", "docker/serve"]
    done = subprocess.run([str(BIN / "shellcheck"), *scripts], cwd=repo_root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    for script in scripts:
        assert os.access(repo_root / script, os.X_OK), f"{script} must be executable"


# What the Dockerfiles run to list the runtime dependencies (pyproject's, not the dev tools).
LIST_DEPENDENCIES = (
    "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')"
)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_images_install_the_runtime_dependencies_at_the_locked_versions(repo_root):
    for dockerfile in ("train.Dockerfile", "serve.Dockerfile"):
        text = (repo_root / "docker" / dockerfile).read_text(encoding="utf-8")
        assert LIST_DEPENDENCIES in text and "--constraint requirements.lock" in text
    listed = subprocess.run(
        [sys.executable, "-c", LIST_DEPENDENCIES], cwd=repo_root, capture_output=True, text=True, check=True
    )
    lock = (repo_root / "requirements.lock").read_text(encoding="utf-8").splitlines()
    locked = dict(_normalised(line).split("==", 1) for line in lock if "==" in line)
    for requirement in listed.stdout.split():
        name, version = _normalised(requirement).split("==")
        assert locked.get(name) == version, f"{requirement} is not what requirements.lock pins"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_program_answers_ping_and_invocations(repo_root, tiny_model_dir, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        # What the serving image sets; the port SageMaker sets.
        "TEXTCLF_MODEL_DIR": str(tiny_model_dir),
        "TEXTCLF_PARAMS": str(repo_root / "params.yaml"),
        "TEXTCLF_HOST": "127.0.0.1",
        "SAGEMAKER_BIND_TO_PORT": str(port),
    }
    server = subprocess.Popen(
        [str(repo_root / "docker/serve")], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "no 200 from /ping"
            time.sleep(0.5)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": ["where is my parcel?", "refund please"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        labels = json.loads((tiny_model_dir / "labels.json").read_text())["labels"]
        assert [p["label"] in labels for p in answer["predictions"]] == [True, True]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_images_push_pushes_only_what_ecr_lacks(aws_env, repo_root, tmp_path):
    calls = tmp_path / "docker-calls.txt"
    recorder = tmp_path / "docker"
    recorder.write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncat > /dev/null\n', encoding="utf-8")
    recorder.chmod(0o755)
    tag = "c0ffee"
    push_image("textclf-prod-training", tag)  # built and pushed before: immutable, kept
    push_image("textclf-prod-serving", "older")

    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "images-push",
            f"DOCKER={recorder}",
            f"IMAGE_TAG={tag}",
        ],
        cwd=repo_root,
        env={**os.environ, **aws_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    recorded = calls.read_text().splitlines()
    assert recorded[0] == f"build --file docker/train.Dockerfile --tag textclf-prod-training:{tag} ."
    assert recorded[1] == f"build --file docker/serve.Dockerfile --tag textclf-prod-serving:{tag} ."
    assert recorded[2] == f"login --username AWS --password-stdin {registry}"
    assert recorded[3:] == [
        f"tag textclf-prod-serving:{tag} {registry}/textclf-prod-serving:{tag}",
        f"push {registry}/textclf-prod-serving:{tag}",
    ]
    assert f"{registry}/textclf-prod-training:{tag} already in ECR" in done.stdout
    assert f"TEXTCLF_TRAINING_IMAGE_URI={registry}/textclf-prod-training:{tag}" in done.stdout


def test_images_push_names_a_missing_repository(aws_env, repo_root, tmp_path):
    done = subprocess.run(
        [sys.executable, "docker/ecr.py", "exists", "no-such-repository", "abc"],
        cwd=repo_root,
        env={**os.environ, **aws_env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "ECR repository 'no-such-repository' does not exist" in done.stderr
