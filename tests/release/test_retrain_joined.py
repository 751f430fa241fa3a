"""retrain-import checks the dataset the new files join, not the new files alone (issue 27, round 8,
F-f): a new file whose labels are case twins of the dataset's (data.labels: null), or which gives the
dataset's texts other labels, was imported and pushed, and the retrain PR's prepare then failed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from textclf.config import load_params
from textclf.release import retrain

REPO = Path(__file__).resolve().parents[2]
LABELS = ("billing", "delivery", "returns")


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    return path


def rows(tag: str, labels=LABELS) -> list[tuple[str, str]]:
    return [(f"{tag} message {i} about my {label} issue", label) for label in labels for i in range(4)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    write(root / "data/raw/messages.csv", rows("first"))
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def data(labels):
    return load_params().data.model_copy(update={"labels": labels})


def test_new_labels_that_are_case_twins_of_the_dataset_are_refused(project: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    write(staging / "a.csv", [(text, label.capitalize()) for text, label in rows("second")])
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.check_new_files(staging, data(None), "bucket")
    message = str(refused.value)
    assert "differ only in case" in message, message
    assert "s3://bucket/incoming/a.csv: row 1" in message and "data/raw/messages.csv: row 1" in message


def test_new_rows_that_relabel_the_dataset_s_texts_are_refused(project: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    relabelled = [(text, "returns" if label == "billing" else label) for text, label in rows("first")]
    write(staging / "2026/a.csv", relabelled)
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.check_new_files(staging, data(list(LABELS)), "bucket")
    message = str(refused.value)
    assert message.startswith(
        "new data rejected: s3://bucket/incoming/2026/a.csv: row 1 (line 2): its text"
    ), message
    assert "data/raw/messages.csv: row 1 (line 2)" in message and "'returns', there 'billing'" in message


def test_a_replaced_file_is_checked_as_replaced_and_good_data_passes(project: Path, tmp_path: Path) -> None:
    # The changed version of an imported file relabels its own rows: that is a correction, not a conflict.
    imported = write(project / "data/raw/incoming/a.csv", rows("second"))
    staging = tmp_path / "staging"
    write(staging / "a.csv", [(text, "returns") for text, _ in rows("second")])
    assert retrain.check_new_files(staging, data(list(LABELS)), "bucket", [imported]) == 12
    write(staging / "a.csv", rows("first") + rows("third"))  # repeats (same labels) are not new rows
    assert retrain.check_new_files(staging, data(None), "bucket") == 12


def test_the_import_places_nothing_when_the_joined_dataset_fails(project: Path) -> None:
    from tests.code.test_retrain_body import IncomingBucket

    from textclf.config import AwsParams

    def body(pairs) -> bytes:
        return ("text,label\n" + "".join(f"{text},{label}\n" for text, label in pairs)).encode()

    twins = IncomingBucket({"incoming/a.csv": body((t, label.upper()) for t, label in rows("second"))})
    with pytest.raises(
        retrain.RetrainError, match=r"s3://textclf-.*/incoming/a\.csv: row 1 .*differ only in case"
    ):
        retrain.import_incoming(AwsParams().resolved(), data(None), s3=twins)
    assert not (project / "data/raw/incoming").exists()
    # A changed version of an imported object that corrects its own labels replaces it.
    good = IncomingBucket({"incoming/a.csv": body(rows("second"))})
    assert retrain.import_incoming(AwsParams().resolved(), data(list(LABELS)), s3=good).new == [
        "incoming/a.csv"
    ]
    fixed = IncomingBucket({"incoming/a.csv": body((t, "returns") for t, _ in rows("second"))})
    summary = retrain.import_incoming(AwsParams().resolved(), data(list(LABELS)), s3=fixed)
    assert summary.updated == ["incoming/a.csv"] and summary.rows == 12


@pytest.mark.parametrize("second_file", [False, True])
def test_new_rows_of_one_text_under_two_labels_are_refused_naming_both(project, tmp_path, second_file):
    """R13B-24: the same text written alike under two labels in the new data was dropped by prepare
    without a word (and a file of only such rows reported as "in the dataset already"); refused, as
    the pair written differently is."""
    staging = tmp_path / "staging"
    conflict = [
        ("Exact same text about voucher 4343", "billing"),
        ("Exact same text about voucher 4343", "delivery"),
    ]
    if second_file:
        write(staging / "a.csv", [conflict[0], *rows("second")])
        write(staging / "b.csv", [conflict[1]])
    else:
        write(staging / "a.csv", [*conflict, ("one other row about my returns", "returns")])
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.check_new_files(staging, data(list(LABELS)), "bucket")
    message = str(refused.value)
    assert "'delivery', there 'billing'" in message, message
    assert "s3://bucket/incoming/" in message and "nothing was imported" in message
    assert str(staging) not in message
