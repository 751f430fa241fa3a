# Every step a workflow runs is a target here, so CI and a laptop run the same commands.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Offline by default: the default model comes from an installed package, never from the hub.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
# dvc.yaml's stage commands call `textclf`, so the project's venv comes first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup data repro test test-fast test-iam test-security lint lint-python clean

# Tools with pins of their own (checkov, uv, act) get venvs here, outside the clone, so CI runs and
# fresh clones on one machine share them. Defined before the includes: their rules name files in it.
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/textclf-tools

# Targets per area (infrastructure, serving, SageMaker, report, CI rehearsals).
include $(sort $(wildcard mk/*.mk))

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# Hash-checking mode (mk/lock.mk): pip refuses a file whose sha256 the lock does not list and
	# any dependency the lock misses. torch's CPU build (2.13.0+cpu; PyPI's Linux torch is a CUDA
	# build) comes from TORCH_INDEX, asked for torch alone (no other package is looked up there).
	# Compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would otherwise
	# recompile torch and transformers (seconds per process).
	awk '/^torch==/ {on = 1} on {print} on && !/\\$$/ {on = 0}' requirements.lock >$(VENV)/torch.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps \
		$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r $(VENV)/torch.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	# The project itself with the build backend the lock installed (setuptools, hash-checked): build
	# isolation would fetch an unpinned setuptools from the index at every install.
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(INSTALLED) ## Create .venv and install the pinned dependencies (idempotent)

data: $(INSTALLED) ## Materialise data/raw: the bundled sample when data.dvc pins it, else dvc pull
	@test -d data/raw || $(BIN)/textclf data

repro: $(INSTALLED) data ## Run prepare -> train -> evaluate on the sample, offline
	$(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: $(INSTALLED) data ## Run the whole test suite, slow tests included
	$(BIN)/pytest

test-fast: $(INSTALLED) ## Run the tests not marked slow
	$(BIN)/pytest -m "not slow"

test-iam: $(INSTALLED) ## IAM enforced: policy rules, each step as its principal on a Terraform-made account, service rules
	$(BIN)/pytest tests/iam tests/release/test_localcloud_endpoints.py tests/release/test_lambda_package.py \
		tests/infra/test_localcloud_extensions.py

test-security: $(INSTALLED) ## Attacks on the release's integrity (IAM enforced), rollback and import rules, GitHub settings
	$(BIN)/pytest tests/iam/test_attacks.py tests/workflows/test_release.py tests/workflows/test_retrain_keys.py \
		tests/workflows/test_github_settings.py

lint: lint-python lint-ci ## Lint everything: Python, workflows, YAML, shell scripts, Dockerfiles

lint-python: $(INSTALLED) ## Lint Python (ruff check, ruff format --check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## Remove pipeline outputs and caches (keeps .venv and data)
	rm -rf data/prepared models metrics/*.json plots work .pytest_cache .ruff_cache
