"""`make champion CHAMPION=Main` (or gate, report, summary) was answered by argparse's "argument
--champion: invalid choice: 'Main' (choose from 'auto', 'bucket', 'main')": an option the user never
typed, and not the make variable to set (R13A-6). The refusal names CHAMPION= and its values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import textclf
from textclf import cli

REPO = Path(__file__).resolve().parents[2]
# The commands run from the same source as the modules tested here.
SRC = Path(textclf.__file__).resolve().parents[1]
NAMED = "(make: CHAMPION=auto, CHAMPION=bucket or CHAMPION=main)"


@pytest.mark.parametrize("command", [["gate"], ["report"], ["summary"], ["champion", "show"]])
def test_an_unknown_champion_source_names_the_option_the_make_variable_and_the_values(capsys, command):
    with pytest.raises(SystemExit) as stopped:
        cli.main([*command, "--champion", "Main"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "'Main' is none of auto, bucket, main (lower case: main)" in err, err
    assert "pass --champion auto" in err and NAMED in err, err


@pytest.mark.parametrize("target", ["champion", "gate"])
def test_make_with_an_unknown_champion_names_the_make_variable(tmp_path, target):
    (tmp_path / "mk").symlink_to(REPO / "mk")  # the Makefile includes mk/*.mk from the folder make runs in
    tools = tmp_path / ".venv/bin"
    tools.mkdir(parents=True)
    (tools / "textclf").write_text(
        f'#!/bin/sh\nPYTHONPATH="{SRC}" exec "{sys.executable}" -m textclf.cli "$@"\n', encoding="utf-8"
    )
    (tools / "textclf").chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        [
            *("make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-o", ".venv/.installed"),
            *(target, "CHAMPION=Main"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "'Main' is none of auto, bucket, main" in done.stderr and NAMED in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
