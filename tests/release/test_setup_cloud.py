"""`make setup-cloud`'s own rules, quickly: what it needs is checked before anything is touched and
every missing requirement is named at once; variables are created, changed or left as they are,
and a dry run writes none. The whole command, from an empty local cloud and fake GitHub to a second
run that changes nothing, runs in the release rehearsal (tests/e2e, scenario 0)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from textclf.release import setup_cloud
from textclf.release.github_settings import SettingsError
from textclf.release.setup_cloud import Setup, SetupError

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/text-classifier"


class Variables:
    """The variables endpoints of GitHub's REST API, as `gh api` calls them."""

    def __init__(self, existing: dict[str, str]) -> None:
        self.values = dict(existing)
        self.writes: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if method == "GET":
            return {"variables": [{"name": k, "value": v} for k, v in self.values.items()]}
        self.writes.append((method, path, body))
        assert body is not None
        self.values[body["name"]] = body["value"]
        return {}


def no_make(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
    raise AssertionError(f"nothing may run before the requirements are met: {args}")


def test_every_missing_requirement_is_named_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".github").mkdir()
    shutil.copy(ROOT / ".github" / "CODEOWNERS", tmp_path / ".github" / "CODEOWNERS")  # @OWNER still
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform, no docker

    def gh(method: str, path: str, body: Any = None) -> Any:
        raise SettingsError(f"gh api {method} {path}: HTTP 401: Bad credentials")

    setup = Setup(REPO, [], dry_run=False, root=tmp_path, gh=gh, run=no_make)
    with pytest.raises(SetupError) as refused:
        setup_cloud.setup_cloud(setup)
    message = str(refused.value)
    assert message.startswith("nothing was changed")
    for named in (
        "@OWNER/release-owners",
        "AWS credentials",
        "terraform",
        "gh: cannot read",
        "docker",
        "data.dvc",
    ):
        assert named in message, named
    assert setup.steps == []


def test_a_plan_without_branch_protection_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_cloud, "aws_identity", lambda: "account 1 as admin")

    def gh(method: str, path: str, body: Any = None) -> Any:
        if path == f"repos/{REPO}":
            return {
                "visibility": "private",
                "owner": {"login": "acme", "type": "Organization"},
                "permissions": {"admin": True},
            }
        return {"login": "acme", "plan": {"name": "free"}}

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(command, 0, "", "")

    setup = Setup(REPO, [], dry_run=True, root=ROOT, gh=gh, run=run)
    with pytest.raises(SetupError, match="offers no branch protection"):
        setup_cloud.requirements(setup)


@pytest.mark.parametrize("dry_run", [False, True])
def test_variables_are_created_changed_or_left(dry_run: bool) -> None:
    gh = Variables({"AWS_REGION": "us-east-1", "DATA_BUCKET": "old-bucket", "UNRELATED": "kept"})
    setup = Setup(REPO, [], dry_run=dry_run, root=ROOT, gh=gh, run=no_make)
    wanted = setup_cloud.wanted_variables(
        {
            "region": "us-east-1",
            "data_bucket": "new-bucket",
            "pr_role_arn": "arn:aws:iam::1:role/pr",
            "ecs": None,
        }
    )
    setup_cloud.step_variables(setup, "staging", wanted)
    step = setup.steps[-1]
    assert step.name == "staging environment variables"
    assert "create AWS_PR_ROLE_ARN" in step.detail and "change DATA_BUCKET" in step.detail
    assert "1 as they were" in step.detail
    if dry_run:
        assert step.outcome == "would change" and gh.writes == []
    else:
        assert step.outcome == "changed"
        assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in gh.writes] == [
            ("POST", "variables"),
            ("PATCH", "DATA_BUCKET"),
        ]
        assert gh.writes[0][1] == f"repos/{REPO}/environments/staging/variables"
        assert gh.values["UNRELATED"] == "kept"
        setup_cloud.step_variables(setup, "staging", wanted)
        assert setup.steps[-1].outcome == "unchanged"


def test_production_infra_gets_productions_variables_and_staging_its_own() -> None:
    """release.yml's production-infra job (production's apply and images, in an environment of its
    own so production's reviewers do not hold it) reads production's release role and region."""

    class PerPath:
        def __init__(self) -> None:
            self.sets: dict[str, dict[str, str]] = {}

        def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            where = self.sets.setdefault(
                path.split("?")[0].removesuffix("/" + (body or {}).get("name", "")), {}
            )
            if method == "GET":
                return {"variables": [{"name": k, "value": v} for k, v in where.items()]}
            assert body is not None
            where[body["name"]] = body["value"]
            return {}

    gh = PerPath()
    setup = Setup(REPO, [], dry_run=False, root=ROOT, gh=gh, run=no_make)
    outputs = {
        env: {"region": "us-east-1", "release_role_arn": f"arn:aws:iam::1:role/{env}-release"}
        for env in ("production", "staging")
    }
    setup.outputs = outputs
    setup_cloud.step_every_variable_set(setup)
    environments = f"repos/{REPO}/environments"
    role = {path: values.get("AWS_RELEASE_ROLE_ARN") for path, values in gh.sets.items()}
    assert role == {
        f"repos/{REPO}/actions/variables": "arn:aws:iam::1:role/production-release",
        f"{environments}/production/variables": "arn:aws:iam::1:role/production-release",
        f"{environments}/production-infra/variables": "arn:aws:iam::1:role/production-release",
        f"{environments}/staging/variables": "arn:aws:iam::1:role/staging-release",
    }
    assert [step.name for step in setup.steps] == [
        "repository variables",
        "production environment variables",
        "production-infra environment variables",
        "staging environment variables",
    ]


def test_a_dry_run_before_production_infra_exists_plans_its_variables() -> None:
    """An account set up before production-infra existed: the dry run plans its variables instead
    of failing on the environment GitHub does not have yet (404)."""

    def gh(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert method == "GET", "a dry run writes nothing"
        if "/environments/production-infra/" in path:
            raise SettingsError(f"gh api {method} {path}: Not Found (HTTP 404)")
        return {"variables": []}

    setup = Setup(REPO, [], dry_run=True, root=ROOT, gh=gh, run=no_make)
    setup.outputs = {env: {"region": "us-east-1"} for env in ("production", "staging")}
    setup_cloud.step_every_variable_set(setup)
    (step,) = [step for step in setup.steps if step.name == "production-infra environment variables"]
    assert step.outcome == "would change" and "would create AWS_REGION" in step.detail
