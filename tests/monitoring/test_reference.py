"""The evaluate stage writes the drift reference: class priors, length and score histograms of the
test split, consistent with its other outputs, declared in dvc.yaml, never left stale."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
import yaml

from textclf.config import Params
from textclf.monitoring import drift
from textclf.pipeline import evaluate

TEST_ROWS = [
    ("Where is my parcel? It was due on Monday.", "delivery"),
    ("I was charged twice this month, please refund the second charge.", "billing"),
    ("How do I send the shoes back?", "returns"),
    ("The courier left the box at the wrong house " * 8, "delivery"),
    ("My invoice shows a fee I never agreed to.", "billing"),
    ("Refund", "returns"),
]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    lines = [json.dumps({"text": text, "label": label}) for text, label in TEST_ROWS]
    (prepared / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_reference_describes_the_scored_test_split(workspace, tiny_model_dir):
    evaluate.run(Params(), tiny_model_dir)

    reference = json.loads((workspace / "metrics" / "reference.json").read_text())
    assert drift.check_reference(reference, "reference.json") is reference
    assert reference["rows"] == len(TEST_ROWS)
    labels = reference["labels"]
    actual = Counter(label for _, label in TEST_ROWS)
    assert reference["label_mix"] == {label: round(actual[label] / len(TEST_ROWS), 6) for label in labels}
    with (workspace / "plots" / "confusion.csv").open() as handle:
        predicted = Counter(row["predicted"] for row in csv.DictReader(handle))
    assert reference["prediction_mix"] == {
        label: round(predicted[label] / len(TEST_ROWS), 6) for label in labels
    }
    lengths = reference["length_chars"]["counts"]
    assert sum(lengths) == len(TEST_ROWS)
    assert lengths[drift.LENGTH_BOUNDS.index(0)] == 1  # "Refund": 6 characters
    assert lengths[drift.LENGTH_BOUNDS.index(300)] == 1  # the courier text: 360 characters
    scores = reference["score"]["counts"]
    assert sum(scores) == len(TEST_ROWS)
    assert sum(scores[:3]) == 0  # a top score is at least 1/3 with three labels


def test_the_heldout_probabilities_are_the_predictions_row_by_row(workspace, tiny_model_dir):
    evaluate.run(Params(), tiny_model_dir)

    with (workspace / "plots" / "heldout_probabilities.csv").open() as handle:
        rows = list(csv.reader(handle))
    with (workspace / "plots" / "confusion.csv").open() as handle:
        predicted = [row["predicted"] for row in csv.DictReader(handle)]
    labels = rows[0][1:]
    assert rows[0][0] == "row" and sorted(labels) == sorted(
        json.loads((tiny_model_dir / "labels.json").read_text())["labels"]
    )
    assert [int(row[0]) for row in rows[1:]] == list(range(1, len(TEST_ROWS) + 1))
    for row, label in zip(rows[1:], predicted, strict=True):
        values = [float(value) for value in row[1:]]
        assert sum(values) == pytest.approx(1, abs=1e-5)
        assert labels[values.index(max(values))] == label


def test_a_failed_evaluation_keeps_the_previous_reference(workspace, tmp_path):
    (workspace / "metrics").mkdir()
    stale = workspace / "metrics" / "reference.json"
    stale.write_text('{"format": 1}')

    (workspace / "plots").mkdir()
    stale_heldout = workspace / "plots" / "heldout_probabilities.csv"
    stale_heldout.write_text("row,a\n1,1.0\n")

    with pytest.raises(evaluate.EvaluateError, match="does not exist"):
        evaluate.run(Params(), tmp_path / "no-model")

    # Evaluate checks its inputs before writing and replaces its outputs together at the end: a
    # failed run leaves the previous, git-tracked ones as they were (issue 27, round 9, D-g).
    assert stale.read_text() == '{"format": 1}'
    assert stale_heldout.read_text() == "row,a\n1,1.0\n"


def test_dvc_yaml_declares_it_as_an_uncached_metric_of_evaluate(repo_root):
    stage = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]["evaluate"]

    assert {"metrics/reference.json": {"cache": False}} in stage["metrics"]
    assert "src/textclf/monitoring/drift.py" in stage["deps"]  # the bins are part of the output
    assert {"plots/heldout_probabilities.csv": {"cache": False}} in stage["outs"]


def test_histograms_put_bounds_in_the_upper_bin_and_open_the_last():
    assert drift.histogram([0, 24, 25, 1999, 2000, 10**6], drift.LENGTH_BOUNDS) == [
        2,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        2,
    ]
    assert drift.histogram([0.0, 0.35, 0.999, 1.0], drift.SCORE_BOUNDS) == [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]
