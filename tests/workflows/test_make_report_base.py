"""`make gate REPORT_BASE=HEAD` on a branch compared the model with itself: the champion read from
the base was the workspace's own metrics/eval.json, so the champion check passed whatever the model
(issue 27, round 8, the tester's question). make gate, report, champion and summary refuse a base
that is HEAD's commit while main is elsewhere and the metrics are HEAD's, saying which base to use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.workflows.makerun import run_make


def git(repo: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def branch(tmp_path: Path) -> Path:
    """main with one commit of metrics; branch `work` one commit ahead with other metrics, checked out."""
    repo = tmp_path / "repo"
    (repo / "metrics").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Tester")
    git(repo, "config", "user.email", "tester@example.com")
    (repo / "metrics" / "eval.json").write_text('{"accuracy": 0.9}\n')
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main's model")
    git(repo, "checkout", "-q", "-b", "work")
    (repo / "metrics" / "eval.json").write_text('{"accuracy": 0.5}\n')
    git(repo, "commit", "-q", "-am", "a worse model")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "textclf").write_text('#!/bin/sh\necho "textclf ran: $*"\n')
    (fake / "textclf").chmod(0o755)
    return repo


def make_in(repo: Path, target: str, base: str, champion: str = "main") -> subprocess.CompletedProcess:
    env = {
        "GIT_DIR": str(repo / ".git"),
        "GIT_WORK_TREE": str(repo),
        "REPORT_BASE": base,
        "CHAMPION": champion,
    }
    return run_make("-s", target, f"BIN={repo.parent / 'bin'}", env=env)


@pytest.mark.parametrize("target", ["gate", "report", "champion", "summary"])
@pytest.mark.parametrize("base", ["HEAD", "work", "sha"])
def test_a_base_that_is_head_is_refused_naming_the_base_to_use(branch: Path, target: str, base: str) -> None:
    head, main = git(branch, "rev-parse", "HEAD"), git(branch, "rev-parse", "main")
    base = head if base == "sha" else base
    result = make_in(branch, target, base)
    assert result.returncode == 2, result.stdout
    assert "textclf ran" not in result.stdout
    assert f"REPORT_BASE '{base}' is this checkout's HEAD ({head[:12]})" in result.stderr, result.stderr
    assert "the gate would compare the model with itself" in result.stderr
    assert f"(main, the default, at {main[:12]}), or HEAD~1" in result.stderr


@pytest.mark.parametrize(
    ("base", "champion", "edit"),
    [
        ("main", "main", False),  # the default
        ("HEAD~1", "main", False),
        ("HEAD", "bucket", False),  # production's metrics are the champion
        ("HEAD", "main", True),  # a new run not yet committed, compared with the last commit
    ],
)
def test_other_bases_run(branch: Path, base: str, champion: str, edit: bool) -> None:
    if edit:
        (branch / "metrics" / "eval.json").write_text('{"accuracy": 0.7}\n')
    result = make_in(branch, "gate", base, champion)
    assert result.returncode == 0, result.stderr
    # One word per option and value (ba4dcd6): a value starting with "-" stays the option's value.
    assert f"textclf ran: gate --base={base} --champion={champion}" in result.stdout


def test_on_main_the_default_base_is_head_and_runs(branch: Path) -> None:
    git(branch, "checkout", "-q", "main")
    for base in ("main", "HEAD"):
        assert make_in(branch, "gate", base).returncode == 0


def test_make_repro_refuses_such_a_base_before_it_runs_the_pipeline(branch: Path) -> None:
    """make repro ends with the summary, judged against REPORT_BASE: refused first, before a long
    run is wasted (review of round 9, F10: the summary in repro was not guarded)."""
    for tool in ("dvc", "python"):
        (branch.parent / "bin" / tool).write_text('#!/bin/sh\necho "$0 ran: $*"\n')
        (branch.parent / "bin" / tool).chmod(0o755)
    env = {
        "GIT_DIR": str(branch / ".git"),
        "GIT_WORK_TREE": str(branch),
        "REPORT_BASE": "HEAD",
        "CHAMPION": "main",
    }
    skip = ("-o", ".venv/.installed", "-o", "data")  # no install, no data step: the recipe only

    refused = run_make("-s", *skip, "repro", f"BIN={branch.parent / 'bin'}", env=env)
    allowed = run_make(
        "-s", *skip, "repro", f"BIN={branch.parent / 'bin'}", env={**env, "REPORT_BASE": "main"}
    )

    assert refused.returncode == 2 and "ran" not in refused.stdout, refused.stdout
    assert "the gate would compare the model with itself" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert "textclf ran: summary --base=main --champion=main" in allowed.stdout
