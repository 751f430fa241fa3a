"""The evaluation gate: a machine-readable verdict on a candidate model.

Each check records its value, its bound and whether it passed, so the report and the PR check
show exactly why a model failed. Thresholds come from `params.evaluate.thresholds`; when the
production model's metrics are known (champion/challenger), the candidate must also not be worse
than it by more than `params.evaluate.champion_tolerance` on the main metric.
"""

from __future__ import annotations

import math
from typing import Any

from textclf.config import EvaluateParams


def _check(name: str, value: float | None, bound: float, op: str) -> dict[str, Any]:
    usable = value is not None and not math.isnan(value)
    passed = usable and (value >= bound if op == ">=" else value <= bound)
    return {"check": name, "value": value if usable else None, "op": op, "bound": round(bound, 4), "passed": passed}


def judge(
    metrics: dict[str, Any], params: EvaluateParams, champion: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Verdict for `metrics` (evaluate's metrics/eval.json) against thresholds and the champion."""
    thresholds = params.thresholds
    recalls = {label: m.get("recall") for label, m in metrics.get("per_class", {}).items()}
    checks = [
        _check("accuracy", metrics.get("accuracy"), thresholds.accuracy, ">="),
        _check("macro_f1", metrics.get("macro_f1"), thresholds.macro_f1, ">="),
    ]
    checks += [
        _check(f"recall[{label}]", recall, thresholds.min_class_recall, ">=")
        for label, recall in sorted(recalls.items())
    ]
    champion_value = None if champion is None else champion.get(params.main_metric)
    if champion_value is not None and not math.isnan(champion_value):
        bound = champion_value - params.champion_tolerance
        checks.append(_check(f"{params.main_metric} vs production", metrics.get(params.main_metric), bound, ">="))
    reasons = [
        f"{c['check']} = {_fmt(c['value'])}, needs {c['op']} {c['bound']}" for c in checks if not c["passed"]
    ]
    return {
        "verdict": "pass" if not reasons else "fail",
        "main_metric": params.main_metric,
        "champion": None if champion_value is None else {params.main_metric: champion_value},
        "checks": checks,
        "reasons": reasons,
    }


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4f}"
