"""make fetch-main creates branch main when it is missing and otherwise only fast-forwards it to
origin/main: a local commit on main that origin/main lacks is never dropped, the target refuses and
names it (issue 27 round 8, D-f: `git update-ref` reset main, leaving the commit to the reflog).
The real Makefile, on a scratch clone of a scratch origin (GIT_DIR points git at it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHO = ("-c", "user.name=t", "-c", "user.email=t@example.com")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *WHO, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def change(repo: Path, name: str) -> str:
    (repo / name).write_text(name + "\n", encoding="utf-8")
    git(repo, "add", name)
    git(repo, "commit", "-qm", f"add {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    change(origin, "one.txt")
    subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / "clone")], check=True)
    change(origin, "two.txt")  # origin/main moves on after the clone
    return tmp_path / "clone"


def fetch_main(repo: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)}
    env = {key: value for key, value in env.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "fetch-main"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("on_main", [True, False])
def test_a_local_commit_on_main_is_kept_and_named(clone: Path, on_main: bool):
    git(clone, "fetch", "-q", "origin")
    mine = change(clone, "mywork.txt")
    if not on_main:
        git(clone, "switch", "-q", "-c", "feature")

    done = fetch_main(clone)

    assert done.returncode != 0, done.stdout
    assert "branch main has commits origin/main lacks" in done.stderr
    assert f"{mine[:7]} add mywork.txt" in done.stderr
    assert git(clone, "rev-parse", "main") == mine
    assert git(clone, "status", "--porcelain") == ""


@pytest.mark.parametrize("on_main", [True, False])
def test_main_behind_origin_is_fast_forwarded(clone: Path, on_main: bool):
    git(clone, "fetch", "-q", "origin")
    if not on_main:
        git(clone, "switch", "-q", "-c", "feature")

    done = fetch_main(clone)

    assert done.returncode == 0, done.stderr
    assert git(clone, "rev-parse", "main") == git(clone, "rev-parse", "origin/main")
    assert git(clone, "status", "--porcelain") == ""  # on main, the working tree followed


def test_a_missing_main_is_created_from_origin(clone: Path):
    git(clone, "fetch", "-q", "origin")
    git(clone, "switch", "-q", "--detach", "HEAD")
    git(clone, "branch", "-q", "-D", "main")

    done = fetch_main(clone)

    assert done.returncode == 0, done.stderr
    assert git(clone, "rev-parse", "main") == git(clone, "rev-parse", "origin/main")
