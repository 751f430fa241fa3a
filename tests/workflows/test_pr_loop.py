"""The pr workflow's loop: a docs-only PR does not train, training waits for lint and the fast tests
only (the slow suite runs beside it), credentials last for the training job, and a cancelled or
failed run stops its job. The make targets run for real; the workflow file is checked for the wiring."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def load_pr() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/pr.yml").read_text(encoding="utf-8"))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for path in ("README.md", "docs/guide.md", "src/app.py", "params.yaml"):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("v1\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return repo


def needs_training(repo: Path, changed: list[str]) -> subprocess.CompletedProcess:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "-q", "-c", f"pr-{len(changed)}-{abs(hash(tuple(changed)))}")
    for path in changed:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("v2\n", encoding="utf-8")
    if changed:
        git(repo, "add", ".")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "change")
    return run_needs_training(repo, base)


def run_needs_training(repo: Path, base: str) -> subprocess.CompletedProcess:
    # The Makefile of this repository, diffing the PR's history (GIT_DIR points git at it).
    env = {**os.environ, "GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "needs-training", f"BASE={base}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("changed", "trains"),
    [
        (["docs/guide.md"], False),
        (["README.md", "docs/new/page.md"], False),
        (["src/app.py"], True),
        (["docs/guide.md", "params.yaml"], True),  # docs and something else: trains
        (["terraform/backend.hcl"], False),  # where the state lives: setup-cloud's pull request
        (["terraform/backend.localcloud.hcl", "docs/infra.md"], False),
        (["terraform/main.tf"], True),
        (["terraform/modules/backend.hcl"], True),  # only the backend files beside the root module
        ([], True),  # nothing to compare: train rather than skip
    ],
)  # fmt: skip
def test_a_docs_only_pr_does_not_train(history, changed, trains):
    done = needs_training(history, changed)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("true" if trains else "false")


@pytest.mark.parametrize(
    ("old", "new", "trains"),
    [
        ("src/app.py", "docs/app.py", True),
        ("params.yaml", "docs/params.md", True),
        ("src/app.py", "deploy/app.py", True),
        ("docs/guide.md", "docs/moved.md", False),  # a page moved within the docs: still docs only
    ],
)  # fmt: skip
def test_a_moved_file_counts_by_both_its_paths(history, old, new, trains):
    # Moving code into docs/ is not a docs-only change (issue 27: git lists a rename by its new path).
    (history / old).write_text("".join(f"line {i}\n" for i in range(40)), encoding="utf-8")
    git(history, "add", ".")
    git(history, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "longer")
    base = git(history, "rev-parse", "HEAD")
    (history / new).parent.mkdir(parents=True, exist_ok=True)
    git(history, "mv", old, new)
    git(history, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "move")
    assert git(history, "diff", "--name-only", f"{base}...HEAD") == new  # git's default: the new path only
    done = run_needs_training(history, base)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("true" if trains else "false")


def test_an_unknown_base_is_an_error_not_a_skipped_training(history):
    done = run_needs_training(history, "0" * 40)
    assert done.returncode != 0 and "fetch the base commit" in done.stderr


def test_training_waits_for_the_fast_checks_only_and_merging_needs_both():
    jobs = load_pr()["jobs"]
    checks, slow, train = jobs["checks"], jobs["slow-tests"], jobs["train"]
    runs = [step.get("run", "") for step in checks["steps"]]
    assert "make lint" in runs and "make test-fast" in runs and "make test" not in runs
    assert slow["needs"] == "checks" and "make test-slow" in [s.get("run") for s in slow["steps"]]
    # Beside lint and both test jobs, after the light `changes` job (branch protection needs all).
    assert train["needs"] == "changes"
    assert "needs.changes.outputs.train == 'true'" in train["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in train["if"]
    names = {checks["name"], slow["name"], train["name"]}
    text = (REPO / "docs/workflows.md").read_text(encoding="utf-8")
    for name in names:  # branch protection requires each by its check name
        assert f"`{name}`" in text, f"docs/workflows.md: branch protection must name the check {name!r}"


def test_the_session_covers_the_job_and_a_cancelled_run_stops_its_job():
    train = load_pr()["jobs"]["train"]
    steps = train["steps"]
    session = next(s for s in steps if s.get("id") == "session")
    # An assignment first: a failing make inside echo's argument would not fail the step.
    assert (
        session["run"] == 'value="$(make -s pr-session-seconds)"\necho "seconds=$value" >> "$GITHUB_OUTPUT"\n'
    )
    aws = next(s for s in steps if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"]["role-duration-seconds"] == "${{ steps.session.outputs.seconds }}"
    assert steps.index(session) < steps.index(aws)
    # The job is not cut off before the session params.yaml needs ends; 360 min is GitHub-hosted
    # runners' limit for any job ("Usage limits" of GitHub Actions).
    needed = subprocess.run(
        ["make", "-s", "--no-print-directory", "pr-session-seconds"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(needed.stdout) / 60 <= train["timeout-minutes"] <= 360
    stop = next(s for s in steps if s.get("run") == "make stop-training")
    assert stop["if"] == "cancelled() || failure()"
    assert steps.index(stop) > steps.index(aws)
    assert train["env"]["TEXTCLF_LOOP_STARTED_AT"] == "${{ needs.changes.outputs.started_at }}"


def test_the_train_job_checks_out_the_head_of_its_merge_commit_only(history):
    """make pr-head: after the run's merge commit (GITHUB_SHA), the PR head, its second parent; any
    other commit is refused (the training-run function trains and publishes that head only)."""
    author = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    git(history, "switch", "-q", "-c", "feature")
    (history / "src/app.py").write_text("v2\n", encoding="utf-8")
    git(history, *author, "commit", "-qam", "change")
    head = git(history, "rev-parse", "HEAD")
    git(history, "switch", "-q", "main")
    git(history, *author, "merge", "-q", "--no-ff", "-m", "merge", "feature")
    merge = git(history, "rev-parse", "HEAD")

    def pr_head(commit: str) -> subprocess.CompletedProcess:
        # The Makefile of this repository, on the PR's history (GIT_DIR points git at it).
        env = {**os.environ, "GIT_DIR": str(history / ".git"), "GIT_WORK_TREE": str(history)}
        env.update(COMMIT=commit, GITHUB_SHA=merge)
        return subprocess.run(
            ["make", "-s", "--no-print-directory", "pr-head"],
            cwd=REPO,
            timeout=60,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    base = git(history, "rev-parse", f"{merge}^1")
    refused = pr_head(base)
    assert refused.returncode == 2 and f"is not the merge of {base}" in refused.stderr
    done = pr_head(head)
    assert done.returncode == 0, done.stderr
    assert git(history, "rev-parse", "HEAD") == head
