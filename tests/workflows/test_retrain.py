"""The retrain workflow's steps on a real git + DVC repository with its remote on the local cloud,
and the PR workflow's data check."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import boto3
import pytest

from tests.workflows.conftest import BIN, DATA, dvc, sample_rows, sh, write_rows
from textclf.config import load_params
from textclf.release import retrain


def put(key: str, path: Path) -> None:
    boto3.client("s3").upload_file(str(path), DATA, key)


def import_now():
    params = load_params()
    return retrain.import_incoming(params.aws.resolved(), params.data)


def test_nothing_incoming_changes_nothing(project: Path) -> None:
    summary = import_now()
    assert not summary.changed
    assert sh("git", "status", "--porcelain", cwd=project).stdout == ""
    assert retrain.open_pr() is None


def test_new_file_is_imported_once(project: Path, tmp_path: Path) -> None:
    put("incoming/2026-11/batch.csv", write_rows(tmp_path / "batch.csv", sample_rows("second")))
    put("incoming/README.txt", write_rows(tmp_path / "readme.txt", []))
    summary = import_now()
    assert summary.new == ["incoming/2026-11/batch.csv"] and summary.skipped == ["incoming/README.txt"]
    assert summary.rows == 24
    imported = project / "data/raw/incoming/2026-11/batch.csv"
    assert imported.read_bytes() == (tmp_path / "batch.csv").read_bytes()
    before = (project / "data.dvc").read_text()
    retrain.commit_and_push()
    assert (project / "data.dvc").read_text() != before
    assert "nfiles: 2" in (project / "data.dvc").read_text()
    # Pushed: a fresh checkout can pull it.
    shutil.rmtree(project / ".dvc/cache")
    shutil.rmtree(project / "data/raw")
    retrain.pull_data()
    assert imported.is_file()
    # A rerun (the weekly schedule) finds nothing new.
    again = import_now()
    assert again.unchanged == ["incoming/2026-11/batch.csv"] and not again.changed


def test_bad_file_is_rejected_with_its_key_and_nothing_moves(project: Path, tmp_path: Path) -> None:
    put("incoming/good.csv", write_rows(tmp_path / "good.csv", sample_rows("third")))
    rows = [*sample_rows("fourth"), ("a message with an unknown label", "warranty")]
    put("incoming/bad.csv", write_rows(tmp_path / "bad.csv", rows))
    with pytest.raises(
        retrain.RetrainError, match=rf"s3://{DATA}/incoming/bad.csv: row 25 .*label 'warranty'"
    ):
        import_now()
    assert not (project / "data/raw/incoming").exists()


def test_pull_data_says_to_push_data_nobody_pushed(project: Path) -> None:
    write_rows(project / "data/raw/more.csv", sample_rows("unpushed"))
    dvc("commit", "-q", "-f", "data.dvc")  # data.dvc changed, no dvc push
    shutil.rmtree(project / ".dvc/cache")
    shutil.rmtree(project / "data/raw")
    result = sh(BIN / "textclf", "pull-data", cwd=project, check=False)
    assert result.returncode == 2
    assert "data.dvc points at data that is not in the DVC remote" in result.stderr
    assert "run `dvc push`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def github(project: Path, tmp_path: Path, monkeypatch) -> Path:
    """A bare repository as `origin`, and a `gh` on PATH that plays GitHub's pull requests (GitHub
    itself is not reachable from tests): `pr create` records its arguments and the PR as open (or is
    refused, like GitHub with the setting off, while $GH_REFUSE exists); `pr list` prints the open
    PRs' URLs."""
    origin = tmp_path / "origin.git"
    sh("git", "init", "-q", "--bare", "-b", "main", origin, cwd=tmp_path)
    sh("git", "remote", "add", "origin", origin, cwd=project)
    sh("git", "push", "-q", "origin", "main", cwd=project)
    tools = tmp_path / "tools"
    tools.mkdir()
    gh = tools / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "pr list" ]; then cat "$GH_OPEN" 2>/dev/null; exit 0; fi\n'
        'if [ -e "$GH_REFUSE" ]; then\n'
        '  echo "pull request create failed: GraphQL: GitHub Actions is not permitted to create or approve'
        ' pull requests (createPullRequest)" >&2; exit 1\n'
        "fi\n"
        'printf "%s\\n" "$@" > "$GH_CALLS"\n'
        'for arg; do [ "$prev" = --body-file ] && cat "$arg" >> "$GH_CALLS"; prev="$arg"; done\n'
        'echo https://github.com/acme/textclf/pull/7 | tee "$GH_OPEN"\n',
        encoding="utf-8",
    )
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_CALLS", str(tmp_path / "gh-calls.txt"))
    monkeypatch.setenv("GH_OPEN", str(tmp_path / "gh-open.txt"))
    monkeypatch.setenv("GH_REFUSE", str(tmp_path / "gh-refuse"))
    return origin


def test_retrain_pr_pushes_a_branch_and_opens_a_pr(project: Path, github: Path, tmp_path: Path) -> None:
    put("incoming/batch.csv", write_rows(tmp_path / "batch.csv", sample_rows("fifth")))
    result = sh(BIN / "textclf", "retrain-import", cwd=project)
    assert "1 new" in result.stderr
    summary = json.loads((project / ".cache/retrain/import.json").read_text())
    assert summary["changed"] and summary["new"] == ["incoming/batch.csv"]
    result = sh(BIN / "textclf", "retrain-pr", cwd=project)
    assert "opened https://github.com/acme/textclf/pull/7" in result.stderr
    branch = sh("git", "branch", "--show-current", cwd=project).stdout.strip()
    assert branch.startswith("retrain/")
    assert sh("git", "ls-remote", "--heads", github, branch, cwd=project).stdout.strip()
    changed = sh("git", "show", "--name-only", "--format=", branch, cwd=project).stdout.split()
    assert changed == ["data.dvc"]
    calls = (tmp_path / "gh-calls.txt").read_text().splitlines()
    assert calls[:6] == ["pr", "create", "--base", "main", "--head", branch]
    assert f"s3://{DATA}/incoming/batch.csv" in "\n".join(calls)
    # Run again on main (the PR not merged yet): same data, same branch, no second PR.
    sh("git", "switch", "-q", "main", cwd=project)
    # What a rerun's import writes (unstaged, as `dvc commit` leaves it).
    (project / "data.dvc").write_text(sh("git", "show", f"{branch}:data.dvc", cwd=project).stdout)
    (tmp_path / "gh-calls.txt").unlink()
    assert retrain.open_pr() is None
    assert not (tmp_path / "gh-calls.txt").exists()
    # The PR closed unmerged, branch left: the next run opens a PR for the data again.
    (tmp_path / "gh-open.txt").unlink()
    assert retrain.open_pr() == branch
    assert (tmp_path / "gh-calls.txt").read_text().splitlines()[:6] == calls[:6]


def test_a_refused_pr_is_opened_by_the_next_run_although_the_branch_exists(
    project: Path, github: Path, tmp_path: Path
) -> None:
    """GitHub refuses the PR (the repository setting is off): the run fails saying which setting,
    and the next run, finding the branch pushed but no PR open, opens the PR."""
    put("incoming/batch.csv", write_rows(tmp_path / "batch.csv", sample_rows("sixth")))
    sh(BIN / "textclf", "retrain-import", cwd=project)
    (tmp_path / "gh-refuse").touch()
    result = sh(BIN / "textclf", "retrain-pr", cwd=project, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "Allow GitHub Actions to create and approve pull requests" in result.stderr
    assert "RETRAIN_TOKEN" in result.stderr
    branch = sh("git", "branch", "--show-current", cwd=project).stdout.strip()
    assert sh("git", "ls-remote", "--heads", github, branch, cwd=project).stdout.strip()
    assert not (tmp_path / "gh-calls.txt").exists()

    # The next run starts from main with the same import; the setting has been switched on.
    sh("git", "switch", "-q", "main", cwd=project)
    (project / "data.dvc").write_text(sh("git", "show", f"{branch}:data.dvc", cwd=project).stdout)
    (tmp_path / "gh-refuse").unlink()
    result = sh(BIN / "textclf", "retrain-pr", cwd=project)
    assert "exists on origin without an open pull request" in result.stderr
    assert "opened https://github.com/acme/textclf/pull/7" in result.stderr
    calls = (tmp_path / "gh-calls.txt").read_text().splitlines()
    assert calls[:6] == ["pr", "create", "--base", "main", "--head", branch]


def test_retrain_without_new_data_opens_no_pr(project: Path, github: Path, tmp_path: Path) -> None:
    result = sh(BIN / "textclf", "retrain-import", cwd=project)
    assert "no new data" in result.stderr
    result = sh(BIN / "textclf", "retrain-pr", cwd=project)
    assert "no new data" in result.stderr
    assert not (tmp_path / "gh-calls.txt").exists()
    assert sh("git", "branch", "--show-current", cwd=project).stdout.strip() == "main"
