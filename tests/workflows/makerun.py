"""Run this repository's make as a user would, without the caller's AWS, GitHub or make settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DROPPED = ("AWS_", "GITHUB_", "TOOLS_CACHE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")


def run_make(*args: str, env: dict[str, str] | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    """`make --no-print-directory ARGS` in the repository, `env` over a cleaned copy of os.environ."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    base.update(env or {})
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
