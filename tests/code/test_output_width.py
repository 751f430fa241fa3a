"""What a newcomer's commands print fits 100 columns: `make help` (each target's description
wrapped under it), `textclf use-data` and `textclf gate`, whose lines name a file, columns, a note."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.code.test_use_data import USE, clone, textclf  # noqa: F401 (clone: the fixture)

REPO = Path(__file__).resolve().parents[2]
WIDTH = 100


def wide(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > WIDTH]


def described_targets() -> dict[str, str]:
    """Every `target: ... ## description` line of the Makefile and mk/*.mk, as `make help` reads them."""
    found = {}
    for path in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"([a-zA-Z_-]+):.*?## (.*)", line)
            if match:
                found[match.group(1)] = match.group(2)
    return found


def make_help(target: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAKEFLAGS": ""}
    return subprocess.run(
        ["make", "--no-print-directory", target], cwd=REPO, capture_output=True, text=True, env=env
    )


def test_make_help_lists_the_first_days_targets_and_points_at_the_rest():
    done = make_help("help")
    assert done.returncode == 0, done.stderr
    *entries, last = done.stdout.splitlines()
    listed = [line.split()[0] for line in entries if not line.startswith("   ")]
    assert {"setup", "repro", "use-data", "report", "gate", "serve", "test"} <= set(listed)
    assert len(listed) < 20 and not wide(entries)
    assert last == f"make help-all lists all {len(described_targets())} targets: CI, release, AWS, benchmarks"


def test_make_help_all_fits_100_columns_and_keeps_every_description_whole():
    done = make_help("help-all")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert not wide(lines), "wider than 100 columns:\n" + "\n".join(wide(lines))
    # One entry per target: its name two columns in, its description's words in order after it,
    # continued on lines that start blank.
    entries: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            current, _, rest = line.strip().partition(" ")
            entries[current] = rest.split()
        else:
            assert current is not None and line.startswith(" " * 21), line
            entries[current] += line.split()
    expected = described_targets()
    assert len(expected) > 50  # the targets of mk/*.mk are listed too
    assert {name: " ".join(words) for name, words in entries.items()} == {
        name: " ".join(text.split()) for name, text in expected.items()
    }


def test_the_gates_note_on_a_new_task_is_wrapped_within_100_columns(spam_repo, capsys):
    from textclf import cli

    assert cli.main(["gate", "--champion", "main"]) == 0
    lines = capsys.readouterr().err.splitlines()

    assert not wide(lines), "wider than 100 columns:\n" + "\n".join(wide(lines))
    assert lines[0] == "[textclf] gate: pass"
    note = [line.removeprefix("[textclf] ") for line in lines if not line.startswith("[textclf] wrote")]
    assert note[1].startswith("  note: new task: this model's classes (ham, spam) share none")
    assert all(line.startswith("      ") for line in note[2:]), note  # continued under the note
    assert len(note) > 2


def test_use_data_reports_within_100_columns(clone):  # noqa: F811 (the fixture)
    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert not wide(lines), "wider than 100 columns:\n" + "\n".join(wide(lines))
    assert "[textclf] params.yaml: data.text_column 'body', data.label_column 'kind'" in lines
    assert "[textclf] params.yaml: data.labels, 2 classes; data.dvc tracks data/raw (dvc add)" in lines
