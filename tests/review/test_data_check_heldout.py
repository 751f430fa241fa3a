"""plots/heldout_probabilities.csv, the fine-tuned model's second opinion on the flagged test rows
(issue 27, U-r11-8): class columns in another order are read by their names; a file with a class
column labels.json lacks (or lacking one), a value that is not a probability, rows that do not sum
to 1, rows out of order or of another test split is not read as if it were evaluate's for this
split: the report says why, naming the file, line and column, and what to run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from textclf.review import data_checks

LABELS = ["billing", "delivery", "returns"]
# Test rows 1..4; the check model flags rows 2 and 3 (given labels below).
ISSUES = [
    {"split": "test", "row": 2, "given": "delivery", "suggested": "billing", "source": None},
    {"split": "test", "row": 3, "given": "billing", "suggested": "returns", "source": None},
    {"split": "train", "row": 7, "given": "returns", "suggested": "billing", "source": None},
]
# The fine-tuned model: row 2 delivery (agrees with the given label), row 3 returns (does not).
PROBABILITIES = [
    [0.8, 0.1, 0.1],
    [0.1, 0.7, 0.2],
    [0.2, 0.1, 0.7],
    [0.3, 0.3, 0.4],
]


def write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def numbered(rows: list[list[object]]) -> list[list[object]]:
    return [[number, *row] for number, row in enumerate(rows, 1)]


def opinion(path: Path) -> dict | None:
    return data_checks.heldout_opinion(
        ISSUES, LABELS, len(PROBABILITIES), path, Path("data/prepared/labels.json")
    )


def test_evaluate_s_file_gives_the_second_opinion(tmp_path):
    path = write(tmp_path / "p.csv", ["row", *LABELS], numbered(PROBABILITIES))

    assert opinion(path) == {"test_flags": 2, "fine_tuned_gives_given_label": 1}


def test_class_columns_in_another_order_are_read_by_name(tmp_path):
    order = [2, 0, 1]  # returns, billing, delivery
    rows = [[row[index] for index in order] for row in PROBABILITIES]
    path = write(tmp_path / "p.csv", ["row", *(LABELS[index] for index in order)], numbered(rows))

    assert opinion(path) == {"test_flags": 2, "fine_tuned_gives_given_label": 1}


def refused(path: Path) -> str:
    found = opinion(path)
    assert found is not None and set(found) == {"problem"}, found
    problem = found["problem"]
    assert problem.startswith(f"{path}: ") and "\n" not in problem, problem
    assert "run `dvc repro evaluate`" in problem, problem
    return problem


def test_an_extra_class_column_is_named(tmp_path):
    rows = [[*row, 0.0] for row in PROBABILITIES]
    path = write(tmp_path / "p.csv", ["row", *LABELS, "spam"], numbered(rows))

    problem = refused(path)

    assert "columns of classes data/prepared/labels.json does not have: ['spam']" in problem


def test_a_missing_class_column_is_named(tmp_path):
    rows = [[row[0] + row[2], row[1]] for row in PROBABILITIES]
    path = write(tmp_path / "p.csv", ["row", "billing", "delivery"], numbered(rows))

    assert "no column for data/prepared/labels.json's classes ['returns']" in refused(path)


def test_a_class_column_named_twice_is_named(tmp_path):
    rows = [[*row, 0.0] for row in PROBABILITIES]
    path = write(tmp_path / "p.csv", ["row", *LABELS, "billing"], numbered(rows))

    assert "columns named twice: ['billing']" in refused(path)


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "1.5", "x", ""])
def test_a_value_that_is_not_a_probability_is_named_by_line_and_column(tmp_path, value):
    rows = [list(row) for row in PROBABILITIES]
    rows[1][1] = value
    path = write(tmp_path / "p.csv", ["row", *LABELS], numbered(rows))

    problem = refused(path)

    assert f"line 3 (test row 2), column 'delivery': {value!r} is not a probability" in problem


def test_rows_that_do_not_sum_to_one_are_named(tmp_path):
    path = write(tmp_path / "p.csv", ["row", *LABELS], numbered([[1, 1, 1]] * len(PROBABILITIES)))

    assert "line 2 (test row 1): the probabilities sum to 3, not 1" in refused(path)


@pytest.mark.parametrize("first", ["0", "2", "99999999999999999999"])
def test_rows_out_of_order_are_named(tmp_path, first):
    rows = numbered(PROBABILITIES)
    rows[0][0] = first
    path = write(tmp_path / "p.csv", ["row", *LABELS], rows)

    assert f"line 2 (test row 1): row is {first!r}, not 1" in refused(path)


def test_a_short_row_is_named(tmp_path):
    rows = numbered(PROBABILITIES)
    rows[2] = rows[2][:2]
    path = write(tmp_path / "p.csv", ["row", *LABELS], rows)

    assert "line 4 (test row 3) has 2 fields, the header 4" in refused(path)


@pytest.mark.parametrize("rows_after", [0, 2])
def test_a_quote_never_closed_is_named_on_the_line_it_opens(tmp_path, rows_after):
    """R12-12: csv reads a quoted field on to the next quote or the end of the file; the problem is
    where the quote opens, not the line where reading stopped."""
    lines = [
        "row,billing,delivery,returns",
        "1,0.8,0.1,0.1",
        '2,"0.1,0.7,0.2',
        "3,0.2,0.1,0.7",
        "4,0.3,0.3,0.4",
    ]
    lines += ["5,0.3,0.3,0.4"] * rows_after
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert f"line 3 (test row 2): a quote opened on this line runs to line {5 + rows_after}" in refused(path)


def test_probabilities_of_another_test_split_are_named(tmp_path):
    path = write(tmp_path / "p.csv", ["row", *LABELS], numbered(PROBABILITIES[:1]))

    assert "1 row of probabilities, but the test split has 4" in refused(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty (no header"),
        (b"id,billing,delivery,returns\n", "the first column is 'id', not `row`"),
        (b"row,billing,delivery,returns\n1,\xff\n", "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_evaluate_s_is_named(tmp_path, content, message):
    path = tmp_path / "p.csv"
    path.write_bytes(content)

    assert message in refused(path)


def test_the_report_says_why_there_is_no_second_opinion(tmp_path):
    rows = [[*row, 0.0] for row in PROBABILITIES]
    path = write(tmp_path / "p.csv", ["row", *LABELS, "<b>spam</b>`"], numbered(rows))
    found = {"issues": ISSUES, "heldout": opinion(path)}

    shown = data_checks.caveat(found)

    assert shown.startswith("No second opinion on these flags (the held-out probabilities were not used: ``")
    assert f"{path}: its class columns are not" in shown and "['<b>spam</b>`']" in shown
    assert "they are the check model's alone" in shown and "\n" not in shown


def test_a_bad_file_is_named_without_flags_on_the_test_split(tmp_path):
    path = write(tmp_path / "p.csv", ["row", "returns", "billing"], numbered([[0.5, 0.5]] * 4))
    train_only = [issue for issue in ISSUES if issue["split"] == "train"]

    found = data_checks.heldout_opinion(train_only, LABELS, 4, path)
    shown = data_checks.caveat({"issues": [], "heldout": found})

    assert found is not None and "no column for labels.json's classes ['delivery']" in found["problem"]
    assert shown.startswith("The fine-tuned model's held-out probabilities were not read: ``")
    assert data_checks.heldout_opinion(train_only, LABELS, 4, tmp_path / "missing.csv") is None


def test_a_good_file_without_flags_on_the_test_split_says_nothing(tmp_path):
    path = write(tmp_path / "p.csv", ["row", *LABELS], numbered(PROBABILITIES))

    assert data_checks.heldout_opinion(ISSUES[2:], LABELS, len(PROBABILITIES), path) is None
    assert data_checks.caveat({"issues": [], "heldout": None}) == ""
