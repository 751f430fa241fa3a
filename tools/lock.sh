#!/usr/bin/env bash
# Regenerate the two lock files with uv (`make lock`; mk/lock.mk says what each is for).
# Each keeps its leading comment block; uv reuses the versions the current file pins as
# preferences, so only what pyproject.toml changed moves.
set -euo pipefail

: "${UV:?the uv binary (make lock installs it)}"
PYPI_INDEX="${PYPI_INDEX:-https://pypi.org/simple}"
TORCH_INDEX="${TORCH_INDEX-https://download.pytorch.org/whl/cpu}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

compile() { # compile OUTPUT ARGS...: uv pip compile into OUTPUT, keeping OUTPUT's header comments
  local output="$1"
  shift
  sed -n '/^[^#]/q;p' "$output" >"$tmp/header"
  "$UV" pip compile --quiet --generate-hashes --no-header --no-annotate --python-version 3.11 \
    --index-url "$PYPI_INDEX" "$@" -o "$output"
  cat "$tmp/header" "$output" >"$tmp/body"
  mv "$tmp/body" "$output"
}

# Development and CI: dependencies and dev tools; torch's CPU build from TORCH_INDEX (or from
# UV_FIND_LINKS when TORCH_INDEX is empty).
compile requirements.lock ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} pyproject.toml --extra dev

# The serving lock takes requirements.lock's versions (no second set to drift), without hashes
# (constraints are plain pins).
grep -E '^[A-Za-z0-9_.-]+==' requirements.lock | sed -e 's/ \\$//' >"$tmp/pins"

# The serving image: exactly the packages the file lists (installed with --no-deps).
compile requirements-serve.lock --no-deps -c "$tmp/pins" requirements-serve.lock

# The serving image's build backend: requirements.lock's setuptools entry, under the file's own
# header (tests/code/test_image_builds.py keeps the two equal).
{
  sed -n '/^[^#]/q;p' docker/build-backend.lock
  awk '/^setuptools==/ {on = 1} on {print} on && !/\\$/ {on = 0}' requirements.lock
} >"$tmp/backend"
mv "$tmp/backend" docker/build-backend.lock
