"""Publish judges the model again instead of taking a verdict file's "pass" (issue 27, rounds 10 and
11, F-p and F-w). metrics/eval.json edited after evaluation (accuracy and macro-F1 0.05) was
published as a passing evaluation; then a metrics/gate.json "pass" without checks, with renamed
checks or judged at bounds of 0 was taken, and eval.json was never checked against its own
confusion matrix. Now the metrics must be the evaluate stage's for the data (the gate's check), pass
params.yaml's thresholds, and every verdict file must hold exactly the checks judging again gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.release.evaluation import THRESHOLDS, evaluation_of, params_of, verdict_of

from textclf.release import promote
from textclf.verdict import Champion, judge


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no reports/gate.json of this checkout unless a test writes one
    return tmp_path


def passing(workspace: Path, model: Path, metrics: dict, verdict: Any, **params: Any) -> dict:
    (workspace / "eval.json").write_text(json.dumps(metrics), encoding="utf-8")
    (workspace / "gate.json").write_text(json.dumps(verdict), encoding="utf-8")
    found, _ = promote.passing_evaluation(
        workspace / "eval.json", workspace / "gate.json", workspace / "test.jsonl", params_of(model, **params)
    )
    return found


def refused(workspace: Path, model: Path, metrics: dict, verdict: Any, **params: Any) -> str:
    with pytest.raises(promote.ReleaseError) as refusal:
        passing(workspace, model, metrics, verdict, **params)
    message = str(refusal.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def test_the_evaluate_stages_verdict_of_these_metrics_passes(workspace: Path, tiny_model_dir: Path) -> None:
    metrics = evaluation_of(tiny_model_dir)
    assert (
        passing(workspace, tiny_model_dir, metrics, verdict_of(metrics, params_of(tiny_model_dir))) == metrics
    )


def renamed(verdict: dict) -> dict:
    return {**verdict, "checks": [{**check, "check": check["check"].upper()} for check in verdict["checks"]]}


def at_zero(verdict: dict) -> dict:
    return {**verdict, "checks": [{**check, "bound": 0.0} for check in verdict["checks"]]}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda verdict: {"verdict": "pass"}, "holds no list of checks"),
        (lambda verdict: {**verdict, "checks": []}, "holds no list of checks"),
        (lambda verdict: {**verdict, "checks": None}, "holds no list of checks"),
        (lambda verdict: {**verdict, "checks": {"a": 1}}, "holds no list of checks"),
        (
            lambda verdict: {**verdict, "checks": [*verdict["checks"], 1]},
            "holds a check that is not an object",
        ),
        (renamed, "has no check 'accuracy' (>= 0.85), which params.yaml's gate makes"),
        (at_zero, "judged accuracy with bound 0.0, but judged again it is 0.85"),
        (
            lambda verdict: {**verdict, "checks": [*verdict["checks"], verdict["checks"][0]]},
            "holds the check 'accuracy' twice",
        ),
        (
            lambda verdict: {**verdict, "checks": [*verdict["checks"], {"check": "extra", "passed": True}]},
            "holds a check 'extra' the gate does not make",
        ),
        (
            lambda verdict: {
                **verdict,
                "checks": [{**verdict["checks"][0], "passed": 1}, *verdict["checks"][1:]],
            },
            "judged accuracy with passed 1, but judged again it is True",
        ),
    ],
)
def test_a_pass_that_is_not_the_gates_on_these_metrics_is_refused(
    workspace: Path, tiny_model_dir: Path, change, said: str
) -> None:
    metrics = evaluation_of(tiny_model_dir)
    message = refused(
        workspace, tiny_model_dir, metrics, change(verdict_of(metrics, params_of(tiny_model_dir)))
    )
    assert message.startswith(f"{workspace / 'gate.json'} {said}"), message
    assert "the pass is not the gate's on these metrics" in message and "dvc repro" in message, message


def test_metrics_edited_after_evaluation_are_refused_naming_the_key(
    workspace: Path, tiny_model_dir: Path
) -> None:
    """The tester's case: every figure 0.05, the confusion matrix as evaluated, a bare "pass"."""
    metrics = evaluation_of(tiny_model_dir)
    edited = {
        **metrics,
        "accuracy": 0.05,
        "macro_f1": 0.05,
        "per_class": {label: {**scores, "recall": 0.05} for label, scores in metrics["per_class"].items()},
    }
    message = refused(workspace, tiny_model_dir, edited, {"verdict": "pass"})
    assert message.startswith(f"{workspace / 'eval.json'}: accuracy is 0.05 but the confusion_matrix"), (
        message
    )


def test_a_model_below_the_thresholds_is_refused_whatever_its_verdict_says(
    workspace: Path, tiny_model_dir: Path
) -> None:
    """Metrics the evaluate stage wrote (they agree with their matrix) of a model at 0.5, with the
    verdict of thresholds at 0: params.yaml's thresholds judge it."""
    metrics = evaluation_of(tiny_model_dir, right=5)
    zero = params_of(tiny_model_dir, evaluate={"thresholds": {}})
    assert verdict_of(metrics, zero)["verdict"] == "pass"
    message = refused(workspace, tiny_model_dir, metrics, verdict_of(metrics, zero))
    assert message.startswith(
        f"{workspace / 'eval.json'}: judged with params.yaml's thresholds the model fails (accuracy = 0.5000"
    ), message


def test_metrics_of_other_classes_than_params_yaml_names_are_refused(
    workspace: Path, tiny_model_dir: Path
) -> None:
    metrics = evaluation_of(tiny_model_dir)
    verdict = verdict_of(metrics, params_of(tiny_model_dir))
    message = refused(workspace, tiny_model_dir, metrics, verdict, data={"labels": ["billing", "other"]})
    assert message.startswith(f"{workspace / 'eval.json'}: per_class lacks ['other']"), message


def full_verdict(metrics: dict, model: Path, reference: float | None, **evaluate: Any) -> dict:
    """`make gate`'s verdict: thresholds, served graph and production's record as the champion."""
    params = params_of(model, evaluate={"thresholds": THRESHOLDS, **evaluate})
    champion = Champion("production", {"macro_f1": reference}, "s3://b/production/metrics.json", "c" * 40)
    verdict = judge(metrics, params.evaluate, champion, serve=params.deploy.serve)
    return {**verdict, "task": "support-intents", "comparison": "compared", "notes": ["compared"]}


def write_full(workspace: Path, verdict: dict) -> None:
    (workspace / "reports").mkdir(exist_ok=True)
    (workspace / promote.FULL_GATE_FILE).write_text(json.dumps(verdict), encoding="utf-8")


def test_the_full_verdict_is_judged_again_with_its_champion(workspace: Path, tiny_model_dir: Path) -> None:
    metrics = evaluation_of(tiny_model_dir)
    evaluate_verdict = verdict_of(metrics, params_of(tiny_model_dir))
    write_full(workspace, full_verdict(metrics, tiny_model_dir, 0.905))
    assert passing(workspace, tiny_model_dir, metrics, evaluate_verdict) == metrics

    # Judged with a champion_tolerance of 0.5 (params.yaml says 0.01): 0.9 passed against 0.95.
    write_full(workspace, full_verdict(metrics, tiny_model_dir, 0.95, champion_tolerance=0.5))
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict)
    assert message.startswith(
        "reports/gate.json: judged again with params.yaml the model fails (macro_f1 vs production = 0.9000, "
        "needs >= 0.94)"
    ), message

    # Judged at another bound (the check edited) of a champion it passes against all the same.
    verdict = full_verdict(metrics, tiny_model_dir, 0.905)
    checks = [{**c, "bound": 0.5} if "vs" in c["check"] else c for c in verdict["checks"]]
    write_full(workspace, {**verdict, "checks": checks})
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict)
    assert message.startswith("reports/gate.json judged macro_f1 vs production with bound 0.5, but judged"), (
        message
    )

    # A champion the file names in another shape than make gate writes.
    write_full(workspace, {**full_verdict(metrics, tiny_model_dir, 0.9), "champion": {"origin": "elsewhere"}})
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict)
    assert message.startswith("reports/gate.json: champion is not what make gate writes"), message

    # A full verdict without its champion check (the file names a champion).
    verdict = full_verdict(metrics, tiny_model_dir, 0.9)
    write_full(workspace, {**verdict, "checks": [c for c in verdict["checks"] if "vs" not in c["check"]]})
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict)
    assert message.startswith("reports/gate.json has no check 'macro_f1 vs production'"), message


def test_the_full_verdict_must_judge_the_data_rules_params_yaml_sets(
    workspace: Path, tiny_model_dir: Path
) -> None:
    metrics = evaluation_of(tiny_model_dir)
    evaluate_verdict = verdict_of(metrics, params_of(tiny_model_dir))
    write_full(workspace, full_verdict(metrics, tiny_model_dir, 0.9))
    rules = {"review": {"data_gate": {"max_leaked_test_rows": 0}}}
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict, **rules)
    assert message.startswith(
        "reports/gate.json judged the data rules none, but params.yaml review.data_gate sets "
        "{'data: max_leaked_test_rows': 0}"
    ), message
    rule = {"check": "data: max_leaked_test_rows", "value": 0, "op": "<=", "bound": 0, "passed": True}
    verdict = full_verdict(metrics, tiny_model_dir, 0.9)
    write_full(workspace, {**verdict, "checks": [*verdict["checks"], rule]})
    assert passing(workspace, tiny_model_dir, metrics, evaluate_verdict, **rules) == metrics

    # A rule the full verdict records as failed, under a verdict that says pass.
    failed = {**rule, "value": 3, "passed": False, "problem": "3 test rows are also in train"}
    write_full(workspace, {**verdict, "checks": [*verdict["checks"], failed]})
    message = refused(workspace, tiny_model_dir, metrics, evaluate_verdict, **rules)
    assert message.startswith(
        "reports/gate.json: judged again with params.yaml the model fails (3 test rows are also in train)"
    ), message
