"""A run stopped after its first epoch and resumed trains the same model as one never stopped.

Transformers' length-grouped sampler drew each epoch's order from torch's global random state,
which a resumed run had not restored yet when it drew the order of the epoch it resumed in: a Spot
interruption after the first epoch trained the rest on another order (pipeline/train.py
`epoch_seeded_trainer`).
"""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import pytest
import transformers

from tests.model.conftest import make_project
from textclf.config import load_params
from textclf.pipeline.train import Hyperparameters, JobPaths, TrainingInterrupted, train_model


def _hyperparameters(project: Path) -> Hyperparameters:
    cwd = Path.cwd()
    os.chdir(project)
    try:
        return Hyperparameters.from_params(load_params())
    finally:
        os.chdir(cwd)


def _paths(project: Path, run: str) -> JobPaths:
    prepared = project / "data/prepared"
    return JobPaths(prepared, prepared, project / run / "model", project / run / "ck", project / run / "out")


def _sigterm_during_step(monkeypatch, step: int) -> None:
    """SIGTERM while global step `step` trains, as a Spot interruption notice lands mid-step."""
    train_one_step = transformers.Trainer.training_step

    def training_step(self, *args, **kwargs):
        if self.state.global_step + 1 == step:
            os.kill(os.getpid(), signal.SIGTERM)
        return train_one_step(self, *args, **kwargs)

    monkeypatch.setattr(transformers.Trainer, "training_step", training_step)


def test_a_run_resumed_in_its_second_epoch_trains_the_same_bytes(tmp_path, tiny_model_dir, monkeypatch):
    project = make_project(
        tmp_path / "project", str(tiny_model_dir), epochs=2, save_steps=1000, eval_steps=1000
    )
    hp = _hyperparameters(project)
    rows = len((project / "data/prepared/train.jsonl").read_text(encoding="utf-8").splitlines())
    first_of_second_epoch = math.ceil(rows / hp.batch_size) + 1
    quiet = lambda _: None  # noqa: E731

    uninterrupted = train_model(_paths(project, "uninterrupted"), hp, log=quiet)

    with monkeypatch.context() as patch:
        _sigterm_during_step(patch, first_of_second_epoch)
        with pytest.raises(TrainingInterrupted, match=f"stopped at step {first_of_second_epoch} "):
            train_model(_paths(project, "resumed"), hp, log=quiet)
    resumed = train_model(_paths(project, "resumed"), hp, log=quiet)

    assert resumed["resumed_from_step"] == first_of_second_epoch
    assert resumed["global_step"] == uninterrupted["global_step"]
    weights = "model.safetensors"
    assert (project / "resumed/model" / weights).read_bytes() == (
        project / "uninterrupted/model" / weights
    ).read_bytes(), f"resumed {resumed}, uninterrupted {uninterrupted}"
