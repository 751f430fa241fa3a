"""reports/flagged_rows.csv, which reviewers open in a spreadsheet, never holds a cell a spreadsheet
runs as a formula: labels and file names come from the data, and a class named
`=HYPERLINK("http://evil.example","open")` or `@SUM(1+1)` was written as it is (issue 27 round 8,
U-f1; OWASP "CSV Injection": a cell starting with = + - @, a tab or a carriage return)."""

from __future__ import annotations

import csv
import io

import pytest

from textclf.review import data_checks

HOSTILE = ['=HYPERLINK("http://evil.example","open")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1"]


def flagged(given: str, suggested: str, raw_file: str) -> list[dict[str, str]]:
    issue = {
        "split": "train",
        "row": 83,
        "source": {"file": raw_file, "row": 5, "line": 6},
        "given": given,
        "suggested": suggested,
        "p_given": 0.01,
        "p_suggested": 0.98,
    }
    checks = {"leakage": {"exact": [], "near": []}, "label_issues": {"issues": [issue]}}
    return list(csv.DictReader(io.StringIO(data_checks.flagged_rows_csv(checks), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_a_spreadsheet_would_run_is_written_inert(text):
    (row,) = flagged(text, text, text)
    for column in ("given", "suggested", "raw_file"):
        assert row[column] == "'" + text, (column, row[column])
    assert not any(str(value).startswith(data_checks.FORMULA_STARTS) for value in row.values())


def test_ordinary_cells_are_written_as_they_are():
    (row,) = flagged("billing", "returns", "data/raw/messages.csv")
    assert "billing" in row.values() and "returns" in row.values() and "data/raw/messages.csv" in row.values()
    assert "0.98" in row.values()  # numbers stay numbers
