# syntax=docker/dockerfile:1
# The serving image of the SageMaker Serverless endpoint: `docker run IMAGE serve` (docker/serve)
# answers GET /ping and POST /invocations on port 8080 with the model SageMaker extracts into
# /opt/ml/model. CPU only: Serverless endpoints have no GPU. Build context: the repository root.
# It runs the model's ONNX graph with ONNX Runtime: no torch, transformers, pandas or DVC here
# (requirements-serve.lock); the training image keeps PyTorch.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

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

# The serving dependencies, the whole tree pinned: --no-deps installs exactly the list, and pip
# check fails the build when the list misses a dependency.
COPY requirements-serve.lock ./
RUN pip install --no-cache-dir --no-deps --requirement requirements-serve.lock \
    && pip check

# The package without its (training) dependencies: the server imports only the serving set.
COPY pyproject.toml README.md params.yaml ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps .

COPY --chmod=0755 docker/serve /usr/local/bin/serve
EXPOSE 8080
