"""The gate judges the figures the confusion matrix gives, not their 4-decimal rounding (R13A-7):
metrics/eval.json writes round(x, 4), so with 20,000 or more rows in a class a recall of 0.69996 was
written 0.7 and passed a min_class_recall of 0.7 (an accuracy of 0.84996 passed 0.85), and a share of
suspected label errors of 0.05004 passed review.data_gate.max_label_issue_share 0.05."""

from __future__ import annotations

from tests.review.conftest import eval_metrics
from textclf.config import DataGateParams, EvaluateParams, Thresholds
from textclf.review.data_checks import gate_checks
from textclf.verdict import judge


def verdict(metrics: dict, **thresholds: float) -> dict:
    return judge(metrics, EvaluateParams(thresholds=Thresholds(**thresholds)))


def check(result: dict, name: str) -> dict:
    return next(c for c in result["checks"] if c["check"] == name)


def test_a_recall_just_below_the_minimum_fails_though_written_as_the_minimum() -> None:
    metrics = eval_metrics({"billing": {"billing": 25_000}, "returns": {"returns": 17_499, "billing": 7_501}})
    assert metrics["per_class"]["returns"]["recall"] == 0.7  # 0.69996, rounded

    result = verdict(metrics, min_class_recall=0.7)

    recall = check(result, "recall[returns]")
    assert result["verdict"] == "fail" and recall["passed"] is False
    assert recall["problem"] == (
        "recall[returns] = 0.699960 (0.7000 as metrics/eval.json writes it, rounded), needs >= 0.7"
    )
    assert check(result, "recall[billing]")["passed"] is True


def test_an_accuracy_just_below_the_threshold_fails_though_written_as_it() -> None:
    metrics = eval_metrics({"billing": {"billing": 25_000}, "returns": {"returns": 17_498, "billing": 7_502}})
    assert metrics["accuracy"] == 0.85  # 42,498 of 50,000: 0.84996

    result = verdict(metrics, accuracy=0.85)

    assert result["verdict"] == "fail" and check(result, "accuracy")["passed"] is False


def test_a_figure_exactly_at_the_threshold_passes() -> None:
    metrics = eval_metrics({"billing": {"billing": 25_000}, "returns": {"returns": 17_500, "billing": 7_500}})

    assert verdict(metrics, min_class_recall=0.7, accuracy=0.85)["verdict"] == "pass"


def test_a_label_issue_share_just_above_the_rule_fails() -> None:
    checks = {
        "base_ref": "main",
        "label_issues": {"rows": {"train": 80_000, "test": 20_000}, "issues": [{}] * 5_004},
    }

    (result,) = gate_checks(checks, DataGateParams(max_label_issue_share=0.05))

    assert result["passed"] is False, result
