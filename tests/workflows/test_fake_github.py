"""The rehearsal's fake GitHub refuses what GitHub refuses (textclf.rehearsal.github), checked
without act: a merge whose required status checks are missing, failing or from another app, or
whose head is behind main under strict checks (branch protection as `make github-settings` PUTs
it), a workflow token's call its job's `permissions` do not grant ("Resource not accessible by
integration"), and a RETRAIN_TOKEN call beyond the fine-grained permissions docs/workflows.md asks
for ("Resource not accessible by personal access token")."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.test_github_settings import FakeGitHub as SettingsAPI
from tests.workflows.test_github_settings import settings
from textclf.rehearsal.github import (
    FakeGitHub,
    GitHubError,
    Repository,
    WorkflowRun,
    required_scopes,
    token_permissions,
)
from textclf.rehearsal.scenarios import unused_scopes
from textclf.rehearsal.world import RETRAIN_TOKEN_PERMISSIONS, ActRun, World, jobs_run
from textclf.release import github_settings
from textclf.release.github_settings import GITHUB_ACTIONS_APP_ID, REQUIRED_CHECKS

REPO = Path(__file__).resolve().parents[2]
NAME = "acme/text-classifier"
GIT = ["git", "-c", "user.name=A Developer", "-c", "user.email=dev@example.com"]
WORKFLOW = {
    "name": "w",
    "on": "pull_request",
    "permissions": {"contents": "read", "issues": "write"},
    "jobs": {
        "comment": {"name": "a comment", "permissions": {"contents": "read", "pull-requests": "write"}},
        "none": {"needs": "comment", "permissions": {}},
        "inherits": {"needs": ["none", "comment"]},
    },
}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    """An origin with main (holding a workflow file) and a branch `feature`, and PR #1 from it
    approved by a reviewer, under main's protection as `make github-settings` PUTs it."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git("init", "-q", "--bare", "--initial-branch=main", str(origin), cwd=tmp_path)
    git("clone", "-q", str(origin), str(work), cwd=tmp_path)
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / ".github" / "workflows" / "w.yml").write_text(yaml.safe_dump(WORKFLOW), encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "main", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    (work / "README.md").write_text("a change\n", encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "a change", cwd=work)
    git("push", "-q", "origin", "HEAD:refs/heads/feature", cwd=work)
    repository = Repository(NAME, origin)
    repository.protection["main"] = protection_as_github_settings_puts_it()
    pull = repository.open_pull("feature", "main", "a change", "", "a-developer")
    pull["reviews"].append({"user": "reviewer", "state": "APPROVED", "commit_id": pull["head"]["sha"]})
    return repository


def protection_as_github_settings_puts_it() -> dict[str, Any]:
    """The body `make github-settings` PUTs to main's protection (github_settings.apply)."""
    api = SettingsAPI()
    github_settings.apply(settings(), api)
    puts = {path: body for method, path, body in api.calls if method == "PUT"}
    return puts[f"repos/{NAME}/branches/main/protection"]


def push_to_main(repo: Repository, tmp_path: Path, name: str, text: str) -> str:
    """Another change lands on main (another pull request merged meanwhile); returns main's tip."""
    work = tmp_path / f"main-{name.replace('/', '-')}"
    git("clone", "-q", "--branch", "main", str(repo.origin), str(work), cwd=tmp_path)
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text, encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", f"main: {name}", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return repo.head_of("main")


def report_all_but(repo: Repository, left_out: str = "", **conclusions: str) -> str:
    head = repo.pulls[1]["head"]["sha"]
    for name in REQUIRED_CHECKS:
        if name != left_out:
            repo.report_check(head, name, conclusions.get(name.replace(" ", "_").replace(",", ""), "success"))
    return head


# --- required status checks --------------------------------------------------------------------


def test_a_merge_without_a_required_check_is_refused(repo: Repository) -> None:
    with pytest.raises(GitHubError, match='Required status check "lint and fast tests" is expected') as error:
        repo.merge_pull(1)
    assert error.value.status == 405
    report_all_but(repo, left_out="slow tests")
    with pytest.raises(GitHubError, match='"slow tests" is expected'):
        repo.merge_pull(1)
    assert repo.pulls[1]["state"] == "open"


def test_a_merge_with_a_failed_required_check_is_refused(repo: Repository) -> None:
    report_all_but(repo, train_report_and_gate="failure")
    with pytest.raises(
        GitHubError, match='Required status check "train, report and gate" is failing'
    ) as error:
        repo.merge_pull(1)
    assert error.value.status == 405
    # The latest run of a name counts: a re-run that passes makes the PR mergeable.
    repo.report_check(repo.pulls[1]["head"]["sha"], "train, report and gate", "success")
    assert repo.merge_pull(1) == repo.head_of("main")


def test_a_check_from_another_app_or_commit_does_not_count(repo: Repository) -> None:
    head = report_all_but(repo, left_out="slow tests")
    repo.report_check(head, "slow tests", "success", app_id=12345)  # not GitHub Actions
    repo.report_check(repo.pulls[1]["base"]["sha"], "slow tests", "success")  # not the head
    with pytest.raises(GitHubError, match='"slow tests" is expected'):
        repo.merge_pull(1)


def test_skipped_jobs_pass_and_reviews_are_still_required(repo: Repository) -> None:
    report_all_but(repo, train_report_and_gate="skipped")  # a docs-only PR does not train
    repo.pulls[1]["reviews"].clear()
    with pytest.raises(GitHubError, match="approving review"):
        repo.merge_pull(1)
    repo.pulls[1]["reviews"].append(
        {"user": "reviewer", "state": "APPROVED", "commit_id": repo.pulls[1]["head"]["sha"]}
    )
    repo.merge_pull(1)
    assert repo.pulls[1]["merged"]


def test_a_head_behind_main_is_refused_under_strict_checks_until_the_branch_is_updated(
    repo: Repository, tmp_path: Path
) -> None:
    """`make github-settings` sets strict required checks ("Require branches to be up to date
    before merging"): a PR whose head lacks main's tip is refused (405, every required check
    "expected") though its checks passed and it is approved. Updating the branch (GitHub's "Update
    branch": main merged into it) makes a new head, with no checks and no approval yet."""
    assert repo.protection["main"]["required_status_checks"]["strict"] is True
    report_all_but(repo)
    main = push_to_main(repo, tmp_path, "CHANGELOG.md", "another change\n")
    with pytest.raises(GitHubError, match="4 of 4 required status checks are expected") as error:
        repo.merge_pull(1)
    assert (
        error.value.status == 405
        and "behind main" in str(error.value)
        and "update-branch" in str(error.value)
    )
    assert repo.pulls[1]["state"] == "open" and repo.head_of("main") == main

    old_head = repo.pulls[1]["head"]["sha"]
    with pytest.raises(GitHubError, match="does not match the head") as mismatch:
        repo.update_branch(1, expected_head_sha="0" * 40)
    assert mismatch.value.status == 422
    head = repo.update_branch(1, expected_head_sha=old_head)
    assert head == repo.head_of("feature") != old_head and repo.is_ancestor(main, head)
    assert repo.pulls[1]["head"]["sha"] == head
    with pytest.raises(GitHubError, match="no new commits on the base branch") as nothing:
        repo.update_branch(1)
    assert nothing.value.status == 422
    # The checks of the old head do not count for the new one, nor the approval (stale reviews dismissed).
    with pytest.raises(GitHubError, match='"what the PR changes" is expected'):
        repo.merge_pull(1)
    report_all_but(repo)
    with pytest.raises(GitHubError, match="approving review"):
        repo.merge_pull(1)
    repo.pulls[1]["reviews"].append({"user": "reviewer", "state": "APPROVED", "commit_id": head})
    merge = repo.merge_pull(1)
    assert repo.is_ancestor(main, merge) and repo.is_ancestor(head, merge)


def test_loose_checks_merge_a_head_behind_main(repo: Repository, tmp_path: Path) -> None:
    """Without `strict` (GitHub's "loose" checks) a head behind its base merges."""
    repo.protection["main"]["required_status_checks"]["strict"] = False
    report_all_but(repo)
    main = push_to_main(repo, tmp_path, "CHANGELOG.md", "another change\n")
    assert repo.is_ancestor(main, repo.merge_pull(1))


def test_merge_and_update_branch_over_the_api(fake: FakeGitHub, tmp_path: Path) -> None:
    """PUT .../pulls/{n}/merge answers 405 with the reason, and PUT .../update-branch 202; a
    fine-grained token merges only with Contents write and updates a branch with Pull requests write
    (GitHub Docs, "Permissions required for fine-grained personal access tokens")."""
    repo = fake.repository
    report_all_but(repo)
    push_to_main(repo, tmp_path, "CHANGELOG.md", "another change\n")
    person = {"Authorization": f"token {fake.token_for('reviewer')}"}
    with pytest.raises(GitHubError, match="required status checks are expected") as error:
        fake.route("PUT", f"/repos/{NAME}/pulls/1/merge", {}, {}, person)
    assert error.value.status == 405
    pulls_only = {"Authorization": f"token {fake.fine_grained_token('bot', {'pull-requests': 'write'})}"}
    assert served_by(fake, pulls_only, "PUT", "/pulls/1/merge") == 403
    status, answer = fake.route("PUT", f"/repos/{NAME}/pulls/1/update-branch", {}, {}, pulls_only)
    assert status == 202 and answer["message"] == "Updating pull request branch."
    head = repo.pulls[1]["head"]["sha"]
    report_all_but(repo)
    repo.pulls[1]["reviews"].append({"user": "reviewer", "state": "APPROVED", "commit_id": head})
    status, merged = fake.route("PUT", f"/repos/{NAME}/pulls/1/merge", {}, {}, person)
    assert status == 200 and merged["merged"] and merged["sha"] == repo.head_of("main")


def served_by(fake: FakeGitHub, headers: dict[str, str], method: str, path: str, body: Any = None) -> int:
    try:
        return fake.route(method, f"/repos/{NAME}{path}", {}, body or {}, headers)[0]
    except GitHubError as error:
        return error.status


# --- RETRAIN_TOKEN: a fine-grained token ----------------------------------------------------------


def test_the_retrain_token_reaches_only_what_docs_workflows_md_grants(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """RETRAIN_TOKEN as docs/workflows.md asks for it (Contents and Pull requests, read and write;
    textclf.rehearsal.world.RETRAIN_TOKEN_PERMISSIONS) makes the calls retrain.yml's checkout and
    `make production-pr` (textclf.release.desired.propose) make, and is refused the rest with
    GitHub's answer to a personal access token."""
    bot = {"Authorization": f"token {fake.fine_grained_token('textclf-bot', RETRAIN_TOKEN_PERMISSIONS)}"}
    main = fake.repository.head_of("main")
    content = base64.b64encode(b"commit: x\n").decode()
    branch = "release/production"
    allowed = [
        ("GET", f"/commits/{main}", None),  # checkout's fetch
        ("GET", "/git/ref/heads/main", None),
        ("GET", f"/git/matching-refs/heads/{branch}", None),
        ("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}),
        # A later proposal re-creates the branch at main's tip (desired.propose).
        ("DELETE", f"/git/refs/heads/{branch}", None),
        ("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}),
        ("PUT", "/contents/deploy/production.yaml", {"branch": branch, "content": content, "message": "m"}),
        ("GET", "/pulls", None),
        ("POST", "/pulls", {"head": branch, "base": "main", "title": "release: production"}),
        ("PATCH", "/pulls/2", {"body": "staging's checks"}),
        ("GET", "/pulls/2", None),
        ("POST", "/issues/2/comments", {"body": "a comment (Pull requests write covers it)"}),
        # Contents write also sends repository_dispatch events (docs/security.md says what that allows).
        ("POST", "/dispatches", {"event_type": "x"}),
    ]
    assert [served_by(fake, bot, *call) for call in allowed] == [
        200, 200, 200, 201, 204, 201, 200, 200, 201, 200, 200, 201, 204,
    ]  # fmt: skip
    refused = [
        ("POST", "/issues", {"title": "t"}),
        ("GET", "/issues", None),
        ("GET", "/actions/variables", None),
        ("PUT", "/branches/main/protection", {}),
        ("GET", "/commits/abc/check-runs", None),
    ]
    assert [served_by(fake, bot, *call) for call in refused] == [403] * len(refused)
    with pytest.raises(GitHubError, match="Resource not accessible by personal access token") as error:
        fake.route("POST", f"/repos/{NAME}/issues", {}, {"title": "t"}, bot)
    assert "needs issues: write" in str(error.value) and "textclf-bot" in str(error.value)
    assert fake.scopes["fine-grained token of textclf-bot"]["used"] == ["contents: read", "contents: write",
                                                                       "pull-requests: read",
                                                                       "pull-requests: write"]  # fmt: skip


def test_workflow_files_need_the_workflows_permission(fake: FakeGitHub, tmp_path: Path) -> None:
    """Neither RETRAIN_TOKEN nor a GITHUB_TOKEN may change .github/workflows/: writing such a file,
    or moving a branch to a commit whose workflow files differ from its tip's (a push that brings
    main's workflow changes in is refused the same way), needs Workflows write. Re-creating the
    branch at main's tip changes no workflow file."""
    repo = fake.repository
    bot = {"Authorization": f"token {fake.fine_grained_token('textclf-bot', RETRAIN_TOKEN_PERMISSIONS)}"}
    main = repo.head_of("main")
    assert (
        served_by(fake, bot, "POST", "/git/refs", {"ref": "refs/heads/release/production", "sha": main})
        == 201
    )
    workflow = {
        "branch": "release/production",
        "content": base64.b64encode(b"on: push\n").decode(),
        "message": "m",
    }
    with pytest.raises(
        GitHubError, match=re.escape("create or update workflow `.github/workflows/x.yml` without")
    ) as error:
        fake.route("PUT", f"/repos/{NAME}/contents/.github/workflows/x.yml", {}, workflow, bot)
    assert error.value.status == 403
    new_main = push_to_main(repo, tmp_path, ".github/workflows/w.yml", "name: changed\n")
    moved = ("PATCH", "/git/refs/heads/release/production", {"sha": new_main, "force": True})
    with pytest.raises(GitHubError, match=re.escape("workflow `.github/workflows/w.yml`")):
        fake.route(moved[0], f"/repos/{NAME}{moved[1]}", {}, moved[2], bot)
    assert served_by(fake, bot, "DELETE", "/git/refs/heads/release/production") == 204
    assert (
        served_by(fake, bot, "POST", "/git/refs", {"ref": "refs/heads/release/production", "sha": new_main})
        == 201
    )
    allowed = fake.fine_grained_token("admin-bot", {**RETRAIN_TOKEN_PERMISSIONS, "workflows": "write"})
    assert served_by(fake, {"Authorization": f"token {allowed}"}, "PUT", "/contents/.github/workflows/x.yml",
                     workflow) == 200  # fmt: skip


def test_act_job_results_are_reported_as_github_actions_checks(repo: Repository, tmp_path: Path) -> None:
    """World.report_checks: a check run per job act was asked to run, named by the job's name: one
    that ended succeeded or failed, one act did not run skipped (cancelled with the run)."""
    workflow_file = tmp_path / "w.yml"
    workflow_file.write_text(yaml.safe_dump(WORKFLOW), encoding="utf-8")
    world = World(REPO, tmp_path)
    world.github = FakeGitHub(repo)
    log = "[w/a comment] 🏁  Job succeeded\n[w/none] 🏁  Job failed\n"
    run = ActRun.parse("w.yml", "inherits", 1, log, 1.0)
    world.report_checks(run, workflow_file, "inherits", "f" * 40)
    assert {(c["name"], c["conclusion"], c["app"]["id"]) for c in repo.check_runs["f" * 40]} == {
        ("a comment", "success", GITHUB_ACTIONS_APP_ID),
        ("none", "failure", GITHUB_ACTIONS_APP_ID),
        ("inherits", "skipped", GITHUB_ACTIONS_APP_ID),
    }
    world.report_checks(ActRun.parse("w.yml", "comment", 130, "", 1.0), workflow_file, "comment", "e" * 40)
    assert "e" * 40 not in repo.check_runs  # act never started a job: nothing to report
    world.report_checks(
        ActRun.parse("w.yml", "none", 130, log[:31], 1.0), workflow_file, "none", "d" * 40, True
    )
    assert [c["conclusion"] for c in repo.check_runs["d" * 40]] == ["cancelled", "success"]
    assert jobs_run(WORKFLOW["jobs"], None) == ["comment", "none", "inherits"]


# --- GITHUB_TOKEN scopes -----------------------------------------------------------------------


def test_a_jobs_permissions_replace_the_workflows() -> None:
    assert token_permissions(WORKFLOW, "comment") == {"contents": "read", "pull-requests": "write"}
    assert token_permissions(WORKFLOW, "none") == {}
    assert token_permissions(WORKFLOW, "inherits") == {"contents": "read", "issues": "write"}
    bare = {"jobs": {"j": {}}}
    assert token_permissions(bare, "j") == {"contents": "read", "packages": "read"}  # restricted default
    assert token_permissions({"permissions": "read-all", **bare}, "j")["issues"] == "read"
    assert "id-token" not in token_permissions({"permissions": "read-all", **bare}, "j")
    assert token_permissions({"permissions": "write-all", **bare}, "j")["id-token"] == "write"


@pytest.mark.parametrize(
    "method, route, needed",
    [
        ("PUT", "pulls/1/merge", (("contents", "write"),)),
        ("PUT", "pulls/1/update-branch", (("pull-requests", "write"),)),
        ("GET", "pulls/1", (("pull-requests", "read"), ("contents", "read"))),
        ("PATCH", "issues/1", (("issues", "write"), ("pull-requests", "write"))),
        ("GET", "issues", (("issues", "read"),)),
        ("POST", "dispatches", (("contents", "write"),)),
        ("GET", "environments/production/deployment-branch-policies", (("actions", "read"),)),
        ("POST", "environments/production/deployment-branch-policies", (("administration", "write"),)),
    ],
)
def test_route_scopes_follow_githubs_permission_tables(method: str, route: str, needed: tuple) -> None:
    """Rows of GitHub's "Permissions required for fine-grained personal access tokens" the map had
    from memory: merging is Contents write, a pull request is read with either permission, an
    issue (a pull request's conversation) is updated with either."""
    assert required_scopes(method, route.split("/")) == needed


def served(fake: FakeGitHub, token: str, job: str | None, method: str, path: str, body: Any = None) -> int:
    runner = {"GITHUB_JOB": job, "GITHUB_RUN_ID": "7"} if job else None
    headers = {"Authorization": f"token {token}"}
    try:
        return fake.route(method, f"/repos/{NAME}{path}", {}, body or {}, headers, runner)[0]
    except GitHubError as error:
        return error.status


@pytest.fixture
def fake(repo: Repository) -> FakeGitHub:
    return FakeGitHub(repo)


def test_a_workflow_token_carries_only_the_calling_jobs_permissions(fake: FakeGitHub) -> None:
    main = fake.repository.head_of("main")
    token = fake.workflow_token(WorkflowRun(7, ".github/workflows/w.yml", main))
    comment = ("POST", "/issues/1/comments", {"body": "report"})
    assert served(fake, token, "comment", *comment) == 201  # pull-requests: write
    assert served(fake, token, "inherits", *comment) == 201  # issues: write (the workflow's)
    assert served(fake, token, "none", *comment) == 403  # {}: nothing
    assert served(fake, token, "comment", "POST", "/issues", {"title": "t"}) == 403  # no issues scope
    assert served(fake, token, "inherits", "POST", "/issues", {"title": "t"}) == 201
    assert served(fake, token, "comment", "GET", f"/commits/{main}") == 200  # contents: read
    assert served(fake, token, "none", "GET", f"/commits/{main}") == 403
    assert served(fake, token, "none", "GET", "") == 200  # metadata is always granted
    assert served(fake, token, "inherits", "POST", "/dispatches", {"event_type": "x"}) == 403
    assert served(fake, token, "comment", "PUT", "/branches/main/protection", {}) == 403
    # The token is the run's: outside a job of run 7 (or of a job the file lacks) it is refused.
    assert served(fake, token, None, *comment) == 401
    assert served(fake, token, "deploy", *comment) == 401
    with pytest.raises(GitHubError, match="Resource not accessible by integration") as error:
        fake.route("POST", f"/repos/{NAME}/issues", {}, {"title": "t"}, {"Authorization": f"token {token}"},
                   {"GITHUB_JOB": "comment", "GITHUB_RUN_ID": "7"})  # fmt: skip
    assert "issues: write" in str(error.value) and fake.scopes["w.yml comment"]["used"]
    # A person's token keeps the person's rights.
    assert served(fake, fake.token_for("a-developer"), None, *comment) == 201


def test_the_calling_process_is_the_job(fake: FakeGitHub) -> None:
    """Over HTTP the fake finds the job from the process that called (its GITHUB_JOB and
    GITHUB_RUN_ID, as act sets them for each step): the same token, two jobs, two answers."""
    token = fake.workflow_token(WorkflowRun(7, ".github/workflows/w.yml", fake.repository.head_of("main")))
    fake.start()
    call = (
        "import sys, urllib.request, urllib.error\n"
        "request = urllib.request.Request(sys.argv[1], data=b'{\"body\": \"x\"}', method='POST',"
        " headers={'Authorization': 'Bearer ' + sys.argv[2]})\n"
        "try:\n    print(urllib.request.urlopen(request).status)\n"
        "except urllib.error.HTTPError as error:\n    print(error.code)\n"
    )
    url = f"{fake.url}/repos/{NAME}/issues/1/comments"
    try:
        answers = {
            job: subprocess.run(
                [sys.executable, "-c", call, url, token],
                env={**os.environ, "GITHUB_JOB": job, "GITHUB_RUN_ID": "7"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            for job in ("comment", "none")
        }
        with pytest.raises(urllib.error.HTTPError) as error:  # this process is no job
            request = urllib.request.Request(
                url, data=json.dumps({"body": "x"}).encode(), method="POST",
                headers={"Authorization": f"token {token}"},
            )  # fmt: skip
            urllib.request.urlopen(request)
    finally:
        fake.stop()
    assert answers == {"comment": "201", "none": "403"}
    assert error.value.code == 401


def test_the_workflows_permissions_cover_their_github_calls() -> None:
    """Each job that calls GitHub with its own token (not the bot's) is granted the scope of each
    call it makes: checkout reads the repository, the report comment, the PR lookup, the issues."""
    calls = {
        ("pr.yml", "comment"): [("GET", "issues/1/comments"), ("POST", "issues/1/comments"),
                                ("PATCH", "issues/comments/1")],
        ("release.yml", "plan"): [("GET", "commits/abc/pulls")],
        ("state.yml", "compare"): [("GET", "issues"), ("POST", "issues"), ("POST", "issues/1/comments")],
        ("drift.yml", "issue"): [("GET", "issues"), ("POST", "issues"), ("POST", "issues/1/comments")],
    }  # fmt: skip
    workflows = {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in (REPO / ".github" / "workflows").glob("*.yml")
    }
    for (name, job), routes in calls.items():
        granted = token_permissions(workflows[name], job)
        for method, route in routes:
            needed = required_scopes(method, route.split("/"))
            levels = {"read": {"read", "write"}, "write": {"write"}}
            assert any(granted.get(scope) in levels[level] for scope, level in needed), (name, job, route)
    for name, workflow in workflows.items():
        for job, definition in workflow["jobs"].items():
            checkouts = [s for s in definition.get("steps") or [] if "actions/checkout" in s.get("uses", "")]
            if checkouts and not (checkouts[0].get("with") or {}).get("token"):
                assert token_permissions(workflow, job).get("contents") in ("read", "write"), (name, job)


def test_grants_beyond_what_a_job_used_are_listed() -> None:
    granted = {"contents": "read", "id-token": "write", "issues": "write", "pull-requests": "write"}
    used = ["contents: read", "pull-requests: read"]
    assert unused_scopes({"granted": granted, "used": used}) == [
        "issues: write",
        "pull-requests: write (used: read)",
    ]
