"""The fake GitHub refuses direct updates of a protected branch, as GitHub does (GH006 "Protected
branch update failed ... Changes must be made through a pull request."; `enforce_admins`:
administrators too): a person's `git push` to the origin, and writes through the contents and refs
APIs. Its own merges of pull requests still land. (The rehearsal's world used to push the backend
file straight to main after `make setup-cloud` had protected it.)"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.workflows.gitorigin import git, origin_with_main
from textclf.rehearsal.github import FakeGitHub, GitHubError, Repository


@pytest.fixture
def protected(tmp_path: Path) -> tuple[Repository, FakeGitHub, Path]:
    origin, work = origin_with_main(tmp_path)
    repo = Repository("acme/r", origin)
    repo.admins.add("operator")
    fake = FakeGitHub(repo)
    headers = {"Authorization": f"token {fake.token_for('operator')}"}
    body = {"enforce_admins": True, "required_pull_request_reviews": {"required_approving_review_count": 1}}
    assert fake.route("PUT", "/repos/acme/r/branches/main/protection", {}, body, headers)[0] == 200
    return repo, fake, work


def test_a_push_to_a_protected_branch_is_refused_and_a_branch_push_is_not(protected) -> None:
    repo, _, work = protected
    before = repo.head_of("main")
    (work / "terraform.hcl").write_text('bucket = "b"\n', encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "backend", cwd=work)
    pushed = git("push", "origin", "HEAD:main", cwd=work, check=False)
    assert (
        pushed.returncode != 0
        and "GH006: Protected branch update failed for refs/heads/main" in pushed.stderr
    )
    assert repo.head_of("main") == before
    assert git("push", "-q", "origin", "HEAD:refs/heads/backend", cwd=work).returncode == 0
    # Through a pull request it lands (the fake's merge is GitHub's own write).
    pull = repo.open_pull("backend", "main", "backend", "", "a-developer")
    pull["reviews"].append({"user": "reviewer", "state": "APPROVED", "commit_id": pull["head"]["sha"]})
    merge = repo.merge_pull(pull["number"])
    assert repo.head_of("main") == merge != before


def test_api_writes_to_a_protected_branch_are_refused(protected) -> None:
    repo, fake, _ = protected
    headers = {"Authorization": f"token {fake.token_for('operator')}"}
    content = {"message": "m", "content": base64.b64encode(b"x\n").decode(), "branch": "main"}
    for method, path, body in (
        ("PUT", "/repos/acme/r/contents/x.txt", content),
        ("PATCH", "/repos/acme/r/git/refs/heads/main", {"sha": repo.head_of("main"), "force": True}),
        ("DELETE", "/repos/acme/r/git/refs/heads/main", {}),
    ):
        with pytest.raises(GitHubError, match="Changes must be made through a pull request") as refused:
            fake.route(method, path, {}, body, headers)
        assert refused.value.status == 409
    repo.git("branch", "other", "main")
    assert (
        fake.route("PUT", "/repos/acme/r/contents/x.txt", {}, {**content, "branch": "other"}, headers)[0]
        == 200
    )


def test_the_contents_api_writes_a_path_gitignore_lists(protected) -> None:
    """GitHub's contents API commits the path it is given; .gitignore is for working trees (the
    backend file make setup-cloud commits is git-ignored)."""
    repo, fake, _ = protected
    headers = {"Authorization": f"token {fake.token_for('operator')}"}
    repo.git("branch", "setup", "main")
    ignore = {"message": "m", "content": base64.b64encode(b"*.hcl\n").decode(), "branch": "setup"}
    fake.route("PUT", "/repos/acme/r/contents/.gitignore", {}, ignore, headers)
    backend = {"message": "m", "content": base64.b64encode(b'bucket = "b"\n').decode(), "branch": "setup"}
    assert fake.route("PUT", "/repos/acme/r/contents/backend.hcl", {}, backend, headers)[0] == 200
    assert repo.git("show", "setup:backend.hcl") == 'bucket = "b"'
