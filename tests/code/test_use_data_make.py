"""`make use-data` as a newcomer types it: its errors name the make variables typed (TEXT=, LABEL=,
LABELS=, FORCE=1), not the command's options, and it says that make repro runs now instead of
listing it as a next step. Real make, the project's Makefile, git and DVC in a fresh clone's data
side (tests/code/test_use_data.py's `clone`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.code.test_use_data import USE, clone, textclf  # noqa: F401 (clone: the fixture)
from textclf import cli

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
OPTIONS = ("--text-column", "--label-column", "--labels", "--force")


def make_use_data(root: Path, *variables: str) -> subprocess.CompletedProcess:
    """The Makefile's use-data recipe in `root`. Its .venv is a stand-in holding `textclf` (this
    checkout's, through this interpreter) and `dvc`, nothing else: `-o` keeps make from installing
    into it, and a use-data that succeeds stops at the recipe's `make repro` (no Makefile in the
    clone; a sub-make does not inherit `-o`, and could otherwise reinstall a real venv)."""
    tools = root / ".venv/bin"
    if not tools.is_dir():
        tools.mkdir(parents=True)
        (tools / "textclf").write_text(
            f'#!/bin/sh\nPYTHONPATH="{SRC}" exec "{sys.executable}" -m textclf.cli "$@"\n', encoding="utf-8"
        )
        (tools / "textclf").chmod(0o755)
        (tools / "dvc").symlink_to(Path(sys.executable).parent / "dvc")
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env.pop(cli.USE_DATA_VIA_MAKE, None)
    return subprocess.run(
        [
            *("make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-o", ".venv/.installed"),
            *("use-data", "FILE=../mine/spam.jsonl", *variables),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )


def unfolded(stderr: str) -> str:
    """The messages as logged: a line folded at 100 columns continues as `[textclf]     ...`."""
    return stderr.replace("\n[textclf]     ", " ")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            ("TEXT=text", "LABEL=kind"),
            "../mine/spam.jsonl: row 1 (line 1): no 'text' key (name the text column with TEXT=)",
        ),
        (("TEXT=body", "LABEL=body"), "TEXT= and LABEL= both name 'body': give two columns"),
        (
            ("TEXT=body", "LABEL=kind", "LABELS=spam"),
            "12 rows have labels not in LABELS=: 'ham' (row 13 (line 13), row 14 (line 14), row 15 "
            "(line 15), row 16 (line 16), row 17 (line 17) and 7 more); add it to LABELS=, or fix those "
            "rows",
        ),
        (
            ("TEXT=body", "LABEL=kind", "LABELS=spam,ham,eggs"),
            "../mine/spam.jsonl: LABELS= 'eggs' have no rows in the file",
        ),
        # TASK= reaches the command as --task: its rule names the variable (issue 29).
        (("TEXT=body", "LABEL=kind", "TASK=Spam Filter"), "TASK= 'Spam Filter': "),
        # A value starting with '-' is the option's value, not another option (round 10, U-r10-4).
        (("TEXT=--oops", "LABEL=kind"), "no '--oops' key (name the text column with TEXT=)"),
        (("TEXT=body", "LABEL=kind", "TASK=-x"), "TASK= '-x': "),
    ],
)
def test_make_use_data_errors_name_the_make_variables(clone, variables, expected):  # noqa: F811
    done = make_use_data(clone, *variables)

    assert done.returncode == 2
    wide = [line for line in done.stderr.splitlines() if line.startswith("[textclf]") and len(line) > 100]
    assert not wide, "wider than 100 columns:\n" + "\n".join(wide)
    assert expected in unfolded(done.stderr)
    assert not [option for option in OPTIONS if option in done.stderr], done.stderr
    assert "Traceback" not in done.stderr


def test_files_it_did_not_write_are_kept_unless_force_1(clone):  # noqa: F811
    (clone / "data/raw/extra.csv").write_text("body,kind\nhello,ham\n", encoding="utf-8")

    done = make_use_data(clone, "TEXT=body", "LABEL=kind")

    assert done.returncode == 2
    assert max(len(line) for line in done.stderr.splitlines() if line.startswith("[textclf]")) <= 100
    assert "in no DVC cache, so FORCE=1 would delete them for good: move them out" in unfolded(done.stderr)
    assert "--force" not in done.stderr


def test_the_command_itself_still_names_its_options(clone):  # noqa: F811
    done = textclf(clone, "use-data", "../mine/spam.jsonl", "--text-column", "text", "--label-column", "kind")

    assert done.returncode == 2
    assert "no 'text' key (name the text column with --text-column)" in unfolded(done.stderr)


def test_through_make_it_says_make_repro_runs_now(clone, monkeypatch):  # noqa: F811
    # The recipe runs make repro after it (a real training): here the command as the recipe calls it.
    monkeypatch.setenv(cli.USE_DATA_VIA_MAKE, "1")

    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    lines = [line.removeprefix("[textclf] ") for line in done.stderr.splitlines()]
    at = lines.index("make repro runs now: prepare, train, evaluate; the gate says if this is a new task")
    # The steps to keep the result come last, with make repro's summary (tests/code/test_newcomer_output.py).
    assert lines[at + 1 :] == ["its summary ends with the steps to keep the result"]
    assert "next:" not in lines


def test_run_by_hand_make_repro_is_the_next_step(clone):  # noqa: F811
    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    lines = [line.removeprefix("[textclf] ") for line in done.stderr.splitlines()]
    at = lines.index("next:")
    assert lines[at + 2].startswith("  make repro             # prepare, train, evaluate")
    assert not any("runs now" in line for line in lines)


def test_the_recipe_tells_the_command_it_runs_under_make():
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("\nuse-data:", 1)[1].split("\n\n", 1)[0]

    assert f"{cli.USE_DATA_VIA_MAKE}=1 $(BIN)/textclf use-data" in recipe
    assert "$(MAKE) --no-print-directory repro" in recipe
