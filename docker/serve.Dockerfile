# syntax=docker/dockerfile:1
# check=skip=FromPlatformFlagConstDisallowed
# The serving image of the SageMaker Serverless endpoint: `docker run IMAGE serve` (docker/serve)
# answers GET /ping and POST /invocations on port 8080 with the model SageMaker extracts into
# /opt/ml/model. CPU only: Serverless endpoints have no GPU. Build context: the repository root.
# It runs the model's ONNX graph with ONNX Runtime: no torch, transformers, pandas or DVC here
# (requirements-serve.lock); the training image keeps PyTorch.
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

# The server's defaults (docker/serve): params.yaml's deploy.serve section is baked in at build.
# TOKENIZERS_PARALLELISM=false: tokenizing a request stays in its thread and leaves the cores to
# ONNX Runtime (as `make bench-serve` measured it). DL3064 mistakes it for a secret.
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOKENIZERS_PARALLELISM=false \
    TEXTCLF_HOST=0.0.0.0 \
    TEXTCLF_MODEL_DIR=/opt/ml/model \
    TEXTCLF_PARAMS=/opt/program/params.yaml

WORKDIR /opt/program

# The serving dependencies, the whole tree pinned with hashes: --require-hashes refuses other
# bytes, --no-deps installs exactly the list, and pip check fails the build when the list misses
# a dependency.
COPY requirements-serve.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps --requirement requirements-serve.lock \
    && pip check

# The package without its (training) dependencies: the server imports only the serving set. Built
# without build isolation, with the build backend installed first from its hashed entry
# (build-backend.lock): isolation would fetch an unpinned setuptools from the index.
COPY docker/build-backend.lock pyproject.toml params.yaml ./
COPY src ./src
RUN pip install --no-cache-dir --require-hashes --no-deps --requirement build-backend.lock \
    && pip install --no-cache-dir --no-deps --no-build-isolation . \
    && rm build-backend.lock

COPY --chmod=0755 docker/serve /usr/local/bin/serve
EXPOSE 8080

# An unprivileged account (uid 10001, no login shell, owning none of the installed files) for the
# container service: ECS runs this image as that user (terraform/ecs.tf, the task's `user`).
RUN useradd --system --uid 10001 --user-group --create-home --shell /usr/sbin/nologin textclf
# SageMaker runs the image as its final USER, which is root: "SageMaker AI expects all containers to
# run with root users ... users that do not have root-level access can cause permissions issues"
# (Custom Inference Code with Hosting Services,
# https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html); it extracts
# the model into /opt/ml/model as root. Non-root belongs in the ECS task definition, not here.

# hadolint ignore=DL3002
USER 0:0
