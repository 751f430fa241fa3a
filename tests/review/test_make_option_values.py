"""make passes a variable's value to an option in one word (R13A-6): `--base "$$REPORT_BASE"` handed
REPORT_BASE=-x to argparse as an option of its own ("argument --base: expected one argument", naming
an option the user never typed), CHAMPION= was "invalid choice: ''", and a 5,000-character
--commit-sha was echoed whole. Now every recipe writes `--option="$$VAR"`, an empty CHAMPION is the
default, and the messages name the make variable and cut a long value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from textclf import cli
from textclf.review import report

REPO = Path(__file__).resolve().parents[2]
TWO_WORDS = re.compile(r'(?<![\w-])--[a-z][a-z-]* "\$\$')


def recipe_lines() -> list[tuple[str, int, str]]:
    found = []
    for path in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("\t") or line.startswith("\t\t"):
                found.append((path.name, number, line))
    return found


def ours(line: str) -> list[str]:
    """The parts of a recipe line that run textclf or one of the repository's Python scripts (not
    git, docker or checkov, whose options are theirs)."""
    return [part for part in re.split(r"\|\|?|&&|;", line) if "textclf" in part or "$(BIN)/python " in part]


def test_every_recipe_passes_a_variables_value_to_our_options_in_one_word() -> None:
    lines = [(name, number, part) for name, number, line in recipe_lines() for part in ours(line)]
    assert len(lines) > 20
    split = [f"{name}:{number}: {part.strip()}" for name, number, part in lines if TWO_WORDS.search(part)]
    # batch-cancel passes the job file only when `[ -f ... ]` found it (a file, never an option), and
    # tests/workflows/test_batch_cancel_step.py pins that command line.
    split = [line for line in split if not line.startswith("batch.mk") or "batch-stop --job-file" not in line]
    assert not split, "\n".join(split)


@pytest.mark.parametrize(
    ("base", "said"),
    [
        (
            "-x",
            "--base '-x' is an option, not a git ref: pass a branch, e.g. --base main "
            "(make: REPORT_BASE=main)",
        ),
        (
            "",
            "--base is empty: pass the branch the pull request merges into, e.g. --base main "
            "(make: REPORT_BASE=main)",
        ),
    ],
)
def test_a_base_make_passed_names_the_make_variable(pr_repo, no_aws, capsys, base, said) -> None:
    assert cli.main(["gate", "--champion=main", f"--base={base}"]) == 2
    assert said in capsys.readouterr().err


def test_a_long_commit_sha_is_cut_in_the_message() -> None:
    with pytest.raises(report.ReportError) as error:
        report.head_commit("a x" * 2000)
    message = str(error.value)
    assert len(message) < 200 and "(6,000 characters)" in message and "make: COMMIT=" in message
