"""What publish refuses before anything is written (bad input, round 4): metrics that are no score
the gate could have passed, and a model folder holding something that is not a file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from textclf.release import promote


def passing_gate(tmp_path: Path) -> Path:
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"verdict": "pass"}), encoding="utf-8")
    return gate


@pytest.mark.parametrize(
    "metrics",
    [
        {"accuracy": 7.0, "macro_f1": 0.9},
        {"accuracy": 0.9, "macro_f1": float("nan")},
        {"accuracy": 0.9},
        {"accuracy": "0.9", "macro_f1": 0.9},
    ],
)
def test_metrics_that_are_no_score_are_not_published_even_with_a_passing_verdict(
    tmp_path: Path, metrics: dict
) -> None:
    metrics_file = tmp_path / "eval.json"
    metrics_file.write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match="must be a number from 0 to 1"):
        promote.passing_evaluation(metrics_file, passing_gate(tmp_path), tmp_path / "none")


def test_a_pipe_in_the_model_folder_is_refused_not_skipped(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    os.mkfifo(folder / "weights.bin")
    with pytest.raises(promote.ReleaseError, match=r"weights\.bin are neither files nor folders"):
        promote.pack_model(folder, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()
