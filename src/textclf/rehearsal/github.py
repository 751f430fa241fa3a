"""A stand-in for GitHub on 127.0.0.1: the repository's REST API as the workflows and the
make targets use it (through `gh`, CML and urllib), backed by a bare git repository as the origin.

It keeps what a rehearsal asserts on: pull requests (with GitHub's `refs/pull/<n>/head` and
`refs/pull/<n>/merge` refs in the origin), issue and pull request comments, reviews, merges,
repository dispatches, repository and environment variables, branch protection, the check runs
GitHub Actions reports on a commit; and it plays the runner's OIDC token endpoint
(ACTIONS_ID_TOKEN_REQUEST_URL), signing each job's claims with the local cloud's issuer. Requests
without a token it issued are answered 401, as GitHub does.

A merge is refused (405) unless the base branch's protection is met: approvals, code owners, and
every required status check reported by the expected app on the head commit, passing; with `strict`
required checks ("Require branches to be up to date before merging") the head must also contain the
base branch's tip, else GitHub's "N of N required status checks are expected." (`unmet_protection`).
`PUT .../pulls/{n}/update-branch` merges the base into the head branch, as GitHub's "Update branch"
does: the new head has no checks and no approvals yet.

A workflow run's GITHUB_TOKEN carries, in each job, exactly what that job's `permissions` grant
(docs.github.com, "Controlling permissions for GITHUB_TOKEN"). act gives every job of a run the
same token (its `--secret GITHUB_TOKEN`; act has no per-job token), so the fake GitHub makes it the
calling job's: it finds the local process that opened the connection (Linux /proc: the socket's
inode, then the process holding it) and reads the job act set in its environment (GITHUB_JOB,
GITHUB_RUN_ID, which must be the token's run); the job's permissions come from the workflow file
at the commit the run executes. A call the job's token lacks the scope for is answered 403
"Resource not accessible by integration", as GitHub answers it (`required_scopes`).

A fine-grained personal access token (`fine_grained_token`: the RETRAIN_TOKEN secret, with the
permissions docs/workflows.md asks for) carries its repository permissions: a call beyond them is
answered 403 "Resource not accessible by personal access token". Changing files under
.github/workflows/ (a ref moved or created, a file written, a branch updated) also needs the
Workflows permission, which neither the template's token nor any GITHUB_TOKEN has (`workflow_changes`).

The REST paths and shapes follow docs.github.com/en/rest (pulls, issues, issue comments,
repository dispatches, commits/{sha}/pulls); fields nobody reads are left out.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from textclf.release.github_settings import GITHUB_ACTIONS_APP_ID

GIT_IDENTITY = ["-c", "user.name=GitHub", "-c", "user.email=noreply@github.com"]
# Set in the environment of the fake's own git writes; a push without it (a person's `git push`) to
# a protected branch is refused by the origin's pre-receive hook (`Repository.protect`).
FAKE_GITHUB_WRITE = "TEXTCLF_FAKE_GITHUB_WRITE"
# GitHub's refusal of a direct update of a protected branch (git's "GH006: Protected branch update
# failed for refs/heads/<branch>." and "Changes must be made through a pull request." when reviews
# are required, GitHub Docs "About protected branches": "collaborators cannot push to the branch",
# administrators included with `enforce_admins`). The REST status for the contents and refs APIs is
# assumed 409 (their documented conflict answer); the message is git's.
PROTECTED_REFUSAL = (
    "GH006: Protected branch update failed for refs/heads/{branch}. "
    "Changes must be made through a pull request."
)
PRE_RECEIVE = f"""#!/bin/sh
# The fake GitHub's branch protection for pushes (textclf.rehearsal.github.Repository.protect).
[ -n "${FAKE_GITHUB_WRITE}" ] && exit 0
while read -r old new ref; do
  branch="${{ref#refs/heads/}}"
  if grep -qxF -- "$branch" "$GIT_DIR/protected-branches" 2>/dev/null; then
    echo "remote: error: GH006: Protected branch update failed for $ref." >&2
    echo "remote: error: Changes must be made through a pull request." >&2
    exit 1
  fi
done
exit 0
"""


class GitHubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Job:
    """What the runner knows about a job: the facts its OIDC token carries."""

    repository: str
    event: str
    ref: str
    sha: str
    workflow_ref: str
    run_id: int
    run_attempt: int = 1
    environment: str | None = None
    actor: str = "octocat"


@dataclass
class Repository:
    full_name: str
    origin: Path
    private: bool = True
    plan: str = "team"
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    # What PUT .../branches/{branch}/protection set, per branch, in the request's shape.
    protection: dict[str, Any] = field(default_factory=dict)
    # Other settings PUT by `make github-settings` (OIDC subject, workflow permissions, forks),
    # environments' bodies and deployment branch policies, and the secrets' names.
    settings: dict[str, Any] = field(default_factory=dict)
    environment_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    # Environment secrets' names per environment (PUT .../environments/{name}/secrets/{secret}).
    environment_secrets: dict[str, set[str]] = field(default_factory=dict)
    # Accounts and the one team the template's CODEOWNERS names (after the owner is filled in).
    users: dict[str, int] = field(default_factory=dict)
    teams: dict[str, set[str]] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    # Check runs per commit, as GitHub Actions reports them: one per job, named by the job's name.
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_number: int = 1
    next_comment: int = 1

    # --- git ---------------------------------------------------------------------------------

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *GIT_IDENTITY, *args],
            cwd=cwd or self.origin,
            capture_output=True,
            text=True,
            # GitHub's own writes (merges, update-branch, the contents API) pass the origin's hook.
            env={**os.environ, FAKE_GITHUB_WRITE: "1"},
        )
        if done.returncode != 0:
            raise GitHubError(422, f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def protect(self, branch: str, body: dict[str, Any]) -> None:
        """PUT .../branches/{branch}/protection: kept, and the origin refuses pushes to the branch
        (its pre-receive hook), as GitHub refuses a collaborator's push to a protected branch."""
        self.protection[branch] = body
        hook = self.origin / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(PRE_RECEIVE, encoding="utf-8")
        hook.chmod(0o755)
        (self.origin / "protected-branches").write_text(
            "\n".join(sorted(self.protection)) + "\n", encoding="utf-8"
        )

    def refuse_protected(self, ref: str) -> None:
        """A write through the API to a protected branch (contents, refs): refused, as GitHub does."""
        branch = ref.removeprefix("refs/heads/")
        if ref.startswith("refs/heads/") and branch in self.protection:
            raise GitHubError(409, PROTECTED_REFUSAL.format(branch=branch))

    def head_of(self, branch: str) -> str:
        try:
            return self.git("rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}")
        except GitHubError:
            raise GitHubError(422, f"no branch {branch!r} in {self.full_name}") from None

    def _merge_commit(self, base: str, head_sha: str, message: str, ref: str) -> str:
        """A merge of head into base written to `ref`, as GitHub computes refs/pull/<n>/merge and
        merges a PR; returns the merge commit."""
        with tempfile.TemporaryDirectory(prefix="github-merge-") as work:
            self.git("clone", "--quiet", "--branch", base, str(self.origin), work)
            self.git("fetch", "--quiet", "origin", head_sha, cwd=Path(work))
            self.git("merge", "--quiet", "--no-ff", "-m", message, head_sha, cwd=Path(work))
            self.git("push", "--quiet", "--force", "origin", f"HEAD:{ref}", cwd=Path(work))
            return self.git("rev-parse", "HEAD", cwd=Path(work))

    # --- pull requests -----------------------------------------------------------------------

    def open_pull(self, head: str, base: str, title: str, body: str, user: str) -> dict[str, Any]:
        for pull in self.pulls.values():
            if pull["state"] == "open" and pull["head"]["ref"] == head and pull["base"]["ref"] == base:
                raise GitHubError(422, f"A pull request already exists for {self.owner}:{head}.")
        number = self._number()
        pull = {
            "number": number,
            "state": "open",
            "title": title,
            "body": body,
            "user": {"login": user},
            "html_url": f"https://github.com/{self.full_name}/pull/{number}",
            "url": f"https://github.com/{self.full_name}/pull/{number}",
            "head": {"ref": head, "sha": "", "repo": {"full_name": self.full_name}},
            "base": {"ref": base, "sha": "", "repo": {"full_name": self.full_name}},
            "merged": False,
            "merge_commit_sha": None,
            "reviews": [],
        }
        self.pulls[number] = pull
        # GitHub's issues API lists pull requests too, marked by a `pull_request` key.
        self.issues[number] = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "pull_request": {"url": pull["url"]},
        }
        self.sync_pull(number)
        return pull

    def sync_pull(self, number: int) -> dict[str, Any]:
        """After a push to the PR's branch: its head, base and merge refs, as GitHub updates them."""
        pull = self.pulls[number]
        head_sha = self.head_of(pull["head"]["ref"])
        base_sha = self.head_of(pull["base"]["ref"])
        self.git("update-ref", f"refs/pull/{number}/head", head_sha)
        merge = self._merge_commit(
            pull["base"]["ref"], head_sha, f"Merge {head_sha} into {base_sha}", f"refs/pull/{number}/merge"
        )
        pull["head"]["sha"], pull["base"]["sha"] = head_sha, base_sha
        pull["merge_ref_sha"] = merge
        return pull

    def merge_pull(self, number: int) -> str:
        """Merge the PR (a merge commit on the base branch); returns the merge commit."""
        pull = self.pulls[number]
        if pull["state"] != "open":
            raise GitHubError(405, f"pull request #{number} is not open")
        missing = self.unmet_protection(pull)
        if missing:
            raise GitHubError(405, f"pull request #{number} cannot be merged: {missing}")
        merge = self._merge_commit(
            pull["base"]["ref"],
            pull["head"]["sha"],
            f"Merge pull request #{number} from {self.owner}/{pull['head']['ref']}",
            f"refs/heads/{pull['base']['ref']}",
        )
        pull.update(state="closed", merged=True, merge_commit_sha=merge)
        self.issues[number]["state"] = "closed"
        return merge

    def unmet_protection(self, pull: dict[str, Any]) -> str:
        """What the base branch's protection (as `make github-settings` PUT it) still wants, as
        GitHub's "About protected branches" describes the rules: every required status check
        passing on the head commit (`unmet_checks`), approvals of the head commit (stale ones
        dismissed), none counting from the last pusher (the author: the rehearsal's pushes are the
        author's), and a code owner's approval for each changed file CODEOWNERS on the base branch
        assigns."""
        protection = self.protection.get(pull["base"]["ref"]) or {}
        behind = self.behind(pull, protection.get("required_status_checks"))
        if behind:
            return behind
        checks = self.unmet_checks(protection.get("required_status_checks"), pull["head"]["sha"])
        if checks:
            return checks
        rules = protection.get("required_pull_request_reviews")
        if not rules:
            return ""
        approvers = {
            r["user"]
            for r in pull["reviews"]
            if r["state"] == "APPROVED"
            and (r["commit_id"] == pull["head"]["sha"] or not rules.get("dismiss_stale_reviews"))
            and not (rules.get("require_last_push_approval") and r["user"] == pull["user"]["login"])
        }
        wanted = rules.get("required_approving_review_count", 0)
        if len(approvers) < wanted:
            return (
                f"{wanted} approving review(s) of the head commit by someone other than its pusher, "
                f"{len(approvers)} given"
            )
        if rules.get("require_code_owner_reviews"):
            unowned = [
                name
                for name in self.changed_files(pull)
                if (owners := self.code_owners(pull["base"]["ref"], name))
                and not any(self.is_owner(login, owners) for login in approvers)
            ]
            if unowned:
                return f"a code owner's approval required for {', '.join(unowned[:5])}"
        return ""

    def behind(self, pull: dict[str, Any], required: dict[str, Any] | None) -> str:
        """Strict required status checks ("Require branches to be up to date before merging",
        `required_status_checks.strict`): the head must contain the base branch's tip (GitHub Docs,
        "About protected branches" / "Types of required status checks": "The branch must be up to
        date with the base branch before merging"; "Troubleshooting required status checks": "If
        your branch is out of date, you'll need to merge the base branch into your branch").

        GitHub's refusal: REST "Merge a pull request" documents 405 "if merge cannot be performed";
        for a head behind its base under a strict rule GitHub counts every required check as not yet
        reported, "N of N required status checks are expected." (HTTP 405 on PUT .../merge, quoted
        in RakuenSoftware/aimee#2460; the same text for a ruleset in Opendray/opendray#518 and
        b-open-io/prompts#69). The exact wording is not in GitHub's documentation. The 409 "Head
        branch is out of date. Review and try the merge again." that tools also report is another
        case: the pull request's recorded head lagging its branch (strands-labs/robots#2538 got it
        with `strict` off). The sentence after GitHub's says what to do."""
        if not (required or {}).get("strict"):
            return ""
        base, head = self.head_of(pull["base"]["ref"]), pull["head"]["sha"]
        if self.is_ancestor(base, head):
            return ""
        wanted = len((required or {}).get("checks") or []) + len((required or {}).get("contexts") or [])
        return (
            f"{wanted} of {wanted} required status checks are expected. (The head branch "
            f"{pull['head']['ref']} is behind {pull['base']['ref']} ({base[:12]}), whose protection requires "
            f"branches to be up to date: update the branch (PUT /repos/{self.full_name}/pulls/"
            f"{pull['number']}/update-branch, or merge {pull['base']['ref']} into it and push), then let the "
            "checks run on the new head and approve it.)"
        )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = subprocess.run(
            ["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=self.origin, capture_output=True
        )
        return done.returncode == 0

    def update_branch(self, number: int, expected_head_sha: str | None = None) -> str:
        """PUT /repos/{repo}/pulls/{n}/update-branch (REST "Update a pull request branch"): merges
        the base branch's tip into the head branch, as GitHub's "Update branch" button does; 422 if
        `expected_head_sha` is not the head (GitHub documents it) or if there is nothing to merge
        ("There are no new commits on the base branch.", GitHub's answer as tools quote it). The
        new head has no check runs and, with stale reviews dismissed, no approval: the checks run
        again and a reviewer approves again (GitHub changelog 2023-06-06, "Security enhancements
        to required approvals on pull requests": dismissing stale reviews "now dismisses approvals
        whenever a merge base changes after a review"). Returns the new head."""
        pull = self.pulls[number]
        if pull["state"] != "open":
            raise GitHubError(422, f"pull request #{number} is not open")
        head_ref, base_ref = pull["head"]["ref"], pull["base"]["ref"]
        head = self.head_of(head_ref)
        if expected_head_sha and expected_head_sha != head:
            raise GitHubError(422, f"expected head sha {expected_head_sha} does not match the head {head}")
        base = self.head_of(base_ref)
        if self.is_ancestor(base, head):
            raise GitHubError(422, "There are no new commits on the base branch.")
        with tempfile.TemporaryDirectory(prefix="github-update-branch-") as work:
            self.git("clone", "--quiet", "--branch", head_ref, str(self.origin), work)
            self.git("fetch", "--quiet", "origin", base, cwd=Path(work))
            try:
                self.git("merge", "--quiet", "--no-ff", "-m", f"Merge branch '{base_ref}' into {head_ref}",
                         base, cwd=Path(work))  # fmt: skip
            except GitHubError:
                raise GitHubError(422, f"merge conflict between {base_ref} and {head_ref}") from None
            self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{head_ref}", cwd=Path(work))
        return self.sync_pull(number)["head"]["sha"]

    def unmet_checks(self, required: dict[str, Any] | None, sha: str) -> str:
        """GitHub's answer (405) for required checks not passing on `sha`: 'Required status check
        "X" is expected.' when none was reported (by the pinned app: a check another source
        reported does not count), '... is failing.' when the latest one did not pass. A check run
        passes with conclusion success, neutral or skipped (a job skipped by its `if:` reports
        success: docs.github.com, "Troubleshooting required status checks"; REST "Update branch
        protection": checks[].app_id, -1 or absent for any source)."""
        wanted = [
            (check["context"], check.get("app_id")) for check in (required or {}).get("checks") or []
        ] + [(context, None) for context in (required or {}).get("contexts") or []]
        unmet = []
        for context, app_id in wanted:
            runs = [
                run
                for run in self.check_runs.get(sha, [])
                if run["name"] == context and app_id in (None, -1, run["app"]["id"])
            ]
            if not runs:
                unmet.append(f'Required status check "{context}" is expected.')
            elif runs[-1]["conclusion"] not in ("success", "neutral", "skipped"):
                unmet.append(f'Required status check "{context}" is failing.')
        return " ".join(unmet)

    def report_check(
        self, sha: str, name: str, conclusion: str, app_id: int = GITHUB_ACTIONS_APP_ID, summary: str = ""
    ) -> dict[str, Any]:
        """A completed check run on `sha`, as an app reports it (GitHub Actions: one per job, named
        by the job's `name`). The latest run of a name is the one branch protection reads."""
        if conclusion not in ("success", "failure", "neutral", "cancelled", "skipped", "timed_out"):
            raise GitHubError(422, f"conclusion {conclusion!r} is not a check run conclusion")
        runs = self.check_runs.setdefault(sha, [])
        run = {
            "id": sum(len(r) for r in self.check_runs.values()) + 1,
            "name": name,
            "head_sha": sha,
            "status": "completed",
            "conclusion": conclusion,
            "app": {"id": app_id, "slug": "github-actions" if app_id == GITHUB_ACTIONS_APP_ID else "other"},
            "output": {"summary": summary},
        }
        runs.append(run)
        return run

    def changed_files(self, pull: dict[str, Any]) -> list[str]:
        return self.git("diff", "--name-only", f"{pull['base']['sha']}...{pull['head']['sha']}").splitlines()

    def code_owners(self, branch: str, path: str) -> list[str]:
        """The owners of `path` by the base branch's .github/CODEOWNERS (the last matching rule)."""
        from textclf.release.github_settings import owners_of

        text = self.code_owners_file(f"refs/heads/{branch}") or ""
        rules = [
            (parts[0], parts[1:])
            for line in text.splitlines()
            if (parts := line.split("#", 1)[0].split()) and len(parts) > 1
        ]
        return owners_of(rules, path)

    def code_owners_file(self, ref: str) -> str | None:
        from textclf.release.github_settings import CODEOWNERS

        try:
            return self.git("show", f"{ref}:{CODEOWNERS}")
        except GitHubError:
            return None

    def is_owner(self, login: str, owners: list[str]) -> bool:
        return any(
            owner == f"@{login}" or login in self.teams.get(owner.removeprefix("@"), set())
            for owner in owners
        )

    def pulls_of_commit(self, sha: str) -> list[dict[str, Any]]:
        """GET /repos/{repo}/commits/{sha}/pulls: merged PRs whose merge commit it is, or PRs whose
        head it is."""
        return [p for p in self.pulls.values() if p.get("merge_commit_sha") == sha or p["head"]["sha"] == sha]

    # --- refs and contents (the git data and contents APIs) -----------------------------------

    def matching_refs(self, prefix: str) -> list[dict[str, Any]]:
        listed = self.git("for-each-ref", "--format=%(refname) %(objectname)", f"refs/heads/{prefix}")
        return [
            {"ref": ref, "object": {"sha": sha}}
            for ref, sha in (line.split() for line in listed.splitlines())
            if ref == f"refs/heads/{prefix}" or ref.startswith(f"refs/heads/{prefix}")
        ]

    def set_ref(self, ref: str, sha: str, create: bool) -> dict[str, Any]:
        self.refuse_protected(ref)
        exists = bool(self.git("for-each-ref", ref))
        if create and exists:
            raise GitHubError(422, "Reference already exists")
        if not create and not exists:
            raise GitHubError(422, "Reference does not exist")
        self.git("update-ref", ref, sha)
        for pull in self.pulls.values():  # a branch moved under an open PR updates it, as a push does
            if pull["state"] == "open" and ref == f"refs/heads/{pull['head']['ref']}":
                self.sync_pull(pull["number"])
        return {"ref": ref, "object": {"sha": sha}}

    def delete_ref(self, ref: str) -> None:
        """DELETE /repos/{repo}/git/refs/{ref}; an open pull request from a deleted branch is
        closed, as GitHub closes it."""
        self.refuse_protected(ref)
        if not self.git("for-each-ref", ref):
            raise GitHubError(422, "Reference does not exist")
        self.git("update-ref", "-d", ref)
        for pull in self.pulls.values():
            if pull["state"] == "open" and ref == f"refs/heads/{pull['head']['ref']}":
                pull["state"] = self.issues[pull["number"]]["state"] = "closed"

    def contents(self, path: str, ref: str) -> dict[str, Any]:
        try:
            blob = self.git("rev-parse", f"{ref}:{path}")
            text = self.git("cat-file", "blob", blob)
        except GitHubError:
            raise GitHubError(404, f"Not Found: {path} at {ref}") from None
        import base64

        return {"path": path, "sha": blob, "content": base64.b64encode((text + "\n").encode()).decode()}

    def put_contents(self, path: str, body: dict[str, Any], user: str) -> dict[str, Any]:
        """A commit on `branch` that sets `path` (PUT /repos/{repo}/contents/{path}); the current
        blob's sha is required to replace a file, as GitHub requires it."""
        import base64

        branch = body["branch"]
        self.refuse_protected(f"refs/heads/{branch}")
        try:
            current = self.git("rev-parse", f"refs/heads/{branch}:{path}")
        except GitHubError:
            current = None
        if current and body.get("sha") != current:
            raise GitHubError(409, f"{path} does not match {body.get('sha')}")
        with tempfile.TemporaryDirectory(prefix="github-contents-") as work:
            self.git("clone", "--quiet", "--branch", branch, str(self.origin), work)
            target = Path(work, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(body["content"]))
            # The contents API writes the path given, whatever the repository's .gitignore says.
            self.git("add", "--force", path, cwd=Path(work))
            self.git("-c", f"user.name={user}", "commit", "--quiet", "-m", body["message"], cwd=Path(work))
            self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=Path(work))
            sha = self.git("rev-parse", "HEAD", cwd=Path(work))
        for pull in self.pulls.values():  # a push to an open PR's branch updates it
            if pull["state"] == "open" and pull["head"]["ref"] == branch:
                self.sync_pull(pull["number"])
        return {"commit": {"sha": sha}, "content": {"path": path}}

    # --- issues and comments -----------------------------------------------------------------

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    def _number(self) -> int:
        number, self.next_number = self.next_number, self.next_number + 1
        return number

    def open_issue(
        self, title: str, body: str, labels: list[str] | None = None, user: str = "octocat"
    ) -> dict[str, Any]:
        number = self._number()
        issue = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            # Who opened it, as GitHub's issue objects say (the scheduled checks comment only on
            # the workflow's own issues or a collaborator's: textclf.monitoring.issue.opened_by_us).
            "user": {"login": user},
            "author_association": "OWNER" if user in self.admins else "NONE",
            "labels": [{"name": name} for name in labels or []],
            "html_url": f"https://github.com/{self.full_name}/issues/{number}",
        }
        self.issues[number] = issue
        return issue

    def comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        if number not in self.issues:
            raise GitHubError(404, f"no issue or pull request #{number}")
        comment_id, self.next_comment = self.next_comment, self.next_comment + 1
        comment = {"id": comment_id, "issue": number, "body": body, "user": {"login": user}}
        self.comments[comment_id] = comment
        return comment

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == number]


@dataclass
class WorkflowRun:
    """What a workflow run's GITHUB_TOKEN is bound to: the run and the workflow file it executes."""

    run_id: int
    workflow: str  # .github/workflows/<file>
    sha: str  # the commit whose workflow file runs


class FakeGitHub:
    """The API server. `tokens` maps each issued token to the login it acts as; `runs` the tokens
    issued to workflow runs (GITHUB_TOKEN) to their run."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.tokens: dict[str, str] = {}
        self.runs: dict[str, WorkflowRun] = {}
        # Fine-grained personal access tokens: their repository permissions.
        self.fine_grained: dict[str, dict[str, str]] = {}
        # Per "<workflow file> <job>": what its token was granted and which scopes its calls used.
        self.scopes: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self.requests: list[tuple[str, str]] = []
        self.oidc_token_url = ""  # the local cloud's issuer (textclf.localcloud.oidc.TOKEN_PATH)
        self.runner_secret = secrets.token_hex(16)
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # --- set-up --------------------------------------------------------------------------------

    def token_for(self, login: str) -> str:
        token = "ghs_" + secrets.token_hex(16)
        self.tokens[token] = login
        return token

    def fine_grained_token(self, login: str, permissions: dict[str, str]) -> str:
        """A fine-grained personal access token of `login`, limited to this repository with
        `permissions` (scope -> read/write, the names `required_scopes` uses; Metadata read is
        always granted). Calls beyond them are refused (`authorize`)."""
        token = "github_pat_" + secrets.token_hex(16)
        self.tokens[token] = login
        self.fine_grained[token] = {str(k): str(v) for k, v in permissions.items() if v in LEVELS}
        return token

    def workflow_token(self, run: WorkflowRun) -> str:
        """The GITHUB_TOKEN of a workflow run: github-actions[bot], scoped per job
        (`job_permissions`)."""
        token = self.token_for("github-actions[bot]")
        self.runs[token] = run
        return token

    def runner_token(self, job: Job) -> str:
        """The request token a runner gives a job with `id-token: write`."""
        token = "runner_" + secrets.token_hex(16)
        self.jobs[token] = job
        return token

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                    with fake.lock:
                        fake.requests.append((method, url.path))
                        runner = (
                            peer_environment(self.client_address[1], self.server.server_address[1])
                            if fake.bearer(self.headers) in fake.runs
                            else None
                        )
                        status, payload = fake.route(
                            method, url.path, parse_qs(url.query), body, self.headers, runner
                        )
                except GitHubError as error:
                    status, payload = error.status, {"message": str(error)}
                except (ValueError, KeyError, TypeError) as error:
                    status, payload = 400, {"message": f"bad request: {error}"}
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PATCH(self) -> None:
                self._answer("PATCH")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- routing -------------------------------------------------------------------------------

    @staticmethod
    def bearer(headers: Any) -> str:
        header = headers.get("Authorization") or ""
        return re.sub(r"^(token|bearer)\s+", "", header, flags=re.IGNORECASE).strip()

    def login(self, headers: Any) -> str:
        return check_token(self.tokens, headers)

    def job_permissions(self, run: WorkflowRun, runner: dict[str, str] | None) -> dict[str, str]:
        """The permissions of the calling job's GITHUB_TOKEN: the job act runs in the calling
        process (`runner`, its GITHUB_JOB and GITHUB_RUN_ID), read from the run's workflow file."""
        job = (runner or {}).get("GITHUB_JOB")
        if not job or (runner or {}).get("GITHUB_RUN_ID") != str(run.run_id):
            raise GitHubError(
                401,
                f"Bad credentials: run {run.run_id}'s GITHUB_TOKEN used outside that run's jobs "
                f"(the caller's GITHUB_JOB={job!r}, GITHUB_RUN_ID={(runner or {}).get('GITHUB_RUN_ID')!r})",
            )
        workflow = yaml.safe_load(self.repository.git("show", f"{run.sha}:{run.workflow}"))
        if job not in (workflow.get("jobs") or {}):
            raise GitHubError(401, f"Bad credentials: {run.workflow} at {run.sha[:12]} has no job {job!r}")
        default = (self.repository.settings.get("actions/permissions/workflow") or {}).get(
            "default_workflow_permissions", "read"
        )
        return token_permissions(workflow, job, default)

    def authorize(
        self, headers: Any, runner: dict[str, str] | None, method: str, parts: list[str], body: Any = None
    ) -> None:
        """A workflow token's or a fine-grained token's call needs one of the scopes the route needs
        (`required_scopes`), granted to the calling job or to the token; else 403, GitHub's answer
        to an installation token ("... by integration") or to a personal access token ("... by
        personal access token"). A call that changes files under .github/workflows/ also needs
        Workflows write (`workflow_changes`). A person's classic token keeps the person's rights."""
        token = self.bearer(headers)
        run = self.runs.get(token)
        if run is not None:
            granted = self.job_permissions(run, runner)
            job = runner and runner.get("GITHUB_JOB")
            key, refused = (
                f"{run.workflow.rsplit('/', 1)[-1]} {job}",
                "Resource not accessible by integration",
            )
            holder = f"job {job} of {run.workflow} grants {json.dumps(granted, sort_keys=True)}"
            pushing = "a GitHub App to create or update workflow {} without `workflows` permission"
        elif token in self.fine_grained:
            granted = self.fine_grained[token]
            key = f"fine-grained token of {self.tokens[token]}"
            refused = "Resource not accessible by personal access token"
            holder = (
                f"the fine-grained token of {self.tokens[token]} has {json.dumps(granted, sort_keys=True)}"
            )
            pushing = "a Personal Access Token to create or update workflow {} without `workflow` scope"
        else:
            return
        needed = required_scopes(method, parts)
        usable = [f"{s}: {lv}" for s, lv in needed if LEVELS[granted.get(s, "none")] >= LEVELS[lv]]
        record = self.scopes.setdefault(key, {"granted": granted, "used": []})
        if usable[:1] and usable[0] not in record["used"]:
            record["used"].append(usable[0])
        if needed and not usable:
            wanted = " or ".join(f"{scope}: {level}" for scope, level in needed)
            raise GitHubError(
                403,
                f"{refused} ({method} {'/'.join(parts) or 'repository'} needs {wanted}; {holder})",
            )
        changed = self.workflow_changes(method, parts, body)
        if not changed:
            return
        if granted.get("workflows") != "write":
            # The wording git pushes get (e.g. peter-evans/create-pull-request#3558,
            # refined-github/refined-github#7641 for "Update branch"); the REST status is assumed.
            raise GitHubError(
                403,
                f"refusing to allow {pushing.format('`' + changed[0] + '`')} ({method} "
                f"{'/'.join(parts)} changes {', '.join(changed[:3])}; {holder})",
            )
        if "workflows: write" not in record["used"]:
            record["used"].append("workflows: write")

    def workflow_changes(self, method: str, parts: list[str], body: Any) -> list[str]:
        """The files under .github/workflows/ a call creates or changes: a file written there
        (PUT contents), a ref moved from its tip to a commit whose workflow files differ (PATCH
        git/refs) or created at one whose workflow files differ from the default branch's (POST
        git/refs), a branch update that brings the base's workflow changes in (update-branch).
        GitHub lists Workflows as the additional permission of exactly these endpoints (GitHub
        Docs, "Permissions required for fine-grained personal access tokens": create or update
        file contents, create and update a reference); pushes that bring workflow changes in are
        refused without it (see `authorize`). Comparing a new ref with the default branch is this
        fake's reading; GitHub does not document which commits it compares."""
        repo = self.repository
        directory = ".github/workflows/"
        body = body if isinstance(body, dict) else {}
        try:
            match method, parts:
                case "PUT", ["contents", *path]:
                    name = "/".join(path)
                    return [name] if name.startswith(directory) else []
                case "PATCH", ["git", "refs", *ref]:
                    old, new = repo.git("rev-parse", "--verify", "refs/" + "/".join(ref)), str(body["sha"])
                    spec = [old, new]
                case "POST", ["git", "refs"]:
                    spec = [repo.head_of("main"), str(body["sha"])]
                case "PUT", ["pulls", number, "update-branch"]:
                    pull = repo.pulls[int(number)]
                    spec = [f"{repo.head_of(pull['head']['ref'])}...{repo.head_of(pull['base']['ref'])}"]
                case _:
                    return []
            return repo.git("diff", "--name-only", *spec, "--", directory).splitlines()
        except (GitHubError, KeyError, ValueError):
            return []  # the route answers for a ref, sha or pull request that is not there

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: Any,
        runner: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        if path == "/_runner/oidc-token":
            return 200, self.oidc_token(headers, query)
        if path == "/_runner/jobs":  # the runner (a stand-in action) registers the job it runs
            if (headers.get("Authorization") or "").split()[-1:] != [self.runner_secret]:
                raise GitHubError(401, "only the runner registers jobs")
            return 201, {"token": self.runner_token(Job(**body))}
        user = self.login(headers)
        repo = self.repository
        if path == "/user" and self.bearer(headers) in self.runs:
            raise GitHubError(403, "Resource not accessible by integration")  # no user behind it
        accounts = self.accounts(method, path, user)
        if accounts is not None:
            return 200, accounts
        prefix = f"/repos/{repo.full_name}"
        if not path.startswith(prefix):
            raise GitHubError(404, "Not Found")
        rest = path[len(prefix) :]
        one = lambda key: (query.get(key) or [""])[0]  # noqa: E731
        parts = rest.split("/")[1:] if rest else []
        self.authorize(headers, runner, method, parts, body)
        settings = (["actions", "oidc"], ["actions", "permissions"], ["actions", "variables"])
        if parts[:1] in (["branches"], ["environments"]) or parts[:2] in settings:
            return settings_route(repo, method, parts, body, user, one)
        match method, parts:
            case "GET", []:
                return 200, {
                    "full_name": repo.full_name,
                    "private": repo.private,
                    "visibility": "private" if repo.private else "public",
                    "default_branch": "main",
                    "owner": {"login": repo.owner, "type": "Organization"},
                    "permissions": {"admin": user in repo.admins, "push": True, "pull": True},
                }
            case "GET", ["codeowners", "errors"]:
                if not repo.code_owners_file(one("ref") or "main"):
                    raise GitHubError(404, "Not Found")
                return 200, {"errors": []}
            case "GET", ["actions", "secrets", name]:
                if name not in repo.secrets:
                    raise GitHubError(404, "Not Found")
                return 200, {"name": name}
            case "GET", ["commits", sha, "pulls"]:
                return 200, [public(p) for p in repo.pulls_of_commit(sha)]
            case "GET", ["commits", ref]:
                try:
                    sha = repo.git("rev-parse", "--verify", f"{ref}^{{commit}}")
                except GitHubError:
                    raise GitHubError(422, f"No commit found for SHA: {ref}") from None
                return 200, {"sha": sha}
            case "GET", ["commits", ref, "check-runs"]:
                listed = repo.check_runs.get(ref, [])
                return 200, {"total_count": len(listed), "check_runs": listed}
            case "GET", ["pulls"]:
                state, head = one("state") or "open", one("head")
                listed = [
                    public(p)
                    for p in repo.pulls.values()
                    if state in ("all", p["state"]) and (not head or head.split(":")[-1] == p["head"]["ref"])
                ]
                return 200, listed
            case "POST", ["pulls"]:
                pull = repo.open_pull(body["head"], body["base"], body["title"], body.get("body") or "", user)
                return 201, public(pull)
            case "GET", ["pulls", number]:
                return 200, public(self._pull(number))
            case "PUT", ["pulls", number, "merge"]:
                merge = repo.merge_pull(self._pull(number)["number"])
                return 200, {"sha": merge, "merged": True, "message": "Pull Request successfully merged"}
            case "PUT", ["pulls", number, "update-branch"]:
                pull = self._pull(number)
                repo.update_branch(pull["number"], body.get("expected_head_sha"))
                return 202, {"message": "Updating pull request branch.", "url": pull["url"]}
            case "PATCH", ["pulls", number]:
                pull = self._pull(number)
                for key in ("title", "body", "state"):
                    if key in body:
                        pull[key] = body[key]
                        repo.issues[pull["number"]][key] = body[key]
                return 200, public(pull)
            case "GET", ["issues"]:
                state = one("state") or "open"
                return 200, [i for i in repo.issues.values() if state in ("all", i["state"])]
            case "POST", ["issues"]:
                return 201, repo.open_issue(body["title"], body.get("body") or "", body.get("labels"), user)
            case "PATCH", ["issues", number]:
                issue = repo.issues[int(number)]
                issue.update({k: body[k] for k in ("title", "body", "state") if k in body})
                return 200, issue
            case "GET", ["issues", number, "comments"]:
                return 200, repo.comments_on(int(number))
            case "POST", ["issues", number, "comments"]:
                return 201, repo.comment(int(number), body["body"], user)
            case "PATCH", ["issues", "comments", comment_id]:
                comment = repo.comments[int(comment_id)]
                comment["body"] = body["body"]
                return 200, comment
            case "GET", ["git", "ref", "heads", *branch]:
                name = "/".join(branch)
                try:
                    sha = repo.head_of(name)
                except GitHubError:  # REST "Get a reference": 404 for a ref that is not there
                    raise GitHubError(404, "Not Found") from None
                return 200, {"ref": f"refs/heads/{name}", "object": {"sha": sha}}
            case "GET", ["git", "matching-refs", "heads", *prefix]:
                return 200, repo.matching_refs("/".join(prefix))
            case "POST", ["git", "refs"]:
                return 201, repo.set_ref(body["ref"], body["sha"], create=True)
            case "PATCH", ["git", "refs", "heads", *branch]:
                return 200, repo.set_ref("refs/heads/" + "/".join(branch), body["sha"], create=False)
            case "DELETE", ["git", "refs", "heads", *branch]:
                repo.delete_ref("refs/heads/" + "/".join(branch))
                return 204, None
            case "GET", ["contents", *path]:
                return 200, repo.contents("/".join(path), one("ref") or "main")
            case "PUT", ["contents", *path]:
                return 200, repo.put_contents("/".join(path), body, user)
            case "POST", ["dispatches"]:
                repo.dispatches.append(
                    {"event_type": body["event_type"], "payload": body.get("client_payload")}
                )
                return 204, None
        raise GitHubError(404, f"Not Found: {method} {path}")

    def accounts(self, method: str, path: str, user: str) -> dict[str, Any] | None:
        """GET /user, /users/{login} and /orgs/{org} (the plan `make github-settings` reads)."""
        repo = self.repository
        if method != "GET":
            return None
        if path == "/user":
            return {"login": user, "id": repo.users.get(user, 0)}
        if path.startswith("/users/"):
            login = path.removeprefix("/users/")
            if login not in repo.users:
                raise GitHubError(404, "Not Found")
            return {"login": login, "id": repo.users[login]}
        if path == f"/orgs/{repo.owner}":
            # An organisation's plan is shown to its owners only (REST, "Get an organization").
            return {"login": repo.owner} | ({"plan": {"name": repo.plan}} if user in repo.admins else {})
        return None

    def _pull(self, number: str) -> dict[str, Any]:
        pull = self.repository.pulls.get(int(number))
        if pull is None:
            raise GitHubError(404, f"no pull request #{number}")
        return pull

    def oidc_token(self, headers: Any, query: dict[str, list[str]]) -> dict[str, str]:
        """The runner's token endpoint: the job's claims, signed by the local cloud's issuer.
        Only a job the runner gave a request token (id-token: write) gets one."""
        bearer = re.sub(r"^bearer\s+", "", headers.get("Authorization") or "", flags=re.IGNORECASE)
        job = self.jobs.get(bearer.strip())
        if job is None:
            raise GitHubError(401, "the request token is not a job's (id-token: write)")
        audience = (query.get("audience") or ["sts.amazonaws.com"])[0]
        claims = job_claims(job, audience)
        request = urllib.request.Request(
            self.oidc_token_url,
            data=json.dumps(claims).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return {"value": json.loads(answer.read())["value"]}


# The scopes a workflow's `permissions` may grant GITHUB_TOKEN (docs.github.com, "Controlling
# permissions for GITHUB_TOKEN"); write includes read.
TOKEN_SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
)  # fmt: skip
LEVELS = {"none": 0, "read": 1, "write": 2}


def token_permissions(workflow: dict[str, Any], job: str, default: str = "read") -> dict[str, str]:
    """What GITHUB_TOKEN carries in `job` (docs.github.com, "Controlling permissions for
    GITHUB_TOKEN" and jobs.<job_id>.permissions): the job's own `permissions` when it has the key
    (replacing the workflow's), else the workflow's, else the repository's default (`read`: contents
    and packages read, the restricted default `make github-settings` sets; `write`: every scope but
    id-token). `read-all`/`write-all` grant every scope; `{}` grants none; a scope not listed is
    none. (Metadata read is always granted: routes that need only it need no scope here.)"""
    definition = (workflow.get("jobs") or {})[job] or {}
    if "permissions" in definition:
        granted = definition["permissions"]
    elif "permissions" in workflow:
        granted = workflow["permissions"]
    elif default == "write":
        return {scope: "write" for scope in TOKEN_SCOPES if scope != "id-token"}
    else:
        return {"contents": "read", "packages": "read"}
    if granted in ("read-all", "write-all"):
        level = granted.split("-")[0]
        return {scope: level for scope in TOKEN_SCOPES if not (scope == "id-token" and level == "read")}
    if not isinstance(granted, dict):
        raise GitHubError(
            422, f"job {job}: permissions {granted!r} is neither a mapping nor read-all/write-all"
        )
    return {str(scope): str(level) for scope, level in granted.items() if level in ("read", "write")}


def required_scopes(method: str, parts: list[str]) -> tuple[tuple[str, str], ...]:
    """The scopes a route needs, any one of the pairs; () for metadata only (always granted).

    From GitHub Docs, "Permissions required for fine-grained personal access tokens" (the page is
    generated from github/docs src/github-apps/data/fpt-2026-03-10/fine-grained-pat-permissions.json;
    read there for every route below; check runs are not in it, fine-grained tokens get no Checks
    permission, and Checks read is what "Permissions required for GitHub Apps" names). A
    GITHUB_TOKEN is an installation token of the GitHub Actions app, for which that page names the
    same permissions for these routes:
    - Pull requests: list, create, update (PATCH) a pull request, update its branch (write),
      GET .../pulls/{n}/merge, commits/{sha}/pulls (read); GET a pull request: Pull requests or
      Contents read.
    - Contents: merge a pull request (PUT .../pulls/{n}/merge: Contents write, not Pull requests),
      commits, git refs (get, list matching, create, update, delete), contents (get; create or
      update: write, plus Workflows under .github/workflows/, `FakeGitHub.workflow_changes`),
      repository dispatches (write), CODEOWNERS errors (read).
    - Issues: list, create and get issues (Issues only); update an issue, and issue comments
      (list, create, update): Issues or Pull requests (a pull request's conversation is an issue's).
    - Checks: check runs for a ref (read). Actions: the OIDC subject template. Variables:
      repository variables. Environments: environments' variables. Secrets: secrets.
      Administration: branch protection, Actions permissions, environments and their branch
      policies (reading an environment or listing its branch policies: Actions read).
    Variables, secrets, administration and workflows are no GITHUB_TOKEN scope (they cannot be
    granted in `permissions`), so a workflow's token is refused them."""
    level = "read" if method == "GET" else "write"
    match parts:
        case []:
            return ()
        case ["pulls", _, "merge"] if method == "PUT":
            return (("contents", "write"),)
        case ["pulls", _] if method == "GET":
            return (("pull-requests", "read"), ("contents", "read"))
        case ["pulls", *_]:
            return (("pull-requests", level),)
        case ["issues", "comments", *_] | ["issues", _, "comments"]:
            return (("issues", level), ("pull-requests", level))
        case ["issues", _] if method == "PATCH":
            return (("issues", "write"), ("pull-requests", "write"))
        case ["issues", *_]:
            return (("issues", level),)
        case ["commits", _, "pulls"]:
            return (("pull-requests", "read"),)
        case ["commits", _, "check-runs"]:
            return (("checks", "read"),)
        case ["commits", *_] | ["git", *_] | ["contents", *_] | ["codeowners", *_]:
            return (("contents", level),)
        case ["dispatches"]:
            return (("contents", "write"),)
        case ["actions", "oidc", *_]:
            return (("actions", level),)
        case ["actions", "variables", *_]:
            return (("variables", level),)
        case ["actions", "secrets", *_]:
            return (("secrets", level),)
        case ["environments", _, "variables", *_]:
            return (("environments", level),)
        case ["environments", _, "secrets", *_]:
            return (("secrets", level),)
        case ["environments", _] | ["environments", _, "deployment-branch-policies"] if method == "GET":
            return (("actions", "read"),)
    return (("administration", level),)


def peer_environment(client_port: int, server_port: int) -> dict[str, str] | None:
    """The GITHUB_* variables of the local process that opened the connection from `client_port`
    to `server_port` (Linux: /proc/net/tcp names the socket's inode, /proc/<pid>/fd the process
    holding it, /proc/<pid>/environ its environment); None if no such process is found."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == client_port and int(remote, 16) == server_port:
                inode = fields[9]
                break
    if inode is None:
        return None
    socket = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not any(_link(f"/proc/{pid}/fd/{fd}") == socket for fd in os.listdir(f"/proc/{pid}/fd")):
                continue
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:  # the process ended, or is another user's
            continue
        pairs = (item.decode(errors="replace").partition("=") for item in environ if item)
        return {name: value for name, _, value in pairs if name.startswith("GITHUB_")}
    return None


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed meanwhile
        return ""


def check_token(tokens: dict[str, str], headers: Any) -> str:
    """The login of the request's token (`Authorization: token|bearer <token>`), one of `tokens`
    (token -> login); else 401 "Bad credentials", as GitHub answers an unknown or missing token."""
    token = FakeGitHub.bearer(headers)
    if token not in tokens:
        raise GitHubError(401, "Bad credentials")
    return tokens[token]


def secret_given(repo: Repository, name: str, workflow: dict[str, Any], job: str, ref: str) -> bool:
    """Whether GitHub gives the secret `name` to `job` of `workflow` running for `ref`: a
    repository secret to every job (forks aside); an environment secret only to a job that
    references that environment (`environment:`) and passes its protection rules, a deployment
    branch policy among them (GitHub Docs, "Using environments for deployment": "Each job in a
    workflow can reference a single environment. Any protection rules configured for the
    environment must pass before a job referencing the environment is sent to a runner. The job
    can access the environment's secrets only after the job is sent to a runner."). A pull
    request's run (`refs/pull/<n>/merge`) is no branch a policy names. A job that is not given a
    secret reads it as an empty string.
    """
    if name in repo.secrets:
        return True
    environment = ((workflow.get("jobs") or {}).get(job) or {}).get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if not isinstance(environment, str) or name not in repo.environment_secrets.get(environment, set()):
        return False
    policy = (repo.environment_settings.get(environment) or {}).get("deployment_branch_policy")
    if not policy:
        return True  # no policy: every branch may deploy
    if not ref.startswith("refs/heads/") or not policy.get("custom_branch_policies"):
        return False  # protected_branches alone is not played here: no branch counts as protected
    import fnmatch

    branch = ref.removeprefix("refs/heads/")
    return any(
        p.get("type", "branch") == "branch" and fnmatch.fnmatchcase(branch, p["name"])
        for p in repo.branch_policies.get(environment, [])
    )


def job_claims(job: Job, audience: str, lifetime_s: int = 300) -> dict[str, Any]:
    """The claims GitHub puts in a job's OIDC token (docs.github.com, "About security hardening
    with OpenID Connect"), with the subject `make github-settings` customises
    (textclf.localcloud.principals.GitHubJob)."""
    from textclf.localcloud.principals import GitHubJob

    base = GitHubJob(job.repository, job.event, job.ref, job.environment).claims(lifetime_s)
    return {
        **base,
        "aud": audience,
        "sha": job.sha,
        "actor": job.actor,
        "run_id": str(job.run_id),
        "run_attempt": str(job.run_attempt),
        "workflow_ref": job.workflow_ref,
        "job_workflow_ref": job.workflow_ref,
        "repository_id": "1",
    }


def public(pull: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pull.items() if k not in ("reviews", "merge_ref_sha")}


def settings_route(
    repo: Repository, method: str, parts: list[str], body: Any, user: str, one: Any
) -> tuple[int, Any]:
    """The repository settings, environments and variables, as GitHub's REST API keeps them
    (docs.github.com/en/rest: branches/branch-protection, actions/oidc, actions/permissions,
    deployments/environments, deployments/branch-policies, actions/variables). Changing any of
    them takes an administrator, as on GitHub (403 otherwise)."""
    if method != "GET" and user not in repo.admins:
        raise GitHubError(403, "Resource not accessible by integration")
    match method, parts:
        case "PUT", ["branches", branch, "protection"]:
            repo.protect(branch, body)
            return 200, {}
        case "GET", ["branches", branch, "protection"]:
            if branch not in repo.protection:
                raise GitHubError(404, "Branch not protected")
            return 200, protection_read(repo.protection[branch])
        case "PUT", ["actions", "oidc", "customization", "sub"] | ["actions", "permissions", *_]:
            repo.settings["/".join(parts)] = body
            return (201, {}) if parts[1] == "oidc" else (204, None)
        case "GET", ["actions", "oidc", "customization", "sub"] | ["actions", "permissions", *_]:
            return 200, repo.settings.get(
                "/".join(parts), {"use_default": True} if parts[1] == "oidc" else {}
            )
        case "PUT", ["environments", name]:
            if body.get("reviewers") and repo.private and repo.plan != "enterprise":
                raise GitHubError(422, "required reviewers need GitHub Enterprise in a private repository")
            repo.environment_settings[name] = body
            repo.environments.setdefault(name, {})
            return 200, environment_read(repo, name)
        case "GET", ["environments", name]:
            return 200, environment_read(repo, name)
        case "GET", ["environments", name, "deployment-branch-policies"]:
            environment_read(repo, name)
            return 200, {"branch_policies": repo.branch_policies.get(name, [])}
        case "POST", ["environments", name, "deployment-branch-policies"]:
            policies = repo.branch_policies.setdefault(name, [])
            policies.append(
                {"id": len(policies) + 1, "name": body["name"], "type": body.get("type", "branch")}
            )
            return 200, policies[-1]
        case "DELETE", ["environments", name, "deployment-branch-policies", policy]:
            repo.branch_policies[name] = [
                p for p in repo.branch_policies.get(name, []) if str(p["id"]) != policy
            ]
            return 204, None
        case "GET", ["environments", name, "secrets", secret]:
            environment_read(repo, name)
            if secret.upper() not in repo.environment_secrets.get(name, set()):
                raise GitHubError(404, "Not Found")
            return 200, {"name": secret.upper()}
        case "PUT", ["environments", name, "secrets", secret]:
            # `gh secret set NAME --env ENV`: the value is sealed with the environment's public key;
            # the fake keeps the name only (the world gives act the value: World.act).
            environment_read(repo, name)
            created = secret.upper() not in repo.environment_secrets.get(name, set())
            repo.environment_secrets.setdefault(name, set()).add(secret.upper())
            return (201, {}) if created else (204, None)
        case "DELETE", ["environments", name, "secrets", secret]:
            repo.environment_secrets.get(name, set()).discard(secret.upper())
            return 204, None
        case _, ["actions", "variables", *rest]:
            return variables_route(repo.variables, method, rest, body, one)
        case _, ["environments", name, "variables", *rest]:
            environment_read(repo, name)
            return variables_route(repo.environments[name], method, rest, body, one)
    raise GitHubError(404, f"Not Found: {method} /{'/'.join(parts)}")


def protection_read(body: dict[str, Any]) -> dict[str, Any]:
    """GET .../protection answers in its own shape: booleans wrapped as {"enabled": ...}."""
    checks = (body.get("required_status_checks") or {}).get("checks") or []
    return {
        "required_status_checks": {
            "strict": (body.get("required_status_checks") or {}).get("strict", False),
            "checks": checks,
            "contexts": [check["context"] for check in checks],
        },
        "enforce_admins": {"enabled": bool(body.get("enforce_admins"))},
        "required_pull_request_reviews": body.get("required_pull_request_reviews") or {},
        "allow_force_pushes": {"enabled": bool(body.get("allow_force_pushes"))},
        "allow_deletions": {"enabled": bool(body.get("allow_deletions"))},
    }


def environment_read(repo: Repository, name: str) -> dict[str, Any]:
    if name not in repo.environment_settings:
        raise GitHubError(404, "Not Found")
    body = repo.environment_settings[name]
    rules: list[dict[str, Any]] = []
    if body.get("reviewers"):
        ids = {login_id: login for login, login_id in repo.users.items()}
        rules.append(
            {
                "type": "required_reviewers",
                "prevent_self_review": bool(body.get("prevent_self_review")),
                "reviewers": [
                    {"type": "User", "reviewer": {"id": r["id"], "login": ids.get(r["id"])}}
                    for r in body["reviewers"]
                ],
            }
        )
    if body.get("deployment_branch_policy"):
        rules.append({"type": "branch_policy"})
    return {
        "name": name,
        "protection_rules": rules,
        "deployment_branch_policy": body.get("deployment_branch_policy"),
    }


def variables_route(
    variables: dict[str, str], method: str, rest: list[str], body: Any, one: Any
) -> tuple[int, Any]:
    """List, create (409 if it exists), read and update variables; names are upper-cased, as
    GitHub stores them."""
    match method, rest:
        case "GET", []:
            page, size = int(one("page") or 1), int(one("per_page") or 30)
            names = sorted(variables)[(page - 1) * size : page * size]
            listed = [{"name": name, "value": variables[name]} for name in names]
            return 200, {"total_count": len(variables), "variables": listed}
        case "POST", []:
            name = str(body["name"]).upper()
            if name in variables:
                raise GitHubError(409, f"Variable {name} already exists")
            variables[name] = str(body["value"])
            return 201, {}
        case "GET", [name]:
            if name.upper() not in variables:
                raise GitHubError(404, "Not Found")
            return 200, {"name": name.upper(), "value": variables[name.upper()]}
        case "PATCH", [name]:
            if name.upper() not in variables:
                raise GitHubError(404, "Not Found")
            variables[name.upper()] = str(body["value"])
            return 204, None
    raise GitHubError(404, f"Not Found: {method} variables/{'/'.join(rest)}")
