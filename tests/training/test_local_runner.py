"""The local SageMaker runner: the training image's entry point on the container contract, with
Spot interruptions, stopping conditions and several instances, as real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import tarfile
from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare, sample_data
from textclf.pipeline.train import Hyperparameters, JobPaths, train_model
from textclf.training.local_runner import (
    FolderChannel,
    FolderCheckpointStore,
    JobSpec,
    LocalTrainingJob,
    _Host,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """The runner's status and log callbacks, kept."""

    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.lines: list[tuple[str, str]] = []

    def status(self, status: str, message: str) -> None:
        self.statuses.append(status)

    def log(self, host: str, line: str) -> None:
        self.lines.append((host, line))

    def job_facts(self, host: str = "algo-1") -> list[dict]:
        """The JSON lines `textclf train-job` prints when it completes, one per attempt that did."""
        return [json.loads(line) for h, line in self.lines if h == host and line.startswith('{"global_step"')]


def channels(folder: Path) -> dict:
    return {
        "train": FolderChannel(folder, ("train.jsonl", "labels.json")),
        "validation": FolderChannel(folder, ("validation.jsonl",)),
    }


def run_job(work: Path, spec: JobSpec, store: Path | None = None) -> tuple[object, Recorder]:
    recorder = Recorder()
    job = LocalTrainingJob(
        work,
        spec,
        FolderCheckpointStore(store) if store else None,
        None,
        on_status=recorder.status,
        on_log=recorder.log,
    )
    return job.run(), recorder


@pytest.fixture(scope="module")
def sample_splits(tmp_path_factory) -> Path:
    """The bundled sample, prepared, with the training split cut to 120 texts (15 steps of 8 an epoch)."""
    root = tmp_path_factory.mktemp("sample")
    sample_data.write_sample(root / "raw")
    with contextlib.chdir(root):  # params paths are relative to the project root
        prepare.run(DataParams(raw_dir="raw", prepared_dir="prepared"), Path("data.json"))
    train = (root / "prepared/train.jsonl").read_text(encoding="utf-8").splitlines()
    random.Random(0).shuffle(train)
    (root / "prepared/train.jsonl").write_text("\n".join(train[:120]) + "\n", encoding="utf-8")
    return root / "prepared"


def default_model_hyperparameters(**changes) -> Hyperparameters:
    return Hyperparameters(
        model_name="sentence-transformers/all-MiniLM-L6-v2",
        max_length=64,
        epochs=2,
        batch_size=8,
        learning_rate=1e-4,
        weight_decay=0.01,
        warmup_ratio=0.1,
        seed=42,
        group_by_length=True,
        eval_steps=1000,  # evaluate once, at the end
        save_steps=10,
        save_total_limit=2,
        logging_steps=10,
        **changes,
    )


@pytest.mark.slow
def test_spot_interruption_resumes_and_matches_an_uninterrupted_run(sample_splits, tmp_path):
    """SIGTERM once step 10 of 30 (mid first epoch) is checkpointed; the restarted program resumes
    mid-training from the synced checkpoints, the global step carries on, and the model is as good
    as without it. (The program stops at the end of the step it is in when the signal comes: 20
    steps of the default model left leave room for that on a fast machine.)"""
    hp = default_model_hyperparameters()
    baseline_dir = tmp_path / "baseline"
    baseline = train_model(
        JobPaths(
            sample_splits, sample_splits, baseline_dir / "model", baseline_dir / "ck", baseline_dir / "out"
        ),
        hp,
        log=lambda _: None,
    )

    spec = JobSpec(
        channels=channels(sample_splits),
        hyperparameters=hp.for_sagemaker(),
        interrupt_at_steps=(10,),
        stop_grace_seconds=60,
    )
    outcome, recorder = run_job(tmp_path / "work", spec, store=tmp_path / "checkpoints")

    assert outcome.status == "Completed", outcome.failure_reason
    assert outcome.interruptions == 1
    assert recorder.statuses.count("Training") == 2 and "Interrupted" in recorder.statuses
    final = recorder.job_facts()[-1]
    compared = f"interrupted run {final}, uninterrupted run {baseline}"
    # Resumed mid-training, from a checkpoint the first run wrote (periodic or just-in-time).
    assert 10 <= final["resumed_from_step"] < baseline["global_step"], compared
    assert final["global_step"] == baseline["global_step"] == 30, compared
    assert abs(final["validation_accuracy"] - baseline["validation_accuracy"]) <= 0.01, compared
    assert abs(final["validation_macro_f1"] - baseline["validation_macro_f1"]) <= 0.01, compared
    with tarfile.open(outcome.model_tar) as archive:
        names = set(archive.getnames())
    assert {"config.json", "model.safetensors", "labels.json", "training_history.json"} <= names


def test_max_runtime_stops_the_program(small_project_template, tmp_path):
    params = json.loads(json.dumps(_tiny_hyperparameters(small_project_template)))
    spec = JobSpec(
        channels=channels(small_project_template / "data/prepared"),
        hyperparameters=params,
        max_runtime_seconds=1,
        stop_grace_seconds=5,
    )
    outcome, recorder = run_job(tmp_path / "work", spec)
    assert (outcome.status, outcome.secondary_status) == ("Stopped", "MaxRuntimeExceeded")
    assert outcome.model_tar is None and recorder.statuses[-1] == "MaxRuntimeExceeded"


def test_a_missing_channel_file_fails_the_job(small_project_template, tmp_path):
    spec = JobSpec(
        channels={"train": FolderChannel(tmp_path, ("train.jsonl",))},
        hyperparameters=_tiny_hyperparameters(small_project_template),
    )
    outcome, _ = run_job(tmp_path / "work", spec)
    assert outcome.status == "Failed" and "train.jsonl not found" in outcome.failure_reason


@pytest.mark.slow
def test_two_instances_train_data_parallel_through_the_images_train_program(small_project_template, tmp_path):
    """docker/train on two "instances": torchrun on each, one process per host on CPU (gloo);
    the ranks split the batches and only rank 0 writes the model."""
    hp = _tiny_hyperparameters(small_project_template)
    spec = JobSpec(
        channels=channels(small_project_template / "data/prepared"),
        hyperparameters=hp,
        instance_count=2,
        command=(str(REPO_ROOT / "docker/train"),),
        env={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},  # `python` in docker/train
    )
    outcome, recorder = run_job(tmp_path / "work", spec)

    assert outcome.status == "Completed", outcome.failure_reason
    launches = [line for _, line in recorder.lines if line.startswith("[train] algo-")]
    assert any("algo-1 of 2" in line and "--node_rank=0" in line for line in launches)
    assert any("algo-2 of 2" in line and "--node_rank=1" in line for line in launches)
    rows = len((small_project_template / "data/prepared/train.jsonl").read_text().splitlines())
    per_step = int(hp["batch_size"]) * 2  # two ranks, a batch each
    assert recorder.job_facts("algo-1")[-1]["global_step"] == -(-rows // per_step)
    assert (tmp_path / "work/algo-1/model/model.safetensors").is_file()
    assert not any((tmp_path / "work/algo-2/model").iterdir())


def test_instances_sharing_this_machine_share_its_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for count, threads in ((2, "4"), (3, "2"), (16, "1")):
        job = LocalTrainingJob(
            tmp_path, JobSpec(channels={}, hyperparameters={}, instance_count=count), None, None
        )
        assert job._environment(_Host("algo-1", tmp_path), 0)["OMP_NUM_THREADS"] == threads
    alone = LocalTrainingJob(tmp_path, JobSpec(channels={}, hyperparameters={}), None, None)
    assert "OMP_NUM_THREADS" not in alone._environment(_Host("algo-1", tmp_path), 0)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert job._environment(_Host("algo-1", tmp_path), 0)["OMP_NUM_THREADS"] == "1"


def _tiny_hyperparameters(project: Path) -> dict[str, str]:
    from textclf.config import load_params

    return Hyperparameters.from_params(load_params(project / "params.yaml")).for_sagemaker()


def test_command_line_rehearsal_with_relative_folders(small_project_template, tmp_path, monkeypatch):
    """`python -m textclf.training.local_runner` (make sagemaker-local): params.yaml and data/prepared of
    the working directory, relative work folders, the model archive where it says."""
    import shutil
    import subprocess

    shutil.copytree(small_project_template, tmp_path, dirs_exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "textclf.training.local_runner", "--work", "work/job", "--out", "work/out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["status"] == "Completed" and summary["model"] == "work/out/model.tar.gz"
    with tarfile.open(tmp_path / summary["model"]) as archive:
        assert "model.safetensors" in archive.getnames()
