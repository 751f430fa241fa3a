"""The scheduled production check comments only on a mismatch issue the workflow (or a collaborator)
opened (issue 27, round 9, F-k: an issue anyone opened with that title took every mismatch comment,
and its author could edit it to say "known false alarm"; no issue of the workflow's own was opened)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.release.test_desired_main import COMMIT, workspace, writes  # noqa: F401 (workspace: the fixture)

from textclf.release import desired

TITLE = desired.MISMATCH_TITLE.format(endpoint="textclf-prod")


def compare_with(monkeypatch, issues: list[dict], permissions: dict[str, str] | None = None) -> list[str]:
    """desired.compare against one page of open issues (each search answered with all of them, as a
    server that ignores the filter would) and GitHub's permission answers; the paths it wrote to."""
    monkeypatch.setattr(desired, "live_commit", lambda endpoint: COMMIT)
    calls: list[list[str]] = []

    def gh(args: list[str]) -> str:
        calls.append(args)
        if "issues?state=open" in args[-1]:
            return json.dumps(issues)
        for login, permission in (permissions or {}).items():
            if args[-1].endswith(f"/collaborators/{login}/permission"):
                return json.dumps({"permission": permission})
        if args[-1].endswith("/permission"):
            raise desired.DesiredStateError("gh api repos: HTTP 404: Not Found")
        return "{}"

    monkeypatch.setattr(desired, "run_gh", gh)
    assert desired.main(["compare"]) == 1
    return [call[3] for call in writes(calls)]


@pytest.mark.parametrize(
    "association", ["NONE", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", None]
)
def test_a_strangers_issue_with_the_title_is_not_ours(workspace: Path, monkeypatch, association) -> None:  # noqa: F811
    decoy = {"number": 7, "title": TITLE, "user": {"login": "stranger"}, "author_association": association}
    assert compare_with(monkeypatch, [decoy]) == ["repos/o/r/issues"]


@pytest.mark.parametrize(
    ("login", "association"),
    [("github-actions[bot]", "NONE"), ("maintainer", "OWNER"), ("dev", "MEMBER"), ("dev", "COLLABORATOR")],
)
def test_the_workflows_or_a_collaborators_issue_is_commented_on(
    workspace: Path,  # noqa: F811
    monkeypatch,
    login: str,
    association: str,
) -> None:
    # A writer's own issue is found by its label (the workflow's by its creator).
    labels = [] if login == "github-actions[bot]" else [{"name": desired.MISMATCH_LABEL}]
    ours = {"number": 9, "title": TITLE, "user": {"login": login}, "author_association": association}
    ours["labels"] = labels
    decoy = {"number": 7, "title": TITLE, "user": {"login": "stranger"}, "author_association": "NONE"}
    decoy["labels"] = [{"name": desired.MISMATCH_LABEL}]
    found = compare_with(monkeypatch, [decoy, ours], {login: "write"})
    assert found == ["repos/o/r/issues/9/comments"]


@pytest.mark.parametrize(
    ("association", "permission", "labelled"),
    [("MEMBER", "read", True), ("COLLABORATOR", None, True), ("MEMBER", "write", False)],
)
def test_a_members_issue_counts_only_labelled_and_with_write_access(
    workspace: Path,  # noqa: F811
    monkeypatch,
    association: str,
    permission: str | None,
    labelled: bool,
) -> None:
    # Round 10's F-n: MEMBER is any member of the organization, COLLABORATOR any invited one (read
    # and triage included); F-k: an unlabelled issue of a person is outside both searches.
    issue = {"number": 9, "title": TITLE, "user": {"login": "dev"}, "author_association": association}
    issue["labels"] = [{"name": desired.MISMATCH_LABEL}] if labelled else []
    granted = {"dev": permission} if permission else {}
    assert compare_with(monkeypatch, [issue], granted) == ["repos/o/r/issues"]


def test_a_user_that_is_not_an_object_is_not_ours(workspace: Path, monkeypatch) -> None:  # noqa: F811
    odd = {"number": 7, "title": TITLE, "user": None, "author_association": "NONE"}
    assert compare_with(monkeypatch, [odd]) == ["repos/o/r/issues"]
