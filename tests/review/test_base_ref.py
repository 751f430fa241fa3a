"""`--base` of the gate and the report: the note names the base that was read (not always `main`),
and a base that is empty, an option or not a branch gets a message that says what to pass, never
a `git fetch` line that cannot work (`origin :`) or that a shell would expand."""

from __future__ import annotations

import json

import pytest

from textclf import cli


def test_the_note_names_the_base_that_was_compared(pr_repo, no_aws, capsys):
    assert cli.main(["gate", "--champion", "main", "--base", "HEAD"]) == 0

    verdict = json.loads((pr_repo.root / "reports/gate.json").read_text(encoding="utf-8"))
    note = verdict["notes"][0]
    assert "compared with HEAD's committed metrics (HEAD:metrics/eval.json)" in note  # before: main's
    assert "main's" not in note


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("", "--base is empty: pass the branch the pull request merges into, e.g. --base main"),
        ("   ", "--base is empty"),
        ("--help", "--base '--help' is an option, not a git ref"),
        ("main..HEAD", "git ref 'main..HEAD' is not a commit of this repository (--base)"),
        ("HEAD~99", "git ref 'HEAD~99' is not a commit of this repository (--base)"),
        (
            "release",
            "git ref 'release' not found: fetch it first (git fetch --depth=1 origin release:release)",
        ),
        ("$(id)", "fetch it first (git fetch --depth=1 origin '$(id):$(id)')"),
    ],
)
def test_a_base_that_names_no_commit_says_what_to_pass(pr_repo, no_aws, capsys, base, message):
    assert cli.main(["gate", "--champion", "main", f"--base={base}"]) == 2

    err = capsys.readouterr().err
    assert message in err, err
    assert "origin :" not in err and "Traceback" not in err
