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
from textclf.config import DataParams, Params
from textclf.review.champion import (
    EVAL_METRICS_FILE,
    ChampionError,
    Source,
    base_is_other_task,
    check_consistent,
    committed_json,
    find,
    released_base,
)
from textclf.verdict import judge, summary, usable

__all__ = ["VERDICT_FILE", "GateError", "check_metrics", "judge", "load_metrics", "run", "summary", "usable"]

VERDICT_FILE = Path("reports/gate.json")


class GateError(RuntimeError):
    """The candidate's metrics cannot be read."""


def load_metrics(path: Path = EVAL_METRICS_FILE) -> dict[str, Any]:
    hint = "run the pipeline (dvc repro) so the evaluate stage writes it"
    return atomic.read_json_object(path, GateError, hint, " of metrics")


def data_classes(data: DataParams) -> tuple[list[str], str]:
    """The data's classes and where they come from: params.yaml data.labels, or, when that is null
    (whatever the data holds), the prepare stage's labels.json."""
    if data.labels is not None:
        return list(data.labels), "params.yaml data.labels"
    path = Path(data.prepared_dir) / "labels.json"
    hint = "run the pipeline (dvc repro) so the prepare stage writes it"
    labels = atomic.read_json_object(path, GateError, hint).get("labels")
    # What prepare writes: two or more distinct, non-empty strings (the review wing reads the file
    # itself; the serving wing's reader is not its to import).
    if not (
        isinstance(labels, list)
        and len(labels) >= 2
        and all(isinstance(label, str) and label for label in labels)
        and len(set(labels)) == len(labels)
    ):
        raise GateError(f'{path}: expected {{"labels": [...]}} with two or more distinct labels; {hint}')
    return labels, str(path)


def check_metrics(params: Params, metrics: dict[str, Any], metrics_file: Path = EVAL_METRICS_FILE) -> None:
    """What the gate requires before it judges (GateError naming the key and what to run): the
    metrics as the evaluate stage writes them for this data, every class, figures that agree with
    their own confusion matrix and served graph. The summary asks the same before it shows a verdict."""
    check_consistent(metrics, str(metrics_file), *data_classes(params.data), GateError)


def data_rule_checks(
    params: Params,
    base_ref: str,
    checks: dict[str, Any] | str | None = None,
    candidate: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The gate's checks for the data rules set in review.data_gate (none by default). Without the
    report's results (`checks`), the data checks run here, as the report runs them: against the
    base's data only when the base's model is of this model's task (`candidate`: its metrics;
    champion.base_is_other_task), so a new task's class mix is never measured against another's."""
    rules = params.review.data_gate
    if not rules.active():
        return []
    if checks is None:
        from textclf.review import data_checks

        try:
            base_eval = committed_json(base_ref, EVAL_METRICS_FILE)
            compare = not base_is_other_task(params.data.task, base_ref, candidate, base_eval)
            checks = data_checks.run(Path(params.data.prepared_dir), base_ref, compare=compare)
        except (data_checks.DataCheckError, ChampionError) as error:
            checks = str(error)
    from textclf.review.data_checks import gate_checks

    return gate_checks(checks, rules)


def run(
    params: Params,
    base_ref: str = "main",
    source: Source = "auto",
    metrics_file: Path = EVAL_METRICS_FILE,
    verdict_file: Path = VERDICT_FILE,
    data_checks: dict[str, Any] | str | None = None,
) -> dict[str, Any]:
    """The full verdict (thresholds, champion and the data rules that are set), written to
    `verdict_file`. `data_checks`: the report's results of textclf.review.data_checks, if it ran them."""
    metrics = load_metrics(metrics_file)
    check_metrics(params, metrics, metrics_file)
    lookup = find(params.aws.resolved(), base_ref, source, candidate=metrics, task=params.data.task)
    # The data rules compare with what main released, as the champion lookup does (`find`): a local
    # main ahead of origin/main may hold this model's own data (issue 27, review F10).
    extra = data_rule_checks(params, released_base(base_ref).ref, data_checks, metrics)
    verdict = judge(metrics, params.evaluate, lookup.champion, extra, serve=params.deploy.serve)
    verdict["task"] = params.data.task  # what this model is judged as (a champion of another is none)
    # Which path the champion lookup took (textclf.review.champion: compared, renamed task but
    # compared, new task, no champion), so a reader of the file need not parse the note.
    verdict["comparison"] = lookup.comparison
    verdict["notes"].insert(0, lookup.note)
    atomic.write_json(verdict_file, verdict)
    return verdict
