# The Python lock files, each the whole dependency tree pinned with the sha256 of every file
# published for every pin, so pip --require-hashes refuses any other bytes or any unlisted package:
#
#   requirements.lock        `make setup`, CI: pyproject.toml's dependencies and dev tools, torch's
#                            CPU build (X+cpu from PyTorch's CPU index); docker/train.Dockerfile
#                            takes its versions as constraints (torch there is a CUDA build)
#   requirements-serve.lock  docker/serve.Dockerfile: the serving set, installed with --no-deps
#
# `make lock` re-resolves both with uv (in its own tool venv, like checkov's), keeping every version
# the current lock holds unless pyproject.toml now asks for another one: after a Dependabot update
# of pyproject.toml, run it on the update's branch and commit the locks. The serving lock takes
# its versions from requirements.lock (no second set of versions to drift).

.PHONY: lock

UV_VERSION := 0.13.9
UV_VENV := $(TOOLS_CACHE)/uv-$(UV_VERSION)
UV := $(UV_VENV)/bin/uv
# Where torch's CPU build comes from. Offline, point it at a local index or empty it and set
# UV_FIND_LINKS / PIP_FIND_LINKS to a folder holding the wheel.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PYPI_INDEX ?= https://pypi.org/simple
# Read from the environment by tools/lock.sh, never pasted into its recipe.
export UV TORCH_INDEX PYPI_INDEX

TOOL_TARGETS += lock $(UV)
$(UV):
	$(TOOLS_CACHE_CHECK)$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet uv==$(UV_VERSION)

lock: $(UV) ## Regenerate requirements.lock and requirements-serve.lock (with hashes) from pyproject.toml
	tools/lock.sh
