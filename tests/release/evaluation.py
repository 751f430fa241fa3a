"""The metrics the evaluate stage writes for a model folder (graph sha256 and classes), so that a
test's publish passes the check that the folder is the evaluated model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def evaluation_of(folder: Path, **scores: Any) -> dict[str, Any]:
    """eval.json's fields that tie it to `folder`: its served fp32 graph and its labels."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))["labels"]
    digest = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    return {
        "accuracy": 0.9,
        "macro_f1": 0.9,
        "per_class": {label: {"f1": 0.9} for label in labels},
        "confusion_matrix": {"labels": labels},
        "graph": {"file": "model.onnx", "quantize": "none", "sha256": digest},
        **scores,
    }


def write_evaluation(folder: Path, metrics: Path, **scores: Any) -> Path:
    metrics.write_text(json.dumps(evaluation_of(folder, **scores)), encoding="utf-8")
    return metrics
