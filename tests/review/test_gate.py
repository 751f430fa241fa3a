"""The gate: thresholds, champion/challenger, a machine-readable verdict and the exit code."""

from __future__ import annotations

import json
import math

import boto3
import pytest

from tests.review.conftest import EVALUATE, MAIN_EVAL, PR_EVAL
from textclf import cli
from textclf.config import EvaluateParams, load_params
from textclf.review import champion, gate
from textclf.review.champion import PRODUCTION_KEY, Champion

PARAMS = EvaluateParams.model_validate(EVALUATE)


def production(macro_f1: float) -> Champion:
    return Champion(
        "production", {**MAIN_EVAL, "macro_f1": macro_f1}, "s3://b/production/metrics.json", "abc1234"
    )


def by_name(verdict: dict) -> dict[str, dict]:
    return {check["check"]: check for check in verdict["checks"]}


def test_thresholds_only_verdict_keeps_the_evaluate_stage_format():
    verdict = gate.judge(PR_EVAL, PARAMS)

    assert verdict["verdict"] == "pass"
    assert verdict["champion"] is None
    assert set(verdict) >= {"verdict", "main_metric", "champion", "checks", "reasons"}
    checks = by_name(verdict)
    assert list(checks)[:2] == ["accuracy", "macro_f1"]
    assert checks["recall[warranty]"] == {
        "check": "recall[warranty]",
        "value": PR_EVAL["per_class"]["warranty"]["recall"],
        "op": ">=",
        "bound": 0.7,
        "passed": True,
    }


def test_worse_than_production_beyond_the_tolerance_fails():
    verdict = gate.judge(PR_EVAL, PARAMS, production(0.95))

    assert verdict["verdict"] == "fail"
    check = by_name(verdict)["macro_f1 vs production"]
    assert check["value"] == PR_EVAL["macro_f1"]
    assert check["bound"] == 0.94
    assert check["reference"] == 0.95
    assert check["passed"] is False
    assert verdict["reasons"] == [f"macro_f1 vs production = {PR_EVAL['macro_f1']:.4f}, needs >= 0.94"]
    assert verdict["champion"]["model_version"] == "abc1234"
    assert verdict["champion"]["macro_f1"] == 0.95


def test_worse_by_exactly_the_tolerance_passes():
    # 0.5006 - 0.01 is 0.49060000000000004 in floating point: the bound must still be 0.4906.
    verdict = gate.judge({**PR_EVAL, "macro_f1": 0.4906}, PARAMS, production(0.5006))

    assert by_name(verdict)["macro_f1 vs production"]["passed"] is True


def test_better_than_production_passes():
    verdict = gate.judge(PR_EVAL, PARAMS, production(PR_EVAL["macro_f1"] - 0.05))

    assert verdict["verdict"] == "pass"


@pytest.mark.parametrize("value", [math.nan, None, "0.9"])
def test_a_missing_or_nan_metric_fails_with_a_reason(value):
    metrics = {**PR_EVAL, "accuracy": value}
    if value is None:
        del metrics["accuracy"]

    verdict = gate.judge(metrics, PARAMS)

    assert verdict["verdict"] == "fail"
    assert by_name(verdict)["accuracy"]["value"] is None
    assert verdict["reasons"] == ["accuracy = missing, not a number or outside 0..1, needs >= 0.85"]
    json.dumps(verdict, allow_nan=False)  # the verdict itself is strict JSON


def test_missing_per_class_metrics_fail_instead_of_skipping_the_recall_minimum():
    verdict = gate.judge({"accuracy": 0.99, "macro_f1": 0.99}, PARAMS)

    assert verdict["verdict"] == "fail"
    assert by_name(verdict)["recall[every class]"]["passed"] is False


@pytest.mark.parametrize("reference", [None, math.nan, math.inf, -math.inf, 7.0, -0.2, 10**400, "0.9", True])
def test_a_champion_without_a_usable_main_metric_fails_the_gate(reference):
    """Skipping the comparison would pass a model worse than production (it once did, for NaN)."""
    metrics = {"accuracy": 0.99} if reference is None else {"accuracy": 0.99, "macro_f1": reference}
    verdict = gate.judge(PR_EVAL, PARAMS, Champion("main", metrics, "main:metrics/eval.json"))

    assert verdict["verdict"] == "fail"
    assert by_name(verdict)["macro_f1 vs main"]["passed"] is False
    assert "main:metrics/eval.json) has no macro_f1 from 0 to 1" in verdict["reasons"][0]
    assert "textclf champion record" in verdict["reasons"][0]


def test_gate_command_passes_against_mains_metrics(pr_repo, capsys):
    status = cli.main(["gate", "--champion", "main"])

    assert status == 0
    verdict = json.loads((pr_repo.root / "reports/gate.json").read_text())
    assert verdict["verdict"] == "pass"
    assert verdict["champion"]["origin"] == "main"
    assert verdict["champion"]["macro_f1"] == MAIN_EVAL["macro_f1"]
    assert "compared with main's committed metrics" in verdict["notes"][0]
    # metrics/gate.json stays the evaluate stage's output, untouched by the full gate.
    assert pr_repo.git("status", "--porcelain", "metrics") == ""


def test_gate_command_fails_red_against_a_better_production_model(pr_repo, bucket):
    params = load_params(pr_repo.root / "params.yaml")
    boto3.client("s3").put_object(
        Bucket=bucket,
        Key=PRODUCTION_KEY,
        Body=json.dumps(
            {
                "model_version": "feedbee",
                "recorded_at": "2026-01-01T00:00:00Z",
                "metrics": {**PR_EVAL, "macro_f1": 0.97},
            }
        ).encode(),
    )
    assert champion.find(params.aws.resolved(), "main", "bucket").champion.model_version == "feedbee"

    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--champion", "bucket"])

    assert exit_.value.code == 1
    verdict = json.loads((pr_repo.root / "reports/gate.json").read_text())
    assert verdict["verdict"] == "fail"
    assert verdict["champion"]["origin"] == "production"
    assert by_name(verdict)["macro_f1 vs production"]["bound"] == 0.96


def test_gate_command_for_the_first_model_is_judged_on_thresholds_alone(first_repo, bucket):
    assert cli.main(["gate", "--champion", "bucket"]) == 0

    verdict = json.loads((first_repo.root / "reports/gate.json").read_text())
    assert verdict["champion"] is None
    assert "the first model is judged on thresholds alone" in verdict["notes"][0]
    assert not any("vs" in name for name in by_name(verdict))


def test_gate_command_without_metrics_says_to_run_the_pipeline(pr_repo, capsys):
    (pr_repo.root / "metrics/eval.json").unlink()

    assert cli.main(["gate", "--champion", "main"]) == 2
    assert "metrics/eval.json: not found; run the pipeline (dvc repro)" in capsys.readouterr().err
    assert not (pr_repo.root / "reports/gate.json").exists()


# --- issue 28: the fastest graph that passes -----------------------------------------------------


def served_int8(accuracy: float, macro_f1: float, rule: str = "auto", tolerance: float = 0.01) -> dict:
    """PR_EVAL as the served int8 graph's metrics, with fp32's test figures next to them."""
    return {
        **PR_EVAL,
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "graph": {"file": "model.int8.onnx", "quantize": "int8", "sha256": "0" * 64},
        "graphs": {"none": {"accuracy": 0.95, "macro_f1": 0.95}, "int8": {"accuracy": accuracy}},
        "serving": {"rule": rule, "int8_tolerance": tolerance, "reason": "..."},
    }


def test_a_served_int8_graph_within_the_tolerance_of_fp32_passes():
    checks = by_name(gate.judge(served_int8(0.9401, 0.94), PARAMS))

    assert checks["accuracy int8 vs fp32"]["passed"] and checks["macro_f1 int8 vs fp32"]["passed"]
    assert checks["macro_f1 int8 vs fp32"]["bound"] == 0.94
    assert checks["macro_f1 int8 vs fp32"]["against"] == "fp32"


def test_a_served_int8_graph_further_below_fp32_fails_and_says_what_to_do():
    verdict = gate.judge(served_int8(0.95, 0.93), PARAMS)

    assert verdict["verdict"] == "fail"
    (reason,) = verdict["reasons"]
    assert "macro_f1 of the served int8 graph = 0.9300, more than 0.01 below fp32's 0.9500" in reason
    assert "deploy.serve.quantize: none" in reason


def test_int8_chosen_by_hand_is_judged_on_the_thresholds_alone():
    verdict = gate.judge(served_int8(0.90, 0.90, rule="int8"), PARAMS)

    assert not any("vs fp32" in check["check"] for check in verdict["checks"])


def test_int8_chosen_within_a_tolerance_without_fp32_figures_fails_closed():
    metrics = served_int8(0.95, 0.95)
    del metrics["graphs"]["none"]

    verdict = gate.judge(metrics, PARAMS)

    assert verdict["verdict"] == "fail" and "lack fp32's test figures" in verdict["reasons"][0]


# --- issue 29: optional gate rules on the data checks ----------------------------------------------


CHECKS = {
    "base_ref": "main",
    "class_prior_psi": 0.4,
    "length_psi": 0.01,
    "leakage": {"exact": [{"test_row": 3, "train_row": 9}], "near": [{"test_row": 3, "train_row": 7}]},
    "label_issues": {"issues": [{"split": "train", "row": 1}] * 6, "rows": {"train": 80, "test": 20}},
    "test_rows": 20,
}


def test_data_rules_are_off_by_default():
    from textclf.config import DataGateParams
    from textclf.review.data_checks import gate_checks

    assert load_params().review.data_gate == DataGateParams()
    assert gate_checks(CHECKS, DataGateParams()) == []


@pytest.mark.parametrize(
    ("rule", "bound", "value", "passed"),
    [
        ("max_label_issue_share", 0.05, 0.06, False),
        ("max_label_issue_share", 0.1, 0.06, True),
        ("max_leaked_test_rows", 0, 1, False),  # one test row, found twice
        ("max_leaked_test_rows", 1, 1, True),
        ("max_class_prior_psi", 0.25, 0.4, False),
    ],
)
def test_a_data_rule_judges_its_figure(rule, bound, value, passed):
    from textclf.config import DataGateParams
    from textclf.review.data_checks import gate_checks

    (check,) = gate_checks(CHECKS, DataGateParams(**{rule: bound}))

    assert (check["value"], check["bound"], check["passed"]) == (value, bound, passed)
    assert check["rule"] == f"review.data_gate.{rule}"
    verdict = gate.judge(PR_EVAL, PARAMS, extra_checks=[check])
    assert (verdict["verdict"] == "pass") is passed
    if not passed:
        assert f"review.data_gate.{rule}" in verdict["reasons"][0]


def test_a_data_rule_fails_closed_when_the_checks_did_not_run():
    from textclf.config import DataGateParams
    from textclf.review.data_checks import gate_checks

    (check,) = gate_checks("data/prepared/test.jsonl: not found", DataGateParams(max_leaked_test_rows=0))

    assert not check["passed"] and "data/prepared/test.jsonl: not found" in check["problem"]
