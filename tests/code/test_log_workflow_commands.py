"""In a CI job a logged message quoting someone else's text (a file name, an S3 key, a label) cannot
be a GitHub workflow command: the runner reads `##[...]` anywhere in a line (issue 27, round 10, R-e)."""

from __future__ import annotations

import pytest

from textclf import cli

QUOTED = "s3://b/incoming/##[error title=Security notice]rotate the token.csv: not imported"


@pytest.mark.parametrize(("actions", "shown"), [("true", "## [error"), ("", "##[error")])
def test_a_quoted_workflow_command_is_broken_in_a_ci_job_only(actions, shown, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", actions)
    cli.log(QUOTED)
    err = capsys.readouterr().err
    assert shown in err
    assert (cli.WORKFLOW_COMMAND not in err) is (actions == "true")
