"""`make setup-cloud`'s inputs checked before anything runs or is shown, and the bot token's place
(an environment secret of the environments whose jobs open pull requests, never a repository one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.workflows.gitorigin import origin_with_main
from textclf.rehearsal.github import FakeGitHub, GitHubError, Repository
from textclf.release import setup_cloud
from textclf.release.github_settings import SettingsError
from textclf.release.setup_cloud import Setup, SetupError


def nothing(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"nothing may run for a repository that is not OWNER/NAME: {args}")


@pytest.mark.parametrize("repository", ["../..", "-o/r", "a/b/../../x", "o/r\n", "o/.."])
def test_a_repository_that_is_not_owner_name_stops_before_anything(
    repository: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Round 8's U-c1: REPO='../..' went on as "repository ../.." (and a dry run listed its plan)."""
    for dry_run in (False, True):
        setup = Setup(repository, [], dry_run=dry_run, root=tmp_path, gh=nothing, run=nothing)
        with pytest.raises(SetupError, match="must be OWNER/NAME") as refused:
            setup_cloud.setup_cloud(setup)
        assert "REPO=owner/name" in str(refused.value) and setup.steps == []
    assert capsys.readouterr().out == ""  # no "target: ... repository ../.." line, no plan


def secrets_gh(existing: set[str]) -> Any:
    def gh(method: str, path: str, body: Any = None) -> Any:
        assert method == "GET", (method, path)
        if path in existing:
            return {"name": path.rsplit("/", 1)[1]}
        raise SettingsError(f"gh api {method} {path}: Not Found (HTTP 404)")

    return gh


def test_the_dry_run_names_the_environments_that_lack_the_bot_token(tmp_path: Path) -> None:
    gh = secrets_gh({"repos/acme/r/environments/production/secrets/RETRAIN_TOKEN"})
    setup = Setup("acme/r", [], dry_run=True, root=tmp_path, gh=gh, run=nothing)
    setup_cloud.step_secret(setup)
    [todo] = setup.todo
    assert "environment(s) retrain, staging " in todo and "not as a repository secret" in todo


def test_the_dry_run_refuses_a_repository_secret(tmp_path: Path) -> None:
    gh = secrets_gh({"repos/acme/r/actions/secrets/RETRAIN_TOKEN"})
    setup = Setup("acme/r", [], dry_run=True, root=tmp_path, gh=gh, run=nothing)
    with pytest.raises(SettingsError, match="repository secret RETRAIN_TOKEN"):
        setup_cloud.step_secret(setup)


# --- the backend file: committed to main before main is protected, else a pull request -------------


@pytest.fixture
def github(tmp_path: Path) -> tuple[Repository, Any]:
    """The rehearsal's fake GitHub (an origin with main), called as `gh api` is, by an administrator."""
    origin, _ = origin_with_main(tmp_path)
    repo = Repository("acme/r", origin)
    repo.admins.add("operator")
    fake = FakeGitHub(repo)
    headers = {"Authorization": f"token {fake.token_for('operator')}"}

    def gh(method: str, path: str, body: Any = None) -> Any:
        url = urlsplit("/" + path)
        try:
            return fake.route(method, url.path, parse_qs(url.query), body or {}, headers)[1]
        except GitHubError as error:
            raise SettingsError(f"gh api {method} {path}: {error} (HTTP {error.status})") from None

    return repo, gh


def backend_setup(tmp_path: Path, gh: Any, text: str = 'bucket = "state-1"\n') -> Setup:
    root = tmp_path / "laptop"
    (root / "terraform").mkdir(parents=True, exist_ok=True)
    (root / "terraform" / "backend.hcl").write_text(text, encoding="utf-8")
    return Setup("acme/r", [], dry_run=False, root=root, gh=gh, run=nothing)


def test_the_backend_file_goes_to_main_before_protection_then_nothing_to_do(
    tmp_path: Path, github: tuple[Repository, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    repo, gh = github
    setup = backend_setup(tmp_path, gh)
    setup_cloud.step_backend_committed(setup)
    assert repo.git("show", "main:terraform/backend.hcl") == 'bucket = "state-1"'
    assert [(s.name, s.outcome) for s in setup.steps] == [("backend file", "created")] and setup.todo == []
    again = backend_setup(tmp_path, gh)
    setup_cloud.step_backend_committed(again)
    assert again.steps == [] and again.todo == []


def test_once_main_is_protected_the_backend_file_is_a_pull_request_not_a_push(
    tmp_path: Path, github: tuple[Repository, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub refuses a push to a protected branch (administrators included): a changed backend file
    (a new state bucket) is proposed by a pull request, which a code owner approves; a second run
    updates the same pull request."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    repo, gh = github
    repo.protection["main"] = {"enforce_admins": True, "required_pull_request_reviews": {}}
    main = repo.head_of("main")
    dry = backend_setup(tmp_path, gh)
    dry.dry_run = True
    setup_cloud.step_backend_committed(dry)
    assert dry.steps[0].outcome == "would change" and "pull request" in dry.steps[0].detail
    assert repo.pulls == {}
    setup = backend_setup(tmp_path, gh)
    setup_cloud.step_backend_committed(setup)
    assert repo.head_of("main") == main  # main unchanged
    [pull] = repo.pulls.values()
    assert pull["head"]["ref"] == setup_cloud.BACKEND_BRANCH and pull["base"]["ref"] == "main"
    assert repo.git("show", f"{setup_cloud.BACKEND_BRANCH}:terraform/backend.hcl") == 'bucket = "state-1"'
    assert (
        setup.todo == [setup.todo[0]] and f"review and merge pull request #{pull['number']}" in setup.todo[0]
    )
    again = backend_setup(tmp_path, gh, 'bucket = "state-2"\n')
    setup_cloud.step_backend_committed(again)
    assert list(repo.pulls) == [pull["number"]]  # the same pull request, updated
    assert repo.git("show", f"{setup_cloud.BACKEND_BRANCH}:terraform/backend.hcl") == 'bucket = "state-2"'


# --- round 9, T-k: the files setup-cloud reads, named when they cannot be read --------------------


def test_a_codeowners_file_that_is_not_utf8_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_bytes(b"* @caf\xe9-owners\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PATH", str(tmp_path))

    def gh(method: str, path: str, body: Any = None) -> Any:
        raise SettingsError(f"gh api {method} {path}: HTTP 401: Bad credentials")

    setup = Setup("acme/r", [], dry_run=True, root=tmp_path, gh=gh, run=nothing)
    with pytest.raises(SetupError, match=r"CODEOWNERS.*line 1: bytes that are not UTF-8"):
        setup_cloud.setup_cloud(setup)


@pytest.mark.parametrize("kind", ["latin-1", "fifo"])
def test_a_backend_file_that_cannot_be_read_is_named(tmp_path: Path, kind: str) -> None:
    import os

    path = setup_cloud.backend_file(tmp_path)
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)  # would block a plain read for ever
    else:
        path.write_bytes(b'bucket = "caf\xe9"\n')
    with pytest.raises(
        SetupError, match=rf"{path.name} \(the Terraform backend file make bootstrap writes\)"
    ):
        setup_cloud.state_bucket(tmp_path)
