# syntax=docker/dockerfile:1
# The serving image of the SageMaker Serverless endpoint: `docker run IMAGE serve` (docker/serve)
# answers GET /ping and POST /invocations on port 8080 with the model SageMaker extracts into
# /opt/ml/model. CPU only: Serverless endpoints have no GPU. Build context: the repository root.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# The server's defaults (docker/serve): params.yaml's deploy.serve section is baked in at build.
# DL3064 mistakes TOKENIZERS_PARALLELISM for a secret (it switches a warning off).
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    TOKENIZERS_PARALLELISM=false \
    TEXTCLF_HOST=0.0.0.0 \
    TEXTCLF_MODEL_DIR=/opt/ml/model \
    TEXTCLF_PARAMS=/opt/program/params.yaml

WORKDIR /opt/program

# torch's CPU build first (the PyPI wheel is a CUDA build, several GB the endpoint cannot use);
# then the runtime dependencies of pyproject.toml at the versions of requirements.lock.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY pyproject.toml requirements.lock ./
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==$(sed -n 's/^torch==//p' requirements.lock)" \
    && python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > runtime.txt \
    && pip install --no-cache-dir --constraint requirements.lock --requirement runtime.txt \
    && rm runtime.txt

COPY README.md params.yaml ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps .

COPY --chmod=0755 docker/serve /usr/local/bin/serve
EXPOSE 8080
