"""The commit the report names: HEAD only when the workspace's tracked files are as committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from textclf.review import report


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "params.yaml").write_text("train:\n  epochs: 2\n", encoding="utf-8")
    git(tmp_path, "add", "params.yaml")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "one")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_clean_workspace_names_head(repository: Path) -> None:
    assert report.head_commit(None) == git(repository, "rev-parse", "HEAD")


def test_an_edited_tracked_file_names_no_commit(repository: Path) -> None:
    (repository / "params.yaml").write_text("train:\n  epochs: 3\n", encoding="utf-8")
    assert report.head_commit(None) is None


def test_an_untracked_file_does_not_matter_and_an_explicit_commit_wins(repository: Path) -> None:
    (repository / "notes.txt").write_text("scratch\n", encoding="utf-8")
    assert report.head_commit(None) == git(repository, "rev-parse", "HEAD")
    (repository / "params.yaml").write_text("edited\n", encoding="utf-8")
    assert report.head_commit("a" * 40) == "a" * 40
