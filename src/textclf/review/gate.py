"""The evaluation gate: a machine-readable verdict on a candidate model.

Each check records its value, its bound and whether it passed, so the report and the PR check
show exactly why a model failed. Thresholds come from `params.evaluate.thresholds`; when the
production model's metrics are known (champion/challenger), the candidate must also not be worse
than it by more than `params.evaluate.champion_tolerance` on the main metric.

The rules themselves live in `textclf.verdict` (shared ground), so the evaluate stage applies them
without importing the review wing. Two callers: the evaluate stage judges on thresholds alone
(`metrics/gate.json`, a DVC metric), because production's metrics live outside the repository;
`textclf gate` (`run`) adds the champion and writes the full verdict to `reports/gate.json`,
exiting non-zero on fail so the PR check is red.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textclf import atomic
from textclf.config import Params
from textclf.review.champion import EVAL_METRICS_FILE, Source, find
from textclf.verdict import judge, summary, usable

__all__ = ["VERDICT_FILE", "GateError", "judge", "load_metrics", "run", "summary", "usable"]

VERDICT_FILE = Path("reports/gate.json")


class GateError(RuntimeError):
    """The candidate's metrics cannot be read."""


def load_metrics(path: Path = EVAL_METRICS_FILE) -> dict[str, Any]:
    hint = "run the pipeline (dvc repro) so the evaluate stage writes it"
    return atomic.read_json_object(path, GateError, hint, " of metrics")


def run(
    params: Params,
    base_ref: str = "main",
    source: Source = "auto",
    metrics_file: Path = EVAL_METRICS_FILE,
    verdict_file: Path = VERDICT_FILE,
) -> dict[str, Any]:
    """The full verdict (thresholds and champion), written to `verdict_file`."""
    metrics = load_metrics(metrics_file)
    lookup = find(params.aws.resolved(), base_ref, source)
    verdict = judge(metrics, params.evaluate, lookup.champion)
    verdict["notes"].insert(0, lookup.note)
    atomic.write_json(verdict_file, verdict)
    return verdict
