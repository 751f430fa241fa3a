"""The gate's rules: a machine-readable verdict on a candidate's metrics.

Each check records its value, its bound and whether it passed, so the report and the PR check
show exactly why a model failed. Thresholds come from `params.evaluate.thresholds`; when a
reference model's metrics are given (champion/challenger), the candidate must also not be worse
than it by more than `params.evaluate.champion_tolerance` on the main metric.

Shared ground: the evaluate stage (thresholds only) and the review gate (thresholds and the
production champion, `textclf.review.gate`) apply the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from textclf.config import EvaluateParams, ServeParams

# What the gate judges: the evaluate stage's metrics of the served graph.
EVAL_FILE = "metrics/eval.json"
RERUN_EVALUATE = "run `dvc repro evaluate` instead of editing the file"
# A model folder's ONNX graph files by the graph's `quantize` (textclf.serving.inference's
# GRAPH_FILES: the serving wing's, repeated here in the ground so that the review checks
# metrics/eval.json's `graph` without importing serving; a test holds the two equal).
GRAPH_FILES = {"none": "model.onnx", "int8": "model.int8.onnx"}


@dataclass(frozen=True)
class Champion:
    """The reference a candidate is compared with."""

    origin: Literal["production", "main"]
    metrics: dict[str, Any]
    location: str
    model_version: str | None = None
    recorded_at: str | None = None
    # Its params.yaml data.task, when known (a record written before tasks were named has none).
    task: str | None = None

    def describe(self) -> str:
        if self.origin == "production":
            return f"production model {self.model_version} (recorded {self.recorded_at}, {self.location})"
        # location is `<ref>:<path>`; a ref name has no colon (git check-ref-format).
        return f"{self.location.split(':', 1)[0]}'s committed metrics ({self.location})"


def usable(value: Any) -> bool:
    """A real number: not missing, not a boolean, not NaN or infinite (an integer of any size is
    finite: math.isfinite would overflow on one too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def is_score(value: Any) -> bool:
    """A metric the gate can judge: a number from 0 to 1 (accuracy, F1, recall). 7.0, -1, NaN or an
    infinity is a broken metrics file, never a score that clears a threshold."""
    return usable(value) and 0 <= value <= 1


def is_pass(verdict: Any) -> bool:
    """Whether a verdict (metrics/gate.json, reports/gate.json) says pass: exactly the string the
    gate writes. Anything else (`"FAIL"`, `"Pass"`, a missing key, not an object) is not a pass."""
    return isinstance(verdict, dict) and verdict.get("verdict") == "pass"


def _check(
    name: str, value: Any, bound: float, op: str, exact: float | None = None, **extra: Any
) -> dict[str, Any]:
    # Metrics carry 4 decimals; rounding the bound keeps `0.9663 - 0.01` from failing 0.9563.
    bound = round(bound, 6)
    passed = is_score(value) and (value >= bound if op == ">=" else value <= bound)
    check = {
        "check": name,
        "value": value if is_score(value) else None,
        "op": op,
        "bound": bound,
        "passed": bool(passed),
        **extra,
    }
    if passed and exact is not None and not (exact >= bound if op == ">=" else exact <= bound):
        # The figure as the confusion matrix gives it is judged too: 0.69996 is written 0.7 (R13A-7).
        check["passed"] = False
        check["problem"] = (
            f"{name} = {exact:.6f} ({value:.4f} as {EVAL_FILE} writes it, rounded), needs {op} {bound:g}"
        )
    return check


def exact_figures(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """accuracy, macro_f1 and each class's recall as metrics/eval.json's confusion matrix gives them,
    unrounded; None when the matrix is missing or not a square of counts with a label per row. The
    file's figures carry 4 decimals, so with 20,000 rows in a class a recall of 0.69996 is written
    0.7 and passed a minimum of 0.7 (R13A-7): the thresholds judge these too."""
    matrix = metrics.get("confusion_matrix")
    labels = matrix.get("labels") if isinstance(matrix, dict) else None
    rows = matrix.get("rows_actual_columns_predicted") if isinstance(matrix, dict) else None
    if not (isinstance(labels, list) and isinstance(rows, list) and labels and len(rows) == len(labels)):
        return None
    size = len(labels)
    for row in rows:
        if not (isinstance(row, list) and len(row) == size):
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in row):
            return None
    total = sum(map(sum, rows))
    if not total:
        return None
    recall, f1 = {}, []
    for i, label in enumerate(labels):
        hits, actual, predicted = rows[i][i], sum(rows[i]), sum(row[i] for row in rows)
        recall[str(label)] = hits / actual if actual else 0.0
        f1.append(2 * hits / (actual + predicted) if actual + predicted else 0.0)
    return {
        "accuracy": sum(rows[i][i] for i in range(size)) / total,
        "macro_f1": sum(f1) / size,
        "recall": recall,
    }


def _recall_checks(
    metrics: dict[str, Any], minimum: float, exact: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    per_class = metrics.get("per_class")
    if not isinstance(per_class, dict) or not per_class:
        # Without per-class metrics the minimum recall cannot be shown to hold: fail, don't skip.
        return [_check("recall[every class]", None, minimum, ">=")]
    # A class whose scores are not an object (a list, a number) has no usable recall: it fails.
    return [
        _check(
            f"recall[{label}]",
            scores.get("recall") if isinstance(scores, dict) else None,
            minimum,
            ">=",
            exact=(exact or {}).get(str(label)),
        )
        for label, scores in sorted(per_class.items())
    ]


def _int8_checks(metrics: dict[str, Any], serve: ServeParams | None = None) -> list[dict[str, Any]]:
    """The served graph against params.yaml's `deploy.serve` (`serve`): with `quantize: none` or
    `int8` the served graph must be that one; with `auto` the train stage served int8 because it was
    within `int8_tolerance` of fp32, and on the test split the served int8 graph must be too
    (metrics/eval.json: `graph` the graph judged, `graphs` both graphs' test figures). The rule and
    the tolerance are params.yaml's, never what metrics/eval.json says of itself.

    Without `serve` (the evaluate stage, which has just read the model folder's serving.json into
    `serving`): the folder's own record of its rule and tolerance."""
    graph = metrics.get("graph")
    served = graph.get("quantize") if isinstance(graph, dict) else None
    if serve is None:
        serving = metrics.get("serving")
        if not isinstance(serving, dict):
            return []
        rule, tolerance = serving.get("rule"), serving.get("int8_tolerance")
        setting = "the model folder's serving.json int8_tolerance"
    else:
        rule, tolerance = serve.quantize, serve.int8_tolerance
        setting = "params.yaml deploy.serve.int8_tolerance"
        # A graph.quantize of another type (an object, a list) is not a graph: named, never looked up.
        if not isinstance(served, str) or served not in GRAPH_FILES or (rule != "auto" and served != rule):
            wanted = "none or int8" if rule == "auto" else rule
            shown = "missing" if served is None else _shown(served)
            return [
                _check(
                    "served graph",
                    None,
                    0.0,
                    ">=",
                    problem=f"{EVAL_FILE}: graph.quantize is {shown}, but params.yaml deploy.serve."
                    f"quantize: {rule} serves {wanted}: these metrics are not of a model trained with "
                    "this params.yaml; run `dvc repro` (train, then evaluate) instead of editing the file",
                )
            ]
    if rule != "auto" or served != "int8":
        return []
    graphs = metrics.get("graphs")
    fp32 = graphs.get("none") if isinstance(graphs, dict) else None
    checks = []
    for key in ("accuracy", "macro_f1"):
        reference = fp32.get(key) if isinstance(fp32, dict) else None
        if not (is_score(reference) and is_score(tolerance)):
            checks.append(
                _check(
                    f"{key} int8 vs fp32",
                    None,
                    0.0,
                    ">=",
                    problem=f"{EVAL_FILE}: the served int8 graph was chosen within a tolerance of fp32, "
                    f"but the metrics lack fp32's test figures (graphs.none.{key}) or the tolerance: "
                    f"{RERUN_EVALUATE}",
                )
            )
            continue
        check = _check(
            f"{key} int8 vs fp32",
            metrics.get(key),
            reference - tolerance,
            ">=",
            reference=reference,
            tolerance=tolerance,
            against="fp32",
        )
        if not check["passed"]:
            check["problem"] = (
                f"{key} of the served int8 graph = {_fmt(check['value'])}, more than {tolerance:g} below "
                f"fp32's {reference:.4f} on the test split ({setting}): train again "
                "with deploy.serve.quantize: none, or accept a larger int8_tolerance"
            )
        checks.append(check)
    return checks


def _champion_check(
    metrics: dict[str, Any], params: EvaluateParams, champion: Champion
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    reference = champion.metrics.get(params.main_metric)
    info = {
        "origin": champion.origin,
        "location": champion.location,
        "model_version": champion.model_version,
        "recorded_at": champion.recorded_at,
        "task": champion.task,
        params.main_metric: reference if is_score(reference) else None,
    }
    if not is_score(reference):
        # A record that exists but cannot be compared with fails the gate: skipping the comparison
        # would let a model worse than production through.
        check = _check(
            f"{params.main_metric} vs {champion.origin}",
            None,
            0.0,
            ">=",
            reference=None,
            tolerance=params.champion_tolerance,
            problem=f"the champion ({champion.location}) has no {params.main_metric} from 0 to 1 "
            f"(got {_shown(reference)}); record production's metrics again (textclf champion record) "
            "or compare with main (--champion main)",
        )
        return [check], info, [check["problem"]]
    check = _check(
        f"{params.main_metric} vs {champion.origin}",
        metrics.get(params.main_metric),
        reference - params.champion_tolerance,
        ">=",
        reference=reference,
        tolerance=params.champion_tolerance,
    )
    return [check], info, []


def judge(
    metrics: dict[str, Any],
    params: EvaluateParams,
    champion: Champion | None = None,
    extra_checks: list[dict[str, Any]] | None = None,
    serve: ServeParams | None = None,
) -> dict[str, Any]:
    """Verdict for `metrics` (evaluate's metrics/eval.json) against thresholds and the champion;
    `extra_checks` (the review's data rules) are judged with them, already decided. `serve`:
    params.yaml's deploy.serve, whose rule and tolerance judge the served graph (_int8_checks)."""
    thresholds = params.thresholds
    exact = exact_figures(metrics) or {}
    checks = [
        _check("accuracy", metrics.get("accuracy"), thresholds.accuracy, ">=", exact=exact.get("accuracy")),
        _check("macro_f1", metrics.get("macro_f1"), thresholds.macro_f1, ">=", exact=exact.get("macro_f1")),
        *_recall_checks(metrics, thresholds.min_class_recall, exact.get("recall")),
        *_int8_checks(metrics, serve),
    ]
    champion_info, notes = None, []
    if champion is not None:
        extra, champion_info, notes = _champion_check(metrics, params, champion)
        checks += extra
    checks += extra_checks or []
    reasons = [
        c.get("problem") or f"{c['check']} = {_fmt(c['value'])}, needs {c['op']} {c['bound']:g}"
        for c in checks
        if not c["passed"]
    ]
    return {
        "verdict": "pass" if not reasons else "fail",
        "main_metric": params.main_metric,
        "champion": champion_info,
        "checks": checks,
        "reasons": reasons,
        "notes": notes,
    }


def _fmt(value: float | None) -> str:
    return "missing, not a number or outside 0..1" if value is None else f"{value:.4f}"


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**12 else "a huge integer"
    return text if len(text) <= 40 else text[:40] + " ..."


def summary(verdict: dict[str, Any]) -> list[str]:
    """The verdict in a few log lines: the result, why it failed, where the reference came from."""
    lines = [f"gate: {verdict['verdict']}"]
    lines += [f"  failed: {reason}" for reason in verdict["reasons"]]
    lines += [f"  note: {note}" for note in verdict.get("notes", [])]
    return lines
