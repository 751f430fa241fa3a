"""`textclf retrain-pr` on an import summary it did not expect (issue 27, round 8, T-d): a truncated,
non-object, wrongly typed or non-UTF-8 .cache/retrain/import.json ended in a JSONDecodeError,
AttributeError, TypeError or UnicodeDecodeError traceback. It is named, with what to run, before
any branch is made or pushed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from textclf.release import retrain

DVC = "outs:\n- md5: {}.dir\n  path: raw\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository whose data.dvc differs from its commit, as after an import."""
    monkeypatch.chdir(tmp_path)
    Path("data.dvc").write_text(DVC.format("0" * 32))
    for command in (["init", "-q", "-b", "main"], ["add", "data.dvc"]):
        subprocess.run(["git", *command], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "data"], check=True
    )
    Path("data.dvc").write_text(DVC.format("1" * 32))
    Path(".cache/retrain").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize(
    "content",
    [
        b'{"new":',
        b"[1,2]",
        b'{"new": 5}',
        b"\xff",
        b'{"bucket": "b", "new": [5]}',
        b'{"new": []}',
        b'{"bucket": "b", "rows": "12"}',
        b"[" * 100_000,
    ],
)
def test_a_summary_it_did_not_write_is_named_before_any_branch(repo: Path, content: bytes) -> None:
    Path(".cache/retrain/import.json").write_bytes(content)
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.open_pr()
    message = str(refused.value)
    assert message.startswith(".cache/retrain/import.json: not the summary retrain-import writes ("), message
    assert message.endswith("run textclf retrain-import again")
    branch = subprocess.run(["git", "branch", "--show-current"], capture_output=True, text=True).stdout
    assert branch.strip() == "main"


def test_the_summary_retrain_import_writes_is_read(repo: Path) -> None:
    summary = retrain.ImportSummary(bucket="b", new=["incoming/a.csv"], rows=3)
    retrain.write_summary(summary)
    assert retrain.read_summary() == json.loads(Path(".cache/retrain/import.json").read_text())
    assert retrain.read_summary(Path("missing.json")) == {}


@pytest.mark.parametrize("base", ["main.lock", "main/", "a//b", "-main", "", "x..y"])
def test_a_base_git_refuses_as_a_branch_name_is_refused_first(repo: Path, base: str) -> None:
    """Round 8, U-r2: main.lock and main/ reached GitHub, whose refusal came with the permission hint."""
    with pytest.raises(retrain.RetrainError, match=r"is not a branch name"):
        retrain.open_pr(base=base)


def test_the_body_goes_in_a_file_and_a_refusal_is_not_blamed_on_the_permission(
    repo: Path, tmp_path: Path, monkeypatch
) -> None:
    """Round 8, U-r1: the body was one argument (past the kernel's limit with many keys), and any
    refusal of `gh pr create` came with the advice about the Actions setting."""
    tools = tmp_path / "tools"
    tools.mkdir()
    calls = tmp_path / "gh-calls"
    gh = tools / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "pr list" ] && exit 0\n'
        f"printf '%s\\n' \"$@\" > '{calls}'\n"
        "echo 'pull request create failed: GraphQL: Body is too long (maximum is 65536 characters)' >&2\n"
        "exit 1\n",
        encoding="utf-8",
    )
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    keys = ["incoming/" + "x" * 150 + f"{i}.csv" for i in range(1200)]
    Path(".cache/retrain/import.json").write_text(json.dumps({"bucket": "b", "new": keys, "rows": 3}))
    monkeypatch.setattr(retrain, "run", _no_push(retrain.run))
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.open_pr()
    assert "Body is too long" in str(refused.value) and "Allow GitHub Actions" not in str(refused.value)
    arguments = calls.read_text().splitlines()
    assert "--body-file" in arguments and "--body" not in arguments
    assert max(len(argument) for argument in arguments) < 1000


def _no_push(run):
    """`run` with `git push` (there is no remote here) and `git ls-remote` answered as for a new branch."""

    def fake(command, check=True):
        if command[:2] == ["git", "push"]:
            return subprocess.CompletedProcess(command, 0, "", "")
        if command[:2] == ["git", "ls-remote"]:
            return subprocess.CompletedProcess(command, 2, "", "")
        return run(command, check)

    return fake
