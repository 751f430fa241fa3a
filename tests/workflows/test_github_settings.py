"""`make github-settings` against a stand-in of the GitHub REST API (GitHub is not reachable from
tests): the calls and bodies the settings need, the read-back in the shapes GitHub answers, what
each plan offers (GitHub Docs, "Using environments for deployment", "About protected branches"),
and errors that name the setting."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from textclf.release import github_settings
from textclf.release.github_settings import GITHUB_ACTIONS_APP_ID, Settings, SettingsError

REPO = "acme/text-classifier"
ROOT = Path(__file__).resolve().parents[2]


class FakeGitHub:
    """Keeps what was PUT/POSTed and answers GETs from it as the API does; refuses what the
    repository's plan does not offer, as GitHub does (HTTP 403 "Upgrade to GitHub Pro ...")."""

    def __init__(
        self,
        users: dict[str, int] | None = None,
        drop: str | None = None,
        visibility: str = "public",
        plan: str | None = "free",
        owner_type: str = "Organization",
        codeowners: bool = True,
        secrets: tuple[str, ...] | None = None,
    ) -> None:
        # The secrets' paths (actions/secrets/NAME, environments/ENV/secrets/NAME) that exist; by
        # default the bot token in each of its environments, as docs/workflows.md asks.
        self.secrets = {f"repos/{REPO}/{path}" for path in (BOT_SECRETS if secrets is None else secrets)}
        self.users = users or {"alice": 11, "bob": 22}
        self.calls: list[tuple[str, str, Any]] = []
        self.state: dict[str, Any] = {}
        # Per environment; production starts with a stale policy to be removed.
        self.policies: dict[str, list[dict[str, Any]]] = {"production": [{"id": 7, "name": "feature/*"}]}
        self.drop = drop  # a setting GitHub silently ignores (to prove the read-back catches it)
        self.visibility, self.plan, self.owner_type, self.codeowners = (
            visibility,
            plan,
            owner_type,
            codeowners,
        )

    @property
    def private(self) -> bool:
        return self.visibility != "public"

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path, body))
        owner = REPO.split("/")[0]
        if path == f"repos/{REPO}":
            return {
                "visibility": self.visibility,
                "private": self.private,
                "owner": {"login": owner, "type": self.owner_type},
            }
        if path == f"orgs/{owner}":
            return {"login": owner} | ({"plan": {"name": self.plan}} if self.plan else {})
        if path == "user":
            return {"login": owner} | ({"plan": {"name": self.plan}} if self.plan else {})
        if path.startswith("users/"):
            login = path.split("/", 1)[1]
            if login not in self.users:
                raise SettingsError(f"gh api GET {path}: HTTP 404: Not Found")
            return {"login": login, "id": self.users[login]}
        if "/codeowners/errors" in path:
            if not self.codeowners:
                raise SettingsError(f"gh api GET {path}: Not Found (HTTP 404)")
            return {"errors": []}
        if "/secrets/" in path:  # GitHub answers a secret's name (never its value), or 404
            if path not in self.secrets:
                raise SettingsError(f"gh api {method} {path}: Not Found (HTTP 404)")
            return {"name": path.rsplit("/", 1)[1]}
        paid = self.plan in ("pro", "team", "enterprise")
        if self.private and "/protection" in path and not paid:
            raise SettingsError(
                f"gh api {method} {path}: Upgrade to GitHub Pro or make this repository public (HTTP 403)"
            )
        if self.private and "/environments/" in path and not paid:
            raise SettingsError(f"gh api {method} {path}: Not Found (HTTP 404)")
        # Protection rules (required reviewers) in private repositories: Enterprise only.
        reviewers = method == "PUT" and bool((body or {}).get("reviewers"))
        if self.private and "/environments/" in path and reviewers and self.plan != "enterprise":
            raise SettingsError(f"gh api {method} {path}: Validation Failed (HTTP 422)")
        if "/fork-pr-workflows-private-repos" in path and not self.private:
            raise SettingsError(f"gh api {method} {path}: only for private repositories (HTTP 422)")
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
            rules = []
            if body.get("reviewers"):
                reviewers = [{"type": "User", "reviewer": {"id": r["id"]}} for r in body["reviewers"]]
                rules.append(
                    {
                        "type": "required_reviewers",
                        "prevent_self_review": body.get("prevent_self_review", False),
                        "reviewers": reviewers,
                    }
                )
            rules.append({"type": "branch_policy"})
            return {
                "protection_rules": rules,
                "deployment_branch_policy": body.get("deployment_branch_policy"),
            }
        if path.endswith("/protection") and body:
            return {
                "required_status_checks": {
                    "strict": body["required_status_checks"]["strict"],
                    "contexts": [c["context"] for c in body["required_status_checks"]["checks"]],
                    "checks": body["required_status_checks"]["checks"],
                },
                "required_pull_request_reviews": body["required_pull_request_reviews"],
                "enforce_admins": {"enabled": body["enforce_admins"]},
                "allow_force_pushes": {"enabled": body["allow_force_pushes"]},
            }
        return body


def settings(reviewers: list[str] | None = None, **kwargs: Any) -> Settings:
    return Settings(REPO, ["alice", "bob"] if reviewers is None else reviewers, **kwargs)


BOT_SECRETS = tuple(
    f"environments/{env}/secrets/RETRAIN_TOKEN" for env in ("retrain", "staging", "production")
)


def test_every_setting_is_applied_and_read_back():
    github = FakeGitHub()  # public: every setting is offered on every plan
    notes: list[str] = []
    done = github_settings.apply(settings(), github, notes.append)

    assert len(done) == 10 and notes == []
    assert (
        done[-1]
        == "secret RETRAIN_TOKEN: in environments retrain, staging, production only, no repository secret"
    )
    # retrain.yml's pull request job: the bot token's environment, main only, no reviewers.
    assert "reviewers" not in github.state[f"repos/{REPO}/environments/retrain"]
    assert github.policies["retrain"] == [{"id": 8, "name": "main"}]
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
    assert "reviewers" not in staging
    assert github.policies["staging"] == [{"id": 8, "name": "main"}]
    # batch.yml's own environment (the batch role trusts its subject only): main only, no reviewers.
    assert "reviewers" not in state[f"repos/{REPO}/environments/batch"]
    assert github.policies["batch"] == [{"id": 8, "name": "main"}]
    assert state[f"repos/{REPO}/actions/permissions/workflow"] == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }
    protection = state[f"repos/{REPO}/branches/main/protection"]
    reviews = protection["required_pull_request_reviews"]
    assert reviews["required_approving_review_count"] == 1
    assert reviews["require_last_push_approval"] is True and reviews["require_code_owner_reviews"] is True
    assert reviews["dismiss_stale_reviews"] is True
    assert protection["required_status_checks"]["checks"] == [
        {"context": name, "app_id": GITHUB_ACTIONS_APP_ID} for name in github_settings.REQUIRED_CHECKS
    ]
    assert protection["required_status_checks"]["strict"] is True  # a head behind main does not merge
    assert "contexts" not in protection["required_status_checks"]  # a name alone: any commit status
    assert protection["enforce_admins"] is True and protection["allow_force_pushes"] is False
    # Public: forks get a read-only token by GitHub's rule; the private-repository setting is not sent.
    assert not any("fork-pr-workflows" in path for _, path, _ in github.calls)


def test_a_private_repository_on_team_gets_branch_protection_and_code_owners_not_environment_reviewers():
    """Issue 24's check: Team offers branch protection (code owners included) and environments
    with branch policies for private repositories, not required reviewers (Enterprise)."""
    github = FakeGitHub(visibility="private", plan="team")
    notes: list[str] = []
    done = github_settings.apply(settings(), github, notes.append)

    protection = github.state[f"repos/{REPO}/branches/main/protection"]
    assert protection["required_pull_request_reviews"]["require_code_owner_reviews"] is True
    assert "reviewers" not in github.state[f"repos/{REPO}/environments/production"]
    assert github.policies["production"] == [{"id": 8, "name": "main"}]
    assert github.state[f"repos/{REPO}/actions/permissions/fork-pr-workflows-private-repos"] == {
        "run_workflows_from_fork_pull_requests": True,
        "send_write_tokens_to_workflows": False,
        "send_secrets_and_variables": False,
        "require_approval_for_fork_pr_workflows": True,
    }
    assert any(line.startswith("branch main:") for line in done)
    (note,) = notes
    assert note.startswith("not offered by the plan: required reviewers of environment production")
    assert "private repository on team" in note and "deploy/production.yaml" in note
    # No reviewer is needed where the plan has none; on Enterprise they are required and set.
    github_settings.apply(settings(reviewers=[]), FakeGitHub(visibility="private", plan="team"), notes.append)
    enterprise = FakeGitHub(visibility="private", plan="enterprise")
    github_settings.apply(settings(), enterprise, notes.append)
    assert [r["id"] for r in enterprise.state[f"repos/{REPO}/environments/production"]["reviewers"]] == [
        11,
        22,
    ]
    with pytest.raises(SettingsError, match="at least one reviewer"):
        github_settings.apply(settings(reviewers=[]), FakeGitHub(visibility="private", plan="enterprise"))


@pytest.mark.parametrize(
    "plan, visibility", [("enterprise", "private"), ("team", "private"), ("free", "public")]
)
def test_production_infra_is_created_main_only_and_never_with_reviewers(plan: str, visibility: str):
    """release.yml's production-infra job (production's apply and images on every push) has an
    environment of its own: where production gets reviewers, production-infra gets none, so no push
    waits for an approval before its images are pushed. It is said in what was set."""
    github = FakeGitHub(visibility=visibility, plan=plan)
    done = github_settings.apply(settings(), github, lambda line: None)
    infra = github.state[f"repos/{REPO}/environments/production-infra"]
    assert "reviewers" not in infra and "wait_timer" not in infra
    assert infra["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    assert github.policies["production-infra"] == [{"id": 8, "name": "main"}]
    (line,) = [line for line in done if line.startswith("environment production-infra:")]
    assert line.startswith("environment production-infra: branch main only, no reviewers")
    assert "never waiting for production's approval" in line
    if plan == "enterprise" or visibility == "public":  # production itself keeps its reviewers
        production = github.state[f"repos/{REPO}/environments/production"]
        assert [r["id"] for r in production["reviewers"]] == [11, 22]


def test_production_infra_with_reviewers_someone_added_is_refused_naming_where_to_remove_them():
    class Held(FakeGitHub):
        def _read(self, path: str) -> Any:
            read = super()._read(path)
            if path.endswith("/environments/production-infra"):
                read["protection_rules"].insert(0, {"type": "required_reviewers", "reviewers": []})
            return read

    with pytest.raises(SettingsError) as refused:
        github_settings.apply(settings(), Held(visibility="private", plan="enterprise"))
    message = str(refused.value)
    assert message.startswith("environment production-infra has protection rules (required_reviewers)")
    assert "not in ECR" in message and "Settings > Environments > production-infra" in message

    # A wait timer of 0 minutes holds nothing.
    class NoWait(FakeGitHub):
        def _read(self, path: str) -> Any:
            read = super()._read(path)
            if path.endswith("/environments/production-infra"):
                read["protection_rules"].append({"type": "wait_timer", "wait_timer": 0})
            return read

    github_settings.apply(settings(), NoWait(), lambda line: None)


def test_production_infra_must_differ_from_the_other_environments():
    with pytest.raises(SettingsError, match="must differ"):
        github_settings.apply(settings(infra_environment="Production"), FakeGitHub())


def test_a_private_repository_on_free_cannot_be_protected_and_says_why():
    with pytest.raises(
        SettingsError, match="branch protection is not offered for a private repository on free"
    ):
        github_settings.apply(settings(), FakeGitHub(visibility="private", plan="free"))


def test_a_plan_the_token_cannot_read_is_tried_and_reviewers_left_out():
    """A repository administrator who is not an organisation owner does not see the plan: branch
    protection is attempted (GitHub refuses it if not offered), environment reviewers are not."""
    notes: list[str] = []
    team = _HiddenPlan(visibility="private", plan="team")  # what the organisation really has
    github_settings.apply(settings(), team, notes.append)
    assert f"repos/{REPO}/branches/main/protection" in team.state
    assert "reviewers" not in team.state[f"repos/{REPO}/environments/production"]
    assert "the token cannot read the plan" in notes[0]
    free = _HiddenPlan(visibility="private", plan="free")
    with pytest.raises(SettingsError, match="Upgrade to GitHub Pro"):
        github_settings.apply(settings(), free)


class _HiddenPlan(FakeGitHub):
    """The organisation's plan is not shown to this token (GET /orgs/{org} has no `plan`)."""

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if path == f"orgs/{REPO.split('/')[0]}":
            return {"login": REPO.split("/")[0]}
        return super().__call__(method, path, body)


@pytest.mark.parametrize(
    "drop, setting",
    [
        ("/actions/oidc/customization/sub", "OIDC subject"),
        ("/branches/main/protection", "protection of main"),
        ("/actions/permissions/workflow", "workflow permissions"),
        ("/fork-pr-workflows-private-repos", "fork pull request workflows"),
        ("/environments/production", "environment production"),
    ],
)
def test_a_setting_that_does_not_stick_is_an_error_naming_it(drop: str, setting: str):
    github = FakeGitHub(drop=drop, visibility="private", plan="enterprise")
    with pytest.raises(SettingsError, match=f"{setting} reads back differently"):
        github_settings.apply(settings(), github)


def test_loose_checks_read_back_are_an_error():
    """Strict checks ("Require branches to be up to date before merging") are read back: a
    protection that keeps them loose (an older rule GitHub merged the PUT with, or an edit in the
    UI) would let a head behind main merge untested with main's changes."""

    class Loose(FakeGitHub):
        def _read(self, path: str) -> Any:
            read = super()._read(path)
            if path.endswith("/protection"):
                read["required_status_checks"]["strict"] = False
            return read

    with pytest.raises(SettingsError, match="protection of main reads back differently"):
        github_settings.apply(settings(), Loose())


def test_actions_never_approve_pull_requests():
    """OpenSSF Scorecard: a workflow's token must not approve pull requests; the retraining and
    promotion pull requests use RETRAIN_TOKEN. The old option fails with the reason, before any call."""
    github = FakeGitHub()
    with pytest.raises(SettingsError, match="RETRAIN_TOKEN"):
        github_settings.apply(settings(allow_actions_prs=True), github)
    assert github.calls == []


def test_bad_input_names_what_to_fix():
    with pytest.raises(SettingsError, match="at least one reviewer"):
        github_settings.apply(settings(reviewers=[]), FakeGitHub())
    with pytest.raises(SettingsError, match="must be OWNER/NAME"):
        github_settings.apply(Settings("acme", ["alice"]), FakeGitHub())
    with pytest.raises(SettingsError, match="404"):
        github_settings.apply(settings(reviewers=["mallory"]), FakeGitHub())
    with pytest.raises(SettingsError, match="no CODEOWNERS file on main"):
        github_settings.apply(settings(), FakeGitHub(codeowners=False))


def test_codeowners_covers_what_runs_with_the_release_roles():
    """.github/CODEOWNERS names an owner for each path issue 25 lists; code-owner review is
    required by the branch protection above."""
    lines = [line.split() for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()]
    rules = {parts[0]: parts[1:] for parts in lines if parts and not parts[0].startswith("#")}
    for path in (
        "/.github/",
        "/Makefile",
        "/mk/",
        "/terraform/",
        "/deploy/",
        "/src/textclf/release/",
        "/src/textclf/training/",
    ):
        assert rules.get(path), f"CODEOWNERS has no owner for {path}"
        assert all(owner.startswith("@") for owner in rules[path]), rules[path]


def test_gh_api_sends_the_body_on_stdin_and_reports_failures():
    seen = {}

    def run(command, **kwargs):
        seen["command"], seen["input"] = command, kwargs.get("input")
        return subprocess.CompletedProcess(command, 1, "", "HTTP 403: Resource not accessible by integration")

    with pytest.raises(SettingsError, match=r"gh api PUT repos/a/b/x: HTTP 403"):
        github_settings.gh_api(run)("PUT", "repos/a/b/x", {"k": 1})
    assert seen["command"] == ["gh", "api", "--method", "PUT", "repos/a/b/x", "--input", "-"]
    assert json.loads(seen["input"]) == {"k": 1}


# --- the bot token: an environment secret, never a repository secret ------------------------------


def test_a_repository_secret_retrain_token_is_refused_before_anything_is_set():
    """A repository secret reaches every workflow a writer's branch runs (pull requests' too), so
    any writer could read the bot token and approve their own pull request with it."""
    github = FakeGitHub(secrets=("actions/secrets/RETRAIN_TOKEN", *BOT_SECRETS))
    with pytest.raises(SettingsError, match="repository secret RETRAIN_TOKEN") as refused:
        github_settings.apply(settings(), github, lambda line: None)
    assert "gh secret set RETRAIN_TOKEN --env <name>" in str(refused.value)
    assert "gh secret delete RETRAIN_TOKEN" in str(refused.value)
    assert not [call for call in github.calls if call[0] != "GET"]  # nothing changed


def test_a_missing_environment_secret_is_a_step_to_do_naming_the_environments():
    github = FakeGitHub(secrets=BOT_SECRETS[2:])  # production's only
    notes: list[str] = []
    done = github_settings.apply(settings(), github, notes.append)
    assert not any(line.startswith("secret RETRAIN_TOKEN") for line in done)
    [todo] = [line for line in notes if line.startswith("to do:")]
    assert "environment(s) retrain, staging " in todo and "not as a repository secret" in todo
