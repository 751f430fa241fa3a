"""publish took metrics/gate.json's "pass" without asking whether it judged the metrics it
publishes: metrics/eval.json edited after evaluation (accuracy and macro-F1 0.05) was published
as a passing evaluation, and the published eval.json becomes the champion at release (bad-input
round 10, F-p). Each figure a verdict's checks judged must be the metrics' own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textclf.release import promote

METRICS = {
    "accuracy": 0.9628,
    "macro_f1": 0.9626,
    "per_class": {"billing": {"recall": 0.9773}, "delivery": {"recall": 1.0}},
}
VERDICT = {
    "verdict": "pass",
    "checks": [
        {"check": "accuracy", "value": 0.9628, "op": ">=", "bound": 0.85, "passed": True},
        {"check": "macro_f1", "value": 0.9626, "op": ">=", "bound": 0.85, "passed": True},
        {"check": "recall[billing]", "value": 0.9773, "op": ">=", "bound": 0.7, "passed": True},
        {"check": "recall[delivery]", "value": 1.0, "op": ">=", "bound": 0.7, "passed": True},
        {"check": "macro_f1 vs main", "value": 0.9626, "op": ">=", "bound": 0.95, "passed": True},
    ],
}


def passing(tmp_path: Path, monkeypatch, metrics: dict, verdict: dict) -> dict:
    monkeypatch.chdir(tmp_path)  # no reports/gate.json of this checkout
    (tmp_path / "eval.json").write_text(json.dumps(metrics), encoding="utf-8")
    (tmp_path / "gate.json").write_text(json.dumps(verdict), encoding="utf-8")
    found, _ = promote.passing_evaluation(
        tmp_path / "eval.json", tmp_path / "gate.json", tmp_path / "test.jsonl"
    )
    return found


def test_the_verdict_of_these_metrics_passes(tmp_path: Path, monkeypatch) -> None:
    assert passing(tmp_path, monkeypatch, METRICS, VERDICT) == METRICS
    assert passing(tmp_path, monkeypatch, METRICS, {"verdict": "pass"}) == METRICS  # no checks: as before


@pytest.mark.parametrize(
    ("metrics", "said"),
    [
        ({**METRICS, "accuracy": 0.05, "macro_f1": 0.05}, "accuracy 0.9628, but it is 0.05"),
        (
            {**METRICS, "per_class": {**METRICS["per_class"], "delivery": {"recall": 0.1}}},
            "recall[delivery] 1.0, but it is 0.1",
        ),
        (
            {**METRICS, "per_class": {"billing": {"recall": 0.9773}}},
            "recall[delivery] 1.0, but it is 'no such class'",
        ),
        (
            {**METRICS, "per_class": {**METRICS["per_class"], "returns": {"recall": 0.2}}},
            "no recall of class 'returns', a class",
        ),
    ],
)
def test_metrics_the_verdict_did_not_judge_are_refused(
    tmp_path: Path, monkeypatch, metrics: dict, said: str
) -> None:
    with pytest.raises(promote.ReleaseError) as refused:
        passing(tmp_path, monkeypatch, metrics, VERDICT)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'gate.json'} judged {said}"), message
    assert "the pass is not of these metrics" in message and "dvc repro" in message, message
    assert "\n" not in message


def test_a_stale_full_verdict_of_make_gate_is_refused_too(tmp_path: Path, monkeypatch) -> None:
    """reports/gate.json, make gate's verdict, from before the last pipeline run."""
    (tmp_path / "reports").mkdir()
    stale = {**VERDICT, "checks": [{**VERDICT["checks"][0], "value": 0.99}, *VERDICT["checks"][1:]]}
    (tmp_path / "reports" / "gate.json").write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=r"^reports/gate\.json judged accuracy 0\.99, but it is"):
        passing(tmp_path, monkeypatch, METRICS, VERDICT)
