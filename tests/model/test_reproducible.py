"""The train stage repeats byte for byte: the same prepared data and params.yaml, trained in two
folders with the same thread count, write the same model folder (weights, both ONNX graphs,
tokenizer, serving.json, history), metrics/train.json and plots. A fresh clone's `make repro`
retrains (no DVC cache), and dvc.lock stays as committed only when the bytes repeat."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.model.conftest import train_small_project

# What the train stage writes that git or dvc.lock tracks (reports/train_job.json is neither).
TRACKED = ("models/model", "metrics/train.json", "plots/train_loss.csv", "plots/validation.csv")


def digests(project: Path) -> dict[str, str]:
    files = [p for path in TRACKED for p in sorted([project / path, *(project / path).rglob("*")])]
    return {
        str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()
    }


def test_two_runs_in_separate_folders_write_the_same_bytes(trained_project, tmp_path, tiny_model_dir):
    first, _ = trained_project  # the package's trained project, read only
    second, done = train_small_project(tmp_path / "second", str(tiny_model_dir))
    runs = [digests(first), digests(second)]

    assert {"models/model/model.onnx", "models/model/model.int8.onnx", "plots/validation.csv"} <= set(runs[0])
    assert runs[0] == runs[1]
    # The log says what the bytes depend on beyond the inputs.
    assert "[train] training on 1 CPU thread, " in done.stderr


def test_deterministic_kernels_are_the_training_runs_only():
    import torch

    from textclf.pipeline.train import deterministic_kernels

    before = torch.are_deterministic_algorithms_enabled()
    with deterministic_kernels():
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()  # warns, never stops a paid job
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"]
    assert torch.are_deterministic_algorithms_enabled() == before
