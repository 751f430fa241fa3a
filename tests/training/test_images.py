"""docker/: the Dockerfiles and entry point scripts pass their linters, the `serve` program answers
like the endpoint's container, and `make images-push` pushes what ECR lacks (no Docker engine
here: `docker` is a recorder that stands in for the CLI, ECR is the local cloud's)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.training.conftest import ACCOUNT, REGION, push_image

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


DOCKERFILES = ["docker/train.Dockerfile", "docker/serve.Dockerfile"]
DIGEST_PINNED = re.compile(r"FROM --platform=linux/amd64 [\w./:-]+@sha256:[0-9a-f]{64}(?: AS \w+)?")


def supply_chain_problems(text: str) -> list[str]:
    """Every FROM pins a digest (a tag can be re-pushed) and the platform SageMaker runs (x86_64),
    whatever machine builds the image."""
    return [
        f"not pinned by digest for linux/amd64: {line}"
        for line in text.splitlines()
        if line.startswith("FROM ") and not DIGEST_PINNED.fullmatch(line)
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_base_image_pinned_by_digest_for_amd64(repo_root, dockerfile):
    text = (repo_root / dockerfile).read_text(encoding="utf-8")
    assert supply_chain_problems(text) == []
    # The check fails on what it must catch.
    digest = re.search(r"@sha256:[0-9a-f]{64}", text).group(0)
    assert supply_chain_problems(text.replace(digest, ""))
    assert supply_chain_problems(text.replace("--platform=linux/amd64 ", ""))
    assert supply_chain_problems(text.replace("linux/amd64", "linux/arm64"))


def test_both_images_share_one_base(repo_root):
    bases = {
        line
        for dockerfile in DOCKERFILES
        for line in (repo_root / dockerfile).read_text(encoding="utf-8").splitlines()
        if line.startswith("FROM ")
    }
    assert len(bases) == 1, f"one digest to review and refresh: {bases}"


# What the Dockerfiles run to list the runtime dependencies (pyproject's, not the dev tools).
LIST_DEPENDENCIES = (
    "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')"
)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# A pin line of a lock file with hashes: `name==version \` followed by `--hash=sha256:...` lines.
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+?)(?: \\)?$", re.MULTILINE)


def _locked(path: Path) -> dict[str, str]:
    return {_normalised(name): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def test_the_training_image_installs_the_runtime_dependencies_at_the_locked_versions(repo_root, tmp_path):
    text = (repo_root / "docker/train.Dockerfile").read_text(encoding="utf-8")
    assert LIST_DEPENDENCIES in text and "--constraint constraints.txt --requirement runtime.txt" in text
    # The Dockerfile's own command turns the hashed lock into plain pins pip accepts as constraints.
    command = re.search(r"(sed -n .*?) > constraints\.txt", text)
    assert command and "requirements.lock" in command.group(1)
    derived = subprocess.run(
        ["sh", "-c", command.group(1)], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.]*", pin) for pin in derived), derived
    constraints = dict(_normalised(pin).split("==") for pin in derived)
    listed = subprocess.run(
        [sys.executable, "-c", LIST_DEPENDENCIES], cwd=repo_root, capture_output=True, text=True, check=True
    )
    for requirement in listed.stdout.split():
        name, version = _normalised(requirement).split("==")
        assert constraints.get(name) == version, f"{requirement} is not what requirements.lock pins"


# What the serving image must not carry: the training side's weight.
TRAINING_ONLY = {
    "torch",
    "transformers",
    "datasets",
    "accelerate",
    "pandas",
    "pyarrow",
    "dvc",
    "scikit-learn",
}


def test_the_serving_image_installs_exactly_its_lock_without_torch(repo_root):
    text = (repo_root / "docker/serve.Dockerfile").read_text(encoding="utf-8")
    assert (
        "pip install --no-cache-dir --require-hashes --no-deps --requirement requirements-serve.lock" in text
    )
    assert "pip check" in text and "requirements.lock" not in text.replace("requirements-serve.lock", "")
    pins = [
        f"{name}=={version}"
        for name, version in PIN.findall((repo_root / "requirements-serve.lock").read_text())
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+]*", pin) for pin in pins), pins
    assert pins == sorted(pins, key=lambda pin: pin.split("==")[0].lower()), "keep the lock sorted"
    serving = _locked(repo_root / "requirements-serve.lock")
    assert {"onnxruntime", "tokenizers", "numpy", "pyyaml", "pydantic"} <= set(serving)
    assert not TRAINING_ONLY & set(serving)
    training = _locked(repo_root / "requirements.lock")
    skew = {name: (v, training.get(name)) for name, v in serving.items() if training.get(name) != v}
    assert not skew, f"serving and training pin different versions: {skew}"


def test_the_serving_lock_is_a_closed_tree(repo_root):
    """Installed with --no-deps, so every dependency of a locked package must be locked too (what
    the image's pip check enforces at build time, checked here from the installed metadata)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    serving = _locked(repo_root / "requirements-serve.lock")
    missing = {}
    for name in serving:
        for line in requires(name) or []:
            needed = Requirement(line)
            if needed.marker and not needed.marker.evaluate({"extra": ""}):
                continue  # an extra or another platform's dependency
            if _normalised(needed.name) not in serving:
                missing.setdefault(name, []).append(needed.name)
    assert not missing, f"requirements-serve.lock lacks dependencies: {missing}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Without PYTHONPATH: the fresh venv must see only what it installed.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run_serve_program(repo_root: Path, model_dir: Path, bin_dir: Path, tmp_path: Path) -> int:
    """`docker/serve` with the image's environment and `bin_dir` first on PATH: /ping turns 200 and
    two texts get labels; returns the exit status after SIGTERM."""
    port = _free_port()
    env = {
        **CLEAN_ENV,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        # What the serving image sets; the port SageMaker sets.
        "TEXTCLF_MODEL_DIR": str(model_dir),
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
            time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": ["where is my parcel?", "refund please"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        labels = json.loads((model_dir / "labels.json").read_text())["labels"]
        assert [p["label"] in labels for p in answer["predictions"]] == [True, True]
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=30)
    return status


@pytest.mark.slow
def test_serve_program_answers_ping_and_invocations(repo_root, tiny_model_dir, tmp_path):
    assert run_serve_program(repo_root, tiny_model_dir, BIN, tmp_path) == 0


@pytest.mark.slow
def test_the_serving_lock_alone_runs_the_serve_program_without_torch(repo_root, tiny_model_dir, tmp_path):
    """What the serving image does, in a fresh venv: the lock with hashes and --no-deps, pip check,
    the package without its training dependencies; then the entry point answers, and no torch."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for step in (
        [*pip, "--require-hashes", "--no-deps", "--requirement", str(repo_root / "requirements-serve.lock")],
        [str(venv / "bin/python"), "-m", "pip", "check"],
        [*pip, "--no-deps", str(repo_root)],
    ):
        done = subprocess.run(step, capture_output=True, text=True, cwd=tmp_path, env=CLEAN_ENV)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    no_torch = subprocess.run(
        [str(venv / "bin/python"), "-c", "import torch"], capture_output=True, env=CLEAN_ENV
    )
    assert no_torch.returncode != 0

    assert run_serve_program(repo_root, tiny_model_dir, venv / "bin", tmp_path) == 0


# What the images are built from, copied into a fresh git repository so that the tags (hashes of
# committed files) do not depend on the state of the working tree the tests run from.
IMAGE_INPUTS = [
    *("Makefile", "mk", "docker", "src", "terraform/scripts", "terraform/environments"),
    *("pyproject.toml", "requirements.lock", "requirements-serve.lock", "README.md", "params.yaml"),
]


@pytest.fixture
def checkout(repo_root, tmp_path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *IMAGE_INPUTS],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    root = tmp_path / "checkout"
    for name in filter(None, listed):
        if (repo_root / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root / name, root / name)
    (root / ".venv").symlink_to(Path(sys.prefix))
    commit_all(root, "the project")
    return root


def commit_all(root: Path, message: str) -> None:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    if not (root / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=root, check=True)


def make(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def image_tags(root: Path, ref: str = "HEAD") -> dict[str, str]:
    done = make(root, "-s", "image-tags", f"IMAGE_REF={ref}")
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_image_tags_change_with_what_the_images_are_built_from(checkout):
    first = image_tags(checkout)
    assert all(re.fullmatch(r"[0-9a-f]{20}", tag) for tag in first.values())
    assert first["TRAINING_IMAGE_TAG"] != first["SERVING_IMAGE_TAG"]

    (checkout / "notes.md").write_text("not in any image\n", encoding="utf-8")
    with (checkout / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("A line.\n")
    commit_all(checkout, "docs only")
    assert image_tags(checkout) == first  # a release of this commit rebuilds nothing

    with (checkout / "params.yaml").open("a", encoding="utf-8") as params:
        params.write("# a comment\n")
    commit_all(checkout, "params")
    after_params = image_tags(checkout)
    assert after_params["TRAINING_IMAGE_TAG"] == first["TRAINING_IMAGE_TAG"]
    assert after_params["SERVING_IMAGE_TAG"] != first["SERVING_IMAGE_TAG"]  # the server reads params.yaml

    with (checkout / "requirements-serve.lock").open("a", encoding="utf-8") as lock:
        lock.write("# a comment\n")
    commit_all(checkout, "serving lock")
    after_lock = image_tags(checkout)
    assert after_lock["TRAINING_IMAGE_TAG"] == after_params["TRAINING_IMAGE_TAG"]
    assert after_lock["SERVING_IMAGE_TAG"] != after_params["SERVING_IMAGE_TAG"]  # the image installs it
    after_params = after_lock

    with (checkout / "src/textclf/serving/server.py").open("a", encoding="utf-8") as code:
        code.write("# changed\n")
    commit_all(checkout, "code")
    after_code = image_tags(checkout)
    assert after_code["TRAINING_IMAGE_TAG"] != after_params["TRAINING_IMAGE_TAG"]
    assert after_code["SERVING_IMAGE_TAG"] != after_params["SERVING_IMAGE_TAG"]
    assert image_tags(checkout, "HEAD~4") == first  # any commit names its images


def terraform_outputs(tmp_path: Path, environment: str) -> Path:
    """A stand-in `terraform` printing an environment's repository outputs (`tf.sh main output -json`)."""
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    outputs = {
        "training_repository_url": {"value": f"{registry}/textclf-{environment}-training"},
        "serving_repository_url": {"value": f"{registry}/textclf-{environment}-serving"},
    }
    folder = tmp_path / "terraform-bin"
    folder.mkdir()
    script = folder / "terraform"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(outputs)}\nEOF\n", encoding="utf-8")
    script.chmod(0o755)
    return folder


def test_images_push_builds_and_pushes_only_what_ecr_lacks(aws_env, checkout, tmp_path):
    """To the repositories of DEPLOY_ENV's Terraform outputs, for linux/amd64."""
    calls = tmp_path / "docker-calls.txt"
    recorder = tmp_path / "docker"
    recorder.write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncat > /dev/null\n', encoding="utf-8")
    recorder.chmod(0o755)
    tags = image_tags(checkout)
    training, serving = tags["TRAINING_IMAGE_TAG"], tags["SERVING_IMAGE_TAG"]
    push_image("textclf-staging-training", training)  # built and pushed by an earlier release: kept
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName="textclf-staging-serving")
    path = f"{terraform_outputs(tmp_path, 'staging')}:{os.environ['PATH']}"

    done = make(
        checkout, "images-push", f"DOCKER={recorder}", env={**aws_env, "PATH": path, "DEPLOY_ENV": "staging"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert calls.read_text().splitlines() == [
        f"login --username AWS --password-stdin {registry}",
        "build --platform linux/amd64 --file docker/serve.Dockerfile "
        f"--tag {registry}/textclf-staging-serving:{serving} .",
        f"push {registry}/textclf-staging-serving:{serving}",
    ]
    assert f"{registry}/textclf-staging-training:{training} already in ECR" in done.stdout
    assert f"TEXTCLF_TRAINING_IMAGE_URI={registry}/textclf-staging-training:{training}" in done.stdout
    assert f"TEXTCLF_SERVING_IMAGE_URI={registry}/textclf-staging-serving:{serving}" in done.stdout

    # The pr workflow's role reads no Terraform state: it names production's training repository.
    push_image("textclf-prod-training", training)
    uri = make(checkout, "-s", "training-image-uri", env=aws_env)
    assert uri.stdout.strip() == f"{registry}/textclf-prod-training:{training}", uri.stderr


def test_images_push_stops_when_ecr_refuses_the_question(aws_env, repo_root):
    """ECR's refusal (here: no credentials at all) is not "missing": nothing is built to be refused."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(aws_env)
    env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="", AWS_SESSION_TOKEN="")
    done = subprocess.run(
        [sys.executable, "docker/ecr.py", "exists", "textclf-prod-serving", "abc"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr
    assert "cannot look up textclf-prod-serving:abc in ECR" in done.stderr and "Traceback" not in done.stderr


def test_training_image_uri_without_credentials_says_what_to_configure(checkout, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-o", ".venv/.installed", "training-image-uri"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert "configure AWS credentials" in done.stderr and "Traceback" not in done.stderr


def test_images_are_not_built_from_uncommitted_changes(checkout, tmp_path):
    (checkout / "docker/serve").write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    done = make(checkout, "images-build", f"DOCKER={tmp_path / 'no-docker'}")
    assert done.returncode == 2
    assert "uncommitted changes" in done.stderr and "docker/serve" in done.stderr


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
