"""The drift issue is found by two bounded searches, not by reading the first 1,000 open issues and
pull requests (issue 27, round 10, F-k remainder): with more open, an older drift issue was not seen
and every alarm opened another. GitHub's "List repository issues" filters by `creator` (the login
issue objects show: github-actions[bot]) and `labels`; the stand-in below answers as GitHub does
(newest first, 100 a page, both filters), which the shared fakes do not."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.monitoring.test_drift_issue import GOOD
from textclf.monitoring import issue


class ListingGitHub(issue.GitHub):
    """issue.GitHub against an in-memory repository that filters and pages as GitHub's REST API does."""

    def __init__(self, issues: list[dict[str, Any]], permissions: dict[str, str] | None = None) -> None:
        super().__init__("https://api.github.test", "acme/text-classifier", "t0ken")
        self.issues = issues
        self.permissions = permissions or {}  # login -> admin, write, read or none; others: 404
        self.paths: list[str] = []

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        self.paths.append(f"{method} {path}")
        url = urlsplit(path)
        if method == "GET" and url.path == "/issues":
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            listed = [
                i for i in sorted(self.issues, key=lambda i: -i["number"]) if i["state"] == query["state"]
            ]
            if "creator" in query:
                listed = [i for i in listed if i["user"]["login"] == query["creator"]]
            if "labels" in query:
                wanted = set(query["labels"].split(","))
                listed = [i for i in listed if wanted <= {label["name"] for label in i.get("labels", [])}]
            page, size = int(query.get("page", 1)), int(query.get("per_page", 30))
            return listed[(page - 1) * size : page * size]
        found = re.fullmatch(r"/collaborators/([^/]+)/permission", url.path)
        if method == "GET" and found:
            if found.group(1) not in self.permissions:
                raise issue.GitHubError(f"GitHub answered 404 to GET {path}")
            return {"permission": self.permissions[found.group(1)], "user": {"login": found.group(1)}}
        if method == "POST" and url.path == "/issues":
            number = max(i["number"] for i in self.issues) + 1
            self.issues.append({"number": number, "state": "open", "user": {"login": "github-actions[bot]"}})
            return {"number": number}
        if method == "POST" and url.path.endswith("/comments"):
            return {"id": 1}
        raise AssertionError(f"unexpected {method} {path}")


def drift_issue(number: int, login: str, association: str, labels: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "number": number,
        "state": "open",
        "title": "Model drift on textclf-prod",
        "body": issue.marker("textclf-prod"),
        "user": {"login": login},
        "author_association": association,
        "labels": [{"name": name} for name in labels],
    }


def crowd(first: int, count: int) -> list[dict[str, Any]]:
    """Newer open issues and pull requests by others (a busy public repository)."""
    return [
        {
            "number": number,
            "state": "open",
            "title": f"question {number}",
            "body": "how do I ...",
            "user": {"login": f"user{number}"},
            "author_association": "NONE",
            **({"pull_request": {}} if number % 3 == 0 else {}),
        }
        for number in range(first, first + count)
    ]


ALARM = issue.parse(json.dumps(GOOD))


def test_an_old_drift_issue_behind_1200_newer_issues_takes_the_alarm():
    github = ListingGitHub([drift_issue(1, "github-actions[bot]", "NONE"), *crowd(2, 1200)])

    assert issue.publish(github, ALARM) == ("commented", 1)
    assert github.paths[0] == "GET /issues?state=open&creator=github-actions%5Bbot%5D&per_page=100&page=1"
    assert len(github.paths) == 2  # one search page, one comment


WRITERS = {"maintainer": "write", "owner": "admin", "reader-in-org": "read", "triager": "read"}


@pytest.mark.parametrize(
    ("login", "association", "labels", "action"),
    [
        ("maintainer", "MEMBER", ("model-drift",), ("commented", 1)),  # a writer's issue, labelled
        ("owner", "OWNER", ("model-drift", "bug"), ("commented", 1)),
        ("maintainer", "MEMBER", (), ("opened", 1202)),  # unlabelled: not searched
        ("stranger", "NONE", ("model-drift",), ("opened", 1202)),  # a label never makes a stranger ours
        ("dependabot[bot]", "NONE", ("model-drift",), ("opened", 1202)),
        # Round 10, F-n: MEMBER is any member of the organization, COLLABORATOR any collaborator, read
        # and triage ones (who can label) included: GitHub is asked for the author's permission.
        ("reader-in-org", "MEMBER", ("model-drift",), ("opened", 1202)),
        ("triager", "COLLABORATOR", ("model-drift",), ("opened", 1202)),
        ("gone", "COLLABORATOR", ("model-drift",), ("opened", 1202)),  # 404: no longer a collaborator
    ],
)
def test_an_issue_opened_by_hand_is_found_by_its_label_if_a_writer_opened_it(
    login, association, labels, action
):
    github = ListingGitHub([drift_issue(1, login, association, labels), *crowd(2, 1200)], WRITERS)

    assert issue.publish(github, ALARM) == action
    searched = [path for path in github.paths if path.startswith("GET /issues")]
    assert searched == [
        "GET /issues?state=open&creator=github-actions%5Bbot%5D&per_page=100&page=1",
        "GET /issues?state=open&labels=model-drift&per_page=100&page=1",
    ]
    asked = [path for path in github.paths if "/permission" in path]
    assert asked == ([f"GET /collaborators/{login}/permission"] if labels and association != "NONE" else [])


def test_the_workflows_own_issue_needs_no_permission_lookup():
    github = ListingGitHub([drift_issue(1, "github-actions[bot]", "NONE")])
    assert issue.publish(github, ALARM) == ("commented", 1)
    assert not [path for path in github.paths if "/permission" in path]


def test_an_answer_that_ignores_the_filter_cannot_widen_the_search():
    """A server that ignores `creator` and `labels` (the shared fakes, an old GitHub Enterprise) lists
    everyone's issues: only those that meet the filter asked for count."""
    unlabelled = drift_issue(1, "maintainer", "MEMBER")

    class Unfiltered(ListingGitHub):
        def call(self, method, path, payload=None):
            if method == "GET":
                path = path.replace("creator=github-actions%5Bbot%5D&", "").replace("labels=model-drift&", "")
            return super().call(method, path, payload)

    assert issue.publish(Unfiltered([unlabelled]), ALARM) == ("opened", 2)


def test_the_search_filters_are_the_workflows_login_and_the_label():
    assert issue.SEARCHES == (("creator", "github-actions[bot]"), ("labels", "model-drift"))
    assert issue.meets({"labels": [{"name": "model-drift"}]}, "labels", "model-drift")
    assert not issue.meets({"labels": "model-drift"}, "labels", "model-drift")
    assert not issue.meets({"user": None}, "creator", "github-actions[bot]")
