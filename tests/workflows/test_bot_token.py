"""The bot token (RETRAIN_TOKEN) is an environment secret of the environments whose jobs open pull
requests (retrain, staging, production: deployments from main only), never a repository secret.
GitHub gives an environment's secrets only to jobs that reference it and pass its deployment branch
policy (GitHub Docs, "Using environments for deployment"), so a pull request's workflow, which any
writer can change, reads an empty string. The rehearsal's world gives act the secret the same way
(`World.run_secrets`), and each workflow job that reads it names one of those environments."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from textclf.rehearsal.github import FakeGitHub, Repository, secret_given
from textclf.rehearsal.world import RehearsalError, World
from textclf.release.github_settings import BOT_SECRET, Settings, bot_environments

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAME = "acme/text-classifier"


def repository(tmp_path: Path, repository_secret: bool = False) -> Repository:
    """As `make setup-cloud` leaves it: each bot environment main only, holding the secret."""
    repo = Repository(NAME, tmp_path)
    for environment in bot_environments(Settings(NAME, [])):
        repo.environment_settings[environment] = {
            "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}
        }
        repo.branch_policies[environment] = [{"id": 1, "name": "main", "type": "branch"}]
        repo.environment_secrets[environment] = {BOT_SECRET}
    if repository_secret:
        repo.secrets.add(BOT_SECRET)
    return repo


def world(repo: Repository) -> Any:
    """What World.run_secrets reads of the world: the fake GitHub's repository and its tokens."""
    return types.SimpleNamespace(repo=repo, github=FakeGitHub(repo))


def write(tmp_path: Path, jobs: dict[str, Any]) -> Path:
    path = tmp_path / "w.yml"
    path.write_text(yaml.safe_dump({"on": "push", "jobs": jobs}), encoding="utf-8")
    return path


READER = {
    "runs-on": "ubuntu-latest",
    "steps": [{"run": "gh pr create", "env": {"T": "${{ secrets.RETRAIN_TOKEN }}"}}],
}


def test_a_pull_request_job_that_asks_for_the_token_gets_an_empty_value(tmp_path: Path) -> None:
    """A writer's branch adds a job that reads the token (pull_request: refs/pull/<n>/merge): as a
    repository secret GitHub would give it; as an environment secret it gets nothing, with or
    without naming the environment (the branch policy admits main only)."""
    repo = repository(tmp_path)
    for job in (READER, {**READER, "environment": "staging"}):
        workflow = write(tmp_path, {"steal": job})
        assert World.run_secrets(world(repo), workflow, "steal", "refs/pull/7/merge") == {}
        assert World.run_secrets(world(repo), workflow, "steal", "refs/heads/feature") == {}
    old = repository(tmp_path, repository_secret=True)  # how the template kept it before
    assert BOT_SECRET in World.run_secrets(
        world(old), write(tmp_path, {"steal": READER}), "steal", "refs/pull/7/merge"
    )


@pytest.mark.parametrize(
    ("workflow", "job"),
    [("release.yml", "staging"), ("release.yml", "production"), ("retrain.yml", "pull-request")],
)
def test_the_jobs_that_open_pull_requests_get_it_on_main(tmp_path: Path, workflow: str, job: str) -> None:
    repo = repository(tmp_path)
    given = World.run_secrets(world(repo), WORKFLOWS / workflow, job, "refs/heads/main")
    assert set(given) == {BOT_SECRET} and given[BOT_SECRET].startswith("github_pat_")


def test_a_run_mixing_jobs_given_and_refused_the_secret_is_refused(tmp_path: Path) -> None:
    """act gives a run's secrets to all its jobs: such jobs must be separate act runs."""
    jobs = {"open": {**READER, "environment": "retrain"}, "other": {**READER, "needs": "open"}}
    with pytest.raises(RehearsalError, match="separate act runs"):
        World.run_secrets(world(repository(tmp_path)), write(tmp_path, jobs), "other", "refs/heads/main")


def test_every_job_that_reads_the_token_is_bound_to_a_bot_environment() -> None:
    """Else it would read an empty string on GitHub (an environment secret), or need the token as a
    repository secret, which every pull request's workflow could read."""
    allowed = set(bot_environments(Settings(NAME, [])))
    readers = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert "secrets.RETRAIN_TOKEN" not in str({k: v for k, v in definition.items() if k != "jobs"})
        for name, job in definition["jobs"].items():
            if "secrets.RETRAIN_TOKEN" in str(job):
                readers.append(f"{path.name} {name}")
                assert job.get("environment") in allowed, f"{path.name}: job {name} reads RETRAIN_TOKEN"
                # A job bound to a bot environment on main is the only one; it takes no AWS role
                # unless its environment's own roles trust it (staging, production).
                if job.get("environment") == "retrain":
                    assert "id-token" not in (job.get("permissions") or {})
    assert sorted(readers) == ["release.yml production", "release.yml staging", "retrain.yml pull-request"]


def test_secret_given_follows_the_environment_and_its_branch_policy(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    workflow = {"jobs": {"a": {"environment": {"name": "retrain"}}, "b": {"environment": "batch"}, "c": {}}}
    assert secret_given(repo, BOT_SECRET, workflow, "a", "refs/heads/main")
    assert not secret_given(repo, BOT_SECRET, workflow, "a", "refs/heads/mainly")
    assert not secret_given(repo, BOT_SECRET, workflow, "b", "refs/heads/main")  # not its environment's
    assert not secret_given(repo, BOT_SECRET, workflow, "c", "refs/heads/main")  # no environment
