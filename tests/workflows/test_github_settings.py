"""`make github-settings` against a stand-in of the GitHub REST API (GitHub is not reachable from
tests): the calls and bodies the settings need, the read-back, and errors that name the setting."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from textclf.release import github_settings
from textclf.release.github_settings import Settings, SettingsError

REPO = "acme/text-classifier"


class FakeGitHub:
    """Keeps what was PUT/POSTed and answers GETs from it, as the API does."""

    def __init__(self, users: dict[str, int] | None = None, drop: str | None = None) -> None:
        self.users = users or {"alice": 11, "bob": 22}
        self.calls: list[tuple[str, str, Any]] = []
        self.state: dict[str, Any] = {}
        # Per environment; production starts with a stale policy to be removed.
        self.policies: dict[str, list[dict[str, Any]]] = {"production": [{"id": 7, "name": "feature/*"}]}
        self.drop = drop  # a setting GitHub silently ignores (to prove the read-back catches it)

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path, body))
        if path.startswith("users/"):
            login = path.split("/", 1)[1]
            if login not in self.users:
                raise SettingsError(f"gh api GET {path}: HTTP 404: Not Found")
            return {"login": login, "id": self.users[login]}
        if "/deployment-branch-policies" in path:
            policies = self.policies.setdefault(path.split("/environments/")[1].split("/")[0], [])
            if method == "GET":
                return {"branch_policies": list(policies)}
            if method == "DELETE":
                policies[:] = [p for p in policies if str(p["id"]) != path.rsplit("/", 1)[1]]
            if method == "POST":
                policies.append({"id": 8, "name": body["name"]})
            return {}
        if method == "PUT":
            if self.drop and path.endswith(self.drop):
                return {}
            self.state[path] = body
            return {}
        return self._read(path)

    def _read(self, path: str) -> Any:
        body = self.state.get(path, {})
        if "/environments/" in path:
            reviewers = [{"type": "User", "reviewer": {"id": r["id"]}} for r in body.get("reviewers", [])]
            return {
                "protection_rules": [{"type": "required_reviewers", "reviewers": reviewers}],
                "deployment_branch_policy": body.get("deployment_branch_policy"),
            }
        if path.endswith("/protection") and body:
            reviews = body["required_pull_request_reviews"]
            return {
                "required_status_checks": body["required_status_checks"],
                "required_pull_request_reviews": reviews,
            }
        return body


def test_every_setting_is_applied_and_read_back():
    github = FakeGitHub()
    done = github_settings.apply(Settings(REPO, ["alice", "bob"]), github)

    assert len(done) == 5
    state = github.state
    assert state[f"repos/{REPO}/actions/oidc/customization/sub"] == {
        "use_default": False,
        "include_claim_keys": ["repo", "context", "ref"],
    }
    environment = state[f"repos/{REPO}/environments/production"]
    assert [r["id"] for r in environment["reviewers"]] == [11, 22] and environment["prevent_self_review"]
    assert github.policies["production"] == [{"id": 8, "name": "main"}]  # the stale feature/* is gone
    # Staging: deployed from main only, at once (no reviewers); production then waits for review.
    staging = state[f"repos/{REPO}/environments/staging"]
    assert staging["reviewers"] == [] and not staging["prevent_self_review"]
    assert github.policies["staging"] == [{"id": 8, "name": "main"}]
    assert state[f"repos/{REPO}/actions/permissions/workflow"] == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }
    protection = state[f"repos/{REPO}/branches/main/protection"]
    assert protection["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert protection["enforce_admins"] is True


def test_a_setting_that_does_not_stick_is_an_error_naming_it():
    github = FakeGitHub(drop="/actions/oidc/customization/sub")
    with pytest.raises(SettingsError, match="OIDC subject reads back differently"):
        github_settings.apply(Settings(REPO, ["alice"]), github)


def test_bad_input_names_what_to_fix():
    with pytest.raises(SettingsError, match="at least one reviewer"):
        github_settings.apply(Settings(REPO, []), FakeGitHub())
    with pytest.raises(SettingsError, match="must be OWNER/NAME"):
        github_settings.apply(Settings("acme", ["alice"]), FakeGitHub())
    with pytest.raises(SettingsError, match="404"):
        github_settings.apply(Settings(REPO, ["mallory"]), FakeGitHub())


def test_gh_api_sends_the_body_on_stdin_and_reports_failures():
    seen = {}

    def run(command, **kwargs):
        seen["command"], seen["input"] = command, kwargs.get("input")
        return subprocess.CompletedProcess(command, 1, "", "HTTP 403: Resource not accessible by integration")

    with pytest.raises(SettingsError, match=r"gh api PUT repos/a/b/x: HTTP 403"):
        github_settings.gh_api(run)("PUT", "repos/a/b/x", {"k": 1})
    assert seen["command"] == ["gh", "api", "--method", "PUT", "repos/a/b/x", "--input", "-"]
    assert json.loads(seen["input"]) == {"k": 1}
