"""metrics/eval.json counts its test rows three times: test_rows, the supports of per_class and
the confusion matrix. A file where they disagree was not written by the evaluate stage (a
400-digit test_rows beside 20 supports passed the gate), so the gate refuses it, naming both."""

from __future__ import annotations

import json

import pytest

from tests.review.conftest import LABELS
from textclf import cli


def _matrix_plus_one(metrics: dict) -> None:
    metrics["confusion_matrix"]["rows_actual_columns_predicted"][0][0] += 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(test_rows=10**400), "test_rows (a number of 13 or more digits) disagrees with"),
        (lambda m: m.update(test_rows=m["test_rows"] + 1), "test_rows ("),
        (
            lambda m: m["per_class"][LABELS[0]].update(support=m["per_class"][LABELS[0]]["support"] + 7),
            "support",
        ),
        (_matrix_plus_one, "confusion_matrix"),
    ],
)
def test_gate_refuses_counts_that_disagree(first_repo, no_aws, capsys, edit, message):
    path = first_repo.root / "metrics/eval.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    edit(metrics)
    path.write_text(json.dumps(metrics), encoding="utf-8")
    assert cli.main(["gate", "--champion", "main"]) == 2
    err = capsys.readouterr().err
    assert message in err and "metrics/eval.json" in err
    assert not (first_repo.root / "reports/gate.json").exists()


def test_counts_as_the_evaluate_stage_writes_them_pass_the_shape_check(first_repo, no_aws, capsys):
    assert cli.main(["gate", "--champion", "main"]) in (0, 1)  # judged, not refused
    assert (first_repo.root / "reports/gate.json").exists()
