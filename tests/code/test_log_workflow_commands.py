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


@pytest.mark.parametrize(
    "start", ["::error title=forged::", "  ::warning::", "\u00a0::add-mask::", "::stop-commands::t"]
)
def test_a_line_of_a_message_never_starts_a_workflow_command_in_a_ci_job(start, monkeypatch, capsys) -> None:
    """R14A-12: a name holding a line break put `::error title=forged::...` at the start of a log
    line, which the runner reads as a command once leading blanks are trimmed."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    cli.log(f"error: data/raw/x\n{start}the gate passed\n.csv: missing column 'text'")
    lines = capsys.readouterr().err.splitlines()
    assert not any(line.strip().startswith("::") for line in lines), lines
    assert "the gate passed" in lines[1]


def test_prepare_refuses_a_data_file_whose_name_holds_a_line_break(tmp_path, monkeypatch) -> None:
    from pathlib import Path

    from textclf.pipeline.prepare import DataError, data_files

    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data/raw"
    raw.mkdir(parents=True)
    (raw / "x\n::error title=forged::the gate passed\n.csv").write_text("text,label\na,b\n")
    with pytest.raises(DataError) as refused:
        data_files(Path("data/raw"))
    assert str(refused.value) == (
        "data/raw: holds 'x\\n::error title=forged::the gate passed\\n.csv', a name with a line break or "
        "another control character; rename it with letters, digits, spaces, - _ . only"
    )
