"""A bare origin with one commit on main and a clone of it, for tests of the fake GitHub."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*GIT, *args], cwd=cwd, check=check, capture_output=True, text=True)


def origin_with_main(tmp_path: Path) -> tuple[Path, Path]:
    """(origin.git, work): main holds README.md, pushed; work is a clone on main."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git("init", "-q", "--bare", "--initial-branch=main", str(origin), cwd=tmp_path)
    git("clone", "-q", str(origin), str(work), cwd=tmp_path)
    (work / "README.md").write_text("hello\n", encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "main", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return origin, work
