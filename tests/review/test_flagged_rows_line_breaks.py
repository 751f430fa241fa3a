"""reports/flagged_rows.csv keeps one record per flagged row when a cell holds a line break: Python's
csv writer with "\n" line ends quoted a cell holding "\n" but not one holding a carriage return,
so a raw file named with one split its row in two for every CSV reader (RFC 4180, section 2: a
field holding a line break is quoted)."""

from __future__ import annotations

import csv
import io

import pytest

from textclf.review import data_checks


def checks(raw_file: str, label: str = "billing") -> dict:
    issue = {
        "split": "train",
        "row": 83,
        "source": {"file": raw_file, "row": 5, "line": 6},
        "given": label,
        "suggested": "returns",
        "p_given": 0.01,
        "p_suggested": 0.98,
    }
    leak = {
        "test_row": 7,
        "train_row": 9,
        "source": {"file": raw_file, "row": 3, "line": 4},
        "train_source": {"file": raw_file, "row": 11, "line": 12},
        "jaccard": 0.9,
    }
    return {"leakage": {"exact": [], "near": [leak]}, "label_issues": {"issues": [issue]}}


@pytest.mark.parametrize("raw_file", ["data/raw/a\rb.csv", "data/raw/a\r\nb.csv", "data/raw/a\nb.csv"])
def test_a_line_break_in_a_cell_keeps_the_row_whole(raw_file):
    text = data_checks.flagged_rows_csv(checks(raw_file))

    rows = list(csv.reader(io.StringIO(text, newline="")))

    assert len(rows) == 3 and all(len(row) == len(data_checks.FLAGGED_COLUMNS) for row in rows)
    leak, issue = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert leak["raw_file"] == leak["train_raw_file"] == issue["raw_file"] == raw_file
    assert (issue["raw_row"], issue["given"], issue["p_suggested"]) == ("5", "billing", "0.98")
    assert leak["check"] == "near_copy_of_train" and leak["jaccard"] == "0.9"


def test_a_line_break_in_a_label_keeps_the_row_whole():
    rows = list(
        csv.reader(io.StringIO(data_checks.flagged_rows_csv(checks("x.csv", "bil\rling")), newline=""))
    )

    assert [row[6] for row in rows[1:]] == ["", "bil\rling"]


def test_rows_without_a_line_break_are_written_as_before():
    text = data_checks.flagged_rows_csv(checks("data/raw/messages.csv"))

    assert "\nlabel_error,train,83,data/raw/messages.csv,5,6,billing,returns,0.01,0.98,,,,\n" in text
