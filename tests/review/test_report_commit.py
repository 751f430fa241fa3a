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
    head = git(repository, "rev-parse", "HEAD")
    assert report.head_commit(head) == head
    assert report.head_commit(head[:7]) == head  # named in full in the report


@pytest.mark.parametrize("given", ["a" * 40, "abcdef1", "0" * 40])
def test_hex_digits_that_name_no_commit_here_are_refused(repository: Path, given: str) -> None:
    """Bad input, round 7 (U-11): any 7-40 hex digits were printed as "Model trained from commit"."""
    with pytest.raises(report.ReportError, match=rf"--commit-sha {given}: no commit of this repository"):
        report.head_commit(given)


def test_a_tree_or_blob_sha_is_not_a_commit(repository: Path) -> None:
    for sha in (
        git(repository, "rev-parse", "HEAD^{tree}"),
        git(repository, "rev-parse", "HEAD:params.yaml"),
    ):
        with pytest.raises(report.ReportError, match="no commit of this repository"):
            report.head_commit(sha)
