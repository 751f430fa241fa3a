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


def compare_with(monkeypatch, issues: list[dict]) -> list[str]:
    """desired.compare against one page of open issues; the paths it wrote to."""
    monkeypatch.setattr(desired, "live_commit", lambda endpoint: COMMIT)
    calls: list[list[str]] = []

    def gh(args: list[str]) -> str:
        calls.append(args)
        return json.dumps(issues) if "issues?state=open" in args[-1] else "{}"

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
    ours = {"number": 9, "title": TITLE, "user": {"login": login}, "author_association": association}
    decoy = {"number": 7, "title": TITLE, "user": {"login": "stranger"}, "author_association": "NONE"}
    assert compare_with(monkeypatch, [decoy, ours]) == ["repos/o/r/issues/9/comments"]


def test_a_user_that_is_not_an_object_is_not_ours(workspace: Path, monkeypatch) -> None:  # noqa: F811
    odd = {"number": 7, "title": TITLE, "user": None, "author_association": "NONE"}
    assert compare_with(monkeypatch, [odd]) == ["repos/o/r/issues"]
