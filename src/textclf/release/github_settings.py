"""`make github-settings`: the repository settings the template's security relies on, applied and
read back through the GitHub API (`gh api`; the token needs the repository's administration rights).

1. The OIDC subject includes the ref (`include_claim_keys: repo, context, ref`): a token's subject is
   `repo:OWNER/REPO:environment:production:ref:refs/heads/main`, so a job bound to `production` on
   any other branch gets a subject no release trust policy accepts (terraform/iam.tf).
   REST: PUT /repos/{repo}/actions/oidc/customization/sub.
2. The `production` environment: deployments from the release branch only, required reviewers,
   no self-review; the `staging` environment: deployments from the release branch only, no
   reviewers (the release deploys it at once, then waits for production's reviewers).
   REST: PUT /repos/{repo}/environments/{name} and
   POST /repos/{repo}/environments/{name}/deployment-branch-policies.
3. Workflows' GITHUB_TOKEN is read-only by default; with `--allow-actions-prs` Actions may open pull
   requests (the retrain workflow's PR; off by default in GitHub: "Allow GitHub Actions to create
   and approve pull requests"; a GitHub App token is the alternative, docs/workflows.md).
   REST: PUT /repos/{repo}/actions/permissions/workflow.
4. The release branch is protected: pull requests with an approving review and the PR checks
   green. REST: PUT /repos/{repo}/branches/{branch}/protection.

Every setting is read back and compared; a difference is an error naming the setting.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLAIM_KEYS = ["repo", "context", "ref"]
# The PR workflow's checks that must pass before a merge (the jobs' names in .github/workflows/pr.yml).
REQUIRED_CHECKS = ["lint and fast tests", "slow tests", "train, report and gate"]


class SettingsError(RuntimeError):
    """A setting could not be applied or reads back differently; the message names it."""


@dataclass
class Settings:
    repository: str  # owner/name
    reviewers: list[str]  # GitHub user logins who approve production deployments
    environment: str = "production"
    branch: str = "main"
    staging_environment: str = "staging"
    allow_actions_prs: bool = False
    required_checks: list[str] = field(default_factory=lambda: list(REQUIRED_CHECKS))


Gh = Callable[..., Any]


def gh_api(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Gh:
    """`gh api` as a function: (method, path, body or None) -> parsed JSON."""

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        command = ["gh", "api", "--method", method, path]
        if body is not None:
            command += ["--input", "-"]
        try:
            done = run(
                command,
                input=json.dumps(body) if body is not None else None,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except FileNotFoundError:
            raise SettingsError(
                "the GitHub CLI (gh) is not installed; install it and `gh auth login`"
            ) from None
        if done.returncode != 0:
            raise SettingsError(f"gh api {method} {path}: {done.stderr.strip() or 'failed'}")
        return json.loads(done.stdout) if done.stdout.strip() else {}

    return call


def apply(settings: Settings, gh: Gh) -> list[str]:
    """Apply every setting, then read each back; returns what was set, one line each."""
    if "/" not in settings.repository:
        raise SettingsError(f"repository {settings.repository!r} must be OWNER/NAME")
    if not settings.reviewers:
        raise SettingsError("name at least one reviewer (--reviewers) for the production environment")
    repo = f"repos/{settings.repository}"
    done = []

    gh(
        "PUT",
        f"{repo}/actions/oidc/customization/sub",
        {"use_default": False, "include_claim_keys": CLAIM_KEYS},
    )
    sub = gh("GET", f"{repo}/actions/oidc/customization/sub")
    _expect(sub.get("include_claim_keys") == CLAIM_KEYS and not sub.get("use_default"), "OIDC subject", sub)
    done.append(f"OIDC subject: {', '.join(CLAIM_KEYS)}")

    ids = [_user_id(gh, login) for login in settings.reviewers]
    _set_environment(gh, repo, settings.environment, settings.branch, ids)
    done.append(
        f"environment {settings.environment}: branch {settings.branch} only, reviewers {settings.reviewers}"
    )
    _set_environment(gh, repo, settings.staging_environment, settings.branch, [])
    done.append(f"environment {settings.staging_environment}: branch {settings.branch} only, no reviewers")

    gh(
        "PUT",
        f"{repo}/actions/permissions/workflow",
        {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": settings.allow_actions_prs,
        },
    )
    permissions = gh("GET", f"{repo}/actions/permissions/workflow")
    _expect(
        permissions.get("default_workflow_permissions") == "read"
        and permissions.get("can_approve_pull_request_reviews") == settings.allow_actions_prs,
        "workflow permissions",
        permissions,
    )
    done.append(f"workflow token read-only; Actions may open PRs: {settings.allow_actions_prs}")

    protection = f"{repo}/branches/{settings.branch}/protection"
    gh(
        "PUT",
        protection,
        {
            "required_status_checks": {"strict": True, "contexts": settings.required_checks},
            "enforce_admins": True,
            "required_pull_request_reviews": {
                "required_approving_review_count": 1,
                "dismiss_stale_reviews": True,
            },
            "restrictions": None,
        },
    )
    read = gh("GET", protection)
    contexts = (read.get("required_status_checks") or {}).get("contexts") or []
    reviews = (read.get("required_pull_request_reviews") or {}).get("required_approving_review_count", 0)
    _expect(
        set(settings.required_checks) <= set(contexts) and reviews >= 1,
        f"protection of {settings.branch}",
        read,
    )
    done.append(f"branch {settings.branch}: PRs with 1 approval and checks {settings.required_checks}")
    return done


def _user_id(gh: Gh, login: str) -> int:
    user = gh("GET", f"users/{login}")
    if not isinstance(user.get("id"), int):
        raise SettingsError(f"reviewer {login!r}: no such GitHub user")
    return user["id"]


def _set_environment(gh: Gh, repo: str, name: str, branch: str, ids: list[int]) -> None:
    """Environment `name`: deployments from `branch` only, the reviewers `ids` (none: no review)."""
    environment = f"{repo}/environments/{name}"
    gh(
        "PUT",
        environment,
        {
            "reviewers": [{"type": "User", "id": user_id} for user_id in ids],
            "prevent_self_review": bool(ids),
            "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
        },
    )
    policies = gh("GET", f"{environment}/deployment-branch-policies").get("branch_policies", [])
    for policy in policies:  # only the release branch may deploy
        if policy.get("name") != branch:
            gh("DELETE", f"{environment}/deployment-branch-policies/{policy['id']}")
    if not any(p.get("name") == branch for p in policies):
        gh("POST", f"{environment}/deployment-branch-policies", {"name": branch, "type": "branch"})
    _check_environment(gh, environment, name, branch, ids)


def _check_environment(gh: Gh, environment: str, name: str, branch: str, ids: list[int]) -> None:
    read = gh("GET", environment)
    rules = {rule.get("type"): rule for rule in read.get("protection_rules", [])}
    reviewers = {
        r.get("reviewer", {}).get("id") for r in rules.get("required_reviewers", {}).get("reviewers", [])
    }
    policy = read.get("deployment_branch_policy") or {}
    branches = [
        p.get("name")
        for p in gh("GET", f"{environment}/deployment-branch-policies").get("branch_policies", [])
    ]
    _expect(
        set(ids) <= reviewers and policy.get("custom_branch_policies") and branches == [branch],
        f"environment {name}",
        {"reviewers": sorted(reviewers), "deployment_branch_policy": policy, "branches": branches},
    )


def _expect(ok: Any, what: str, found: Any) -> None:
    if not ok:
        raise SettingsError(f"{what} reads back differently from what was set: {json.dumps(found)[:500]}")
