"""make fetch-main does not move branch main under another worktree that has it checked out (issue
27, round 9, U-f3: update-ref moved it, and that worktree showed origin/main's new commits as staged
reversals, `D  a.txt`, which its next commit would have made real)."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.test_fetch_main import clone, fetch_main, git  # noqa: F401 (clone: the fixture)


def test_main_checked_out_elsewhere_is_not_moved(clone: Path) -> None:  # noqa: F811
    git(clone, "checkout", "-q", "-b", "feature")
    worktree = clone.parent / "wt"
    git(clone, "worktree", "add", "-q", str(worktree), "main")
    before = git(clone, "rev-parse", "main")
    git(clone, "fetch", "-q", "origin")
    result = fetch_main(clone)
    assert result.returncode == 2, result.stdout
    assert f"branch main is checked out in the worktree {worktree}" in result.stderr, result.stderr
    assert "git merge --ff-only origin/main' there" in result.stderr
    assert git(clone, "rev-parse", "main") == before
    assert git(worktree, "status", "--short") == ""


def test_main_checked_out_elsewhere_and_up_to_date_is_fine(clone: Path) -> None:  # noqa: F811
    git(clone, "checkout", "-q", "-b", "feature")
    worktree = clone.parent / "wt"
    git(clone, "worktree", "add", "-q", str(worktree), "main")
    git(clone, "fetch", "-q", "origin")
    git(worktree, "merge", "-q", "--ff-only", "origin/main")
    result = fetch_main(clone)
    assert result.returncode == 0, result.stderr
    assert git(worktree, "status", "--short") == ""
