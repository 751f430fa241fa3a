"""The metrics the evaluate stage writes for a model folder (graph sha256, the sha256 of every file
the server reads, and classes), so that a test's publish passes the check that the folder is the
evaluated model; the params.yaml of such a model and the verdict the evaluate stage writes beside
its metrics (metrics/gate.json), which publish judges again (textclf.release.promote.passing_evaluation)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from textclf.config import Params, load_params
from textclf.pipeline.evaluate import SERVED_FILES_KEY, served_files
from textclf.verdict import judge

TEMPLATE = Path(__file__).resolve().parents[2]
# The template's thresholds (params.yaml evaluate.thresholds).
THRESHOLDS = {"accuracy": 0.85, "macro_f1": 0.85, "min_class_recall": 0.70}


def evaluation_of(folder: Path, right: int = 9, **scores: Any) -> dict[str, Any]:
    """eval.json's fields that tie it to `folder`: its served fp32 graph, the files the server reads
    (as the evaluate stage records them) and its labels."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))["labels"]
    digest = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    # Ten test rows a class, `right` (9) right and the rest taken for the next class: every figure
    # right / 10 (0.9), as the confusion matrix gives it (the gate and the champion record check that
    # they agree).
    size, figure = len(labels), right / 10
    rows = [
        [right if j == i else 10 - right if j == (i + 1) % size else 0 for j in range(size)]
        for i in range(size)
    ]
    scores_of_a_class = {"precision": figure, "recall": figure, "f1": figure, "support": 10}
    graph = {"file": "model.onnx", "quantize": "none", "sha256": digest}
    evaluation = {
        "accuracy": figure,
        "macro_f1": figure,
        "test_rows": 10 * size,
        "per_class": {label: dict(scores_of_a_class) for label in labels},
        "confusion_matrix": {"labels": labels, "rows_actual_columns_predicted": rows},
        "graph": graph,
        SERVED_FILES_KEY: served_files(folder, "model.onnx"),
        **scores,
    }
    # The served graph's test figures are the top-level ones (the gate checks that they agree).
    figures = {key: evaluation[key] for key in ("accuracy", "macro_f1")}
    return {**evaluation, "graphs": {"none": {**graph, "served": True, **figures}}, **scores}


def params_of(folder: Path, **sections: Any) -> Params:
    """The params.yaml of a model trained on `folder`'s classes, with the template's thresholds."""
    return params_for(json.loads((folder / "labels.json").read_text(encoding="utf-8"))["labels"], **sections)


def params_for(labels: list[str], **sections: Any) -> Params:
    """The params.yaml of a model of `labels`, with the template's thresholds."""
    return Params.model_validate(
        {"data": {"labels": labels}, "evaluate": {"thresholds": THRESHOLDS}, **sections}
    )


def write_params(root: Path, labels: list[str], thresholds: dict[str, float] = THRESHOLDS) -> Params:
    """The template's params.yaml in workspace `root`, for a model of `labels` judged at `thresholds`
    (what publish judges the workspace's metrics again with when no params are given)."""
    raw = yaml.safe_load((TEMPLATE / "params.yaml").read_text(encoding="utf-8"))
    raw["data"]["labels"] = labels
    raw["evaluate"]["thresholds"] = {**dict.fromkeys(THRESHOLDS, 0.0), **thresholds}
    (root / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_params(root / "params.yaml")


def verdict_of(metrics: dict[str, Any], params: Params) -> dict[str, Any]:
    """metrics/gate.json as the evaluate stage writes it for `metrics` with `params`."""
    return judge(metrics, params.evaluate, serve=params.deploy.serve)


def write_evaluation(folder: Path, metrics: Path, **scores: Any) -> Path:
    """`metrics` (eval.json) and the evaluate stage's verdict beside it (gate.json)."""
    evaluation = evaluation_of(folder, **scores)
    metrics.write_text(json.dumps(evaluation), encoding="utf-8")
    verdict = verdict_of(evaluation, params_of(folder))
    metrics.with_name("gate.json").write_text(json.dumps(verdict), encoding="utf-8")
    return metrics
