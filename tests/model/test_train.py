"""train: the entry point saves the model contract; checkpoints resume; bad input is named."""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import MODEL_FOLDER_FILES
from tests.model.conftest import make_project, run_textclf
from textclf.config import load_params
from textclf.pipeline.train import Hyperparameters, find_resume_checkpoint, local_checkpoint_dir


def steps_per_epoch(project: Path, batch_size: int = 8) -> int:
    rows = (project / "data/prepared/train.jsonl").read_text().splitlines()
    return math.ceil(len(rows) / batch_size)


def test_train_stage_writes_the_model_contract_metrics_and_plots(trained_project):
    tiny_project, _ = trained_project  # trained once for the package (tests/model/conftest.py), read only
    model_dir = tiny_project / "models/model"
    for name in MODEL_FOLDER_FILES:
        assert (model_dir / name).is_file(), name
    assert not (model_dir / "training_args.bin").exists()
    config = json.loads((model_dir / "config.json").read_text())
    labels = json.loads((model_dir / "labels.json").read_text())["labels"]
    assert [config["id2label"][str(i)] for i in range(len(labels))] == labels
    metrics = json.loads((tiny_project / "metrics/train.json").read_text())
    assert metrics["global_step"] == steps_per_epoch(tiny_project)  # one epoch
    # The run's facts (timings, memory, hardware) stay out of the tracked metrics: they differ on
    # every run and would leave `make repro`'s working tree modified.
    job = json.loads((tiny_project / "reports/train_job.json").read_text())
    assert job["backend"] == "local" and job["hardware"]["cpu_count"] >= 1 and job["peak_rss_mb"] > 0
    assert not (tiny_project / "metrics/train_job.json").exists()
    assert "seconds" not in (tiny_project / "metrics/train.json").read_text()
    history = json.loads((model_dir / "training_history.json").read_text())
    assert history and not [k for h in history for k in h if k.endswith(("_runtime", "_per_second"))]
    curve = (tiny_project / "plots/train_loss.csv").read_text().splitlines()
    assert curve[0] == "step,loss" and len(curve) >= 3
    validation = (tiny_project / "plots/validation.csv").read_text().splitlines()
    assert validation[0] == "step,loss,accuracy,macro_f1" and len(validation) >= 2
    # Finished runs clean their checkpoints up.
    assert not any((tiny_project / "work/checkpoints").glob("*/checkpoint-*"))


def test_unknown_model_name_says_what_was_tried(tiny_project):
    params = yaml.safe_load((tiny_project / "params.yaml").read_text())
    params["model"]["name"] = "no-such-org/no-such-model"
    (tiny_project / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_textclf(tiny_project, "train", env={**_env(), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert "params.yaml: model.name: 'no-such-org/no-such-model' is neither a model folder" in result.stderr
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in result.stderr
    assert not (tiny_project / "models/model").exists()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _checkpoint_dir(project: Path) -> Path:
    import os

    cwd = Path.cwd()
    os.chdir(project)
    try:
        params = load_params()
        return project / local_checkpoint_dir(params, Hyperparameters.from_params(params))
    finally:
        os.chdir(cwd)


def test_corrupted_checkpoint_is_reported_and_training_starts_clean(tiny_project, capsys):
    checkpoints = _checkpoint_dir(tiny_project)
    broken = checkpoints / "checkpoint-10"
    broken.mkdir(parents=True)
    (broken / "trainer_state.json").write_text("{not json")
    assert find_resume_checkpoint(checkpoints) is None
    out = capsys.readouterr().out
    assert "checkpoint-10 is corrupted (trainer_state.json unreadable" in out
    assert "training starts clean" in out
    assert not broken.exists()


def test_sigterm_saves_a_checkpoint_and_a_restart_resumes(tmp_path, tiny_model_dir):
    # Enough steps that the run is still going when the signal lands: the first checkpoint is at
    # step 10 of 8 epochs (about 130 steps of the tiny model), and the signal follows it within 0.2 s.
    epochs = 8
    project = make_project(
        tmp_path / "project", str(tiny_model_dir), epochs=epochs, save_steps=10, eval_steps=500
    )
    checkpoints = _checkpoint_dir(project)
    process = subprocess.Popen(
        [sys.executable, "-m", "textclf.cli", "train"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("checkpoint-*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-2000:]
    assert "run again to resume" in stderr
    saved = sorted(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*"))
    assert saved, "a checkpoint must survive the interruption"
    assert not (project / "models/model").exists(), "an interrupted run leaves no model behind"

    result = run_textclf(project, "train")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"resuming from {checkpoints / f'checkpoint-{saved[-1]}'}".replace(str(project) + "/", "")
        in (result.stderr + result.stdout)
        or f"checkpoint-{saved[-1]}" in result.stderr + result.stdout
    )
    job = json.loads((project / "reports/train_job.json").read_text())
    metrics = json.loads((project / "metrics/train.json").read_text())
    assert job["resumed_from_step"] == saved[-1] > 0
    assert metrics["global_step"] == steps_per_epoch(project) * epochs
    history = json.loads((project / "models/model/training_history.json").read_text())
    assert history[-1]["step"] == steps_per_epoch(project) * epochs


@pytest.mark.parametrize("missing", ["train.jsonl", "labels.json"])
def test_missing_prepared_data_is_named(tiny_project, missing):
    (tiny_project / "data/prepared" / missing).unlink()
    result = run_textclf(tiny_project, "train")
    assert result.returncode != 0
    assert missing in result.stderr


def test_hyperparameters_survive_the_sagemaker_string_round_trip(repo_root):
    params = load_params(repo_root / "params.yaml")
    hp = Hyperparameters.from_params(params)
    as_strings = hp.for_sagemaker()
    assert all(isinstance(v, str) for v in as_strings.values())
    assert Hyperparameters.from_sagemaker(as_strings) == hp


def test_copy_of_checkpoint_folder_is_not_shared_between_configs(tmp_path, tiny_model_dir):
    a = make_project(tmp_path / "a", str(tiny_model_dir))
    b = make_project(tmp_path / "b", str(tiny_model_dir), learning_rate=1e-3)
    shutil.rmtree(b / "data/prepared")
    shutil.copytree(a / "data/prepared", b / "data/prepared")
    assert _checkpoint_dir(a).name != _checkpoint_dir(b).name
