"""The training log a person follows (issue 29): the run's size when training starts, then at every
logging step the epoch, step, loss, time elapsed and, once a few steps gave a rate, about how long
is left at that rate; not the Trainer's raw metric dicts, which said nothing of time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.training.test_local_runner import default_model_hyperparameters
from textclf.config import load_params
from textclf.pipeline.train import (
    ESTIMATE_AFTER_STEPS,
    JOB_FACTS_FILE,
    Hyperparameters,
    TrainingProgress,
    duration,
    hardware,
    last_local_rate,
    rough_duration,
    run_local,
    speed_basis,
)

WIDTH = 100
PREFIX = "[train] "  # what run_stage's log puts before each line


class Clock:
    """A fake monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(step: int, max_steps: int = 156, epochs: int = 2) -> SimpleNamespace:
    """The TrainerState fields the progress line reads."""
    per_epoch = max_steps / epochs
    return SimpleNamespace(
        global_step=step, max_steps=max_steps, num_train_epochs=epochs, epoch=step / per_epoch
    )


def started(rows: int = 1245, epochs: float = 2, step: int = 0, max_steps: int = 156, batch: int = 16):
    clock, lines = Clock(), []
    progress = TrainingProgress(rows, epochs, lines.append, clock)
    first = progress.begin(step, max_steps, batch)
    return progress, clock, first


def test_the_first_line_gives_the_size_of_the_run():
    _, _, first = started(rows=639, epochs=2, max_steps=80, batch=16)

    assert first == ["training 639 rows x 2 epochs = 1,278 samples at batch 16: 80 steps"]


def test_one_epoch_and_a_fraction_of_one():
    assert started(rows=40, epochs=1, max_steps=5, batch=8)[2] == [
        "training 40 rows x 1 epoch = 40 samples at batch 8: 5 steps"
    ]
    assert started(rows=100, epochs=1.5, max_steps=10, batch=16)[2] == [
        "training 100 rows x 1.5 epochs = 150 samples at batch 16: 10 steps"
    ]


def test_no_estimate_before_a_few_steps_gave_a_rate():
    progress, clock, _ = started()
    clock.now += 8.0

    line = progress.line(
        state(ESTIMATE_AFTER_STEPS - 1), {"loss": 1.0986, "learning_rate": 5e-5, "epoch": 0.03}
    )

    assert line == "epoch 1/2  step 2/156  loss 1.10  8 s elapsed"


def test_the_estimate_is_the_rate_so_far_times_the_steps_left():
    progress, clock, _ = started()
    clock.now += 130.0  # 40 steps in 130 s: 3.25 s a step, 116 steps left: 377 s

    line = progress.line(state(40), {"loss": 0.8312, "grad_norm": 3.2, "learning_rate": 4e-5, "epoch": 0.51})

    assert line == "epoch 1/2  step 40/156  loss 0.831  2 min 10 s elapsed, about 6 min left (4.9 samples/s)"
    assert len(PREFIX + line) <= WIDTH


def test_a_resumed_run_counts_its_own_steps_only():
    progress, clock, first = started(step=80)
    assert first[1] == "resuming at step 80: 76 steps to go"
    clock.now += 100.0  # 10 steps of this run in 100 s; the 80 before took another run's time

    line = progress.line(state(90), {"loss": 0.4})

    assert line == "epoch 2/2  step 90/156  loss 0.400  1 min 40 s elapsed, about 11 min left (1.6 samples/s)"


def validated(progress: TrainingProgress, step: int, seconds: float, max_steps: int = 80) -> None:
    """A validation at `step` that took `seconds`, as the Trainer logs it."""
    logs = {"eval_loss": 1.0 / step, "eval_accuracy": 0.5, "eval_runtime": seconds}
    assert progress.line(state(step, max_steps=max_steps), logs).startswith(f"validation at step {step}:")


def test_validations_left_are_estimated_at_their_measured_time():
    progress, clock, _ = started(max_steps=80)
    progress.begin(0, 80, 16, eval_every=10)
    for step in (10, 20, 30, 40):
        validated(progress, step, 15.0)
    clock.now += 300.0  # 50 steps: 240 s of steps (4.8 s each) and 60 s of validations

    # 30 steps left at 4.8 s, and the validations at 50 (its log comes first), 60, 70 and 80 at 15 s.
    assert progress.seconds_left(50, 80, 300.0) == pytest.approx(30 * 4.8 + 4 * 15.0)
    assert ", about 3 min left (2.7 samples/s)" in progress.line(state(50, max_steps=80), {"loss": 0.5})


def test_the_last_steps_validation_counts_when_the_steps_are_no_multiple_of_eval_steps():
    progress, _, _ = started(max_steps=78)
    progress.begin(0, 78, 16, eval_every=40)
    validated(progress, 40, 20.0, max_steps=78)

    # 28 steps at (320 - 20) / 50 s, and the validation the Trainer adds at step 78.
    assert progress.seconds_left(50, 78, 320.0) == pytest.approx(28 * 6.0 + 20.0)


def test_before_a_validation_was_timed_the_rate_so_far_is_all_there_is():
    progress, _, _ = started(max_steps=80)
    progress.begin(0, 80, 16, eval_every=40)

    assert progress.seconds_left(20, 80, 100.0) == pytest.approx(60 * 5.0)


def test_the_last_step_says_the_rate_and_nothing_left():
    progress, clock, _ = started(max_steps=80)
    clock.now += 1427.0

    line = progress.line(state(80, max_steps=80), {"loss": 0.61})

    assert line == "epoch 2/2  step 80/80  loss 0.610  24 min elapsed (0.9 samples/s)"


def test_the_epoch_is_the_one_the_step_belongs_to():
    progress, _, _ = started(max_steps=80)
    # The step that ends epoch 1 is in epoch 1 (the Trainer's epoch is 1.0 there), the next in epoch 2.
    assert progress.line(state(40, max_steps=80), {"loss": 0.5}).startswith("epoch 1/2  step 40/80")
    assert progress.line(state(41, max_steps=80), {"loss": 0.5}).startswith("epoch 2/2  step 41/80")


def test_a_run_of_hours_stays_within_100_columns():
    """10,000 rows x 3 epochs at batch 16 on a loaded CPU. (A longer line, tens of thousands of
    steps and hours more, is folded at 100 columns by `textclf train`: cli.FoldedLines.)"""
    progress, clock, first = started(rows=10_000, epochs=3, max_steps=1_875, batch=16)
    clock.now += 53 * 60  # 600 steps: 5.3 s a step, 1,275 left: 6,758 s

    line = progress.line(state(600, max_steps=1_875, epochs=3), {"loss": 0.012345})

    assert first == ["training 10,000 rows x 3 epochs = 30,000 samples at batch 16: 1,875 steps"]
    assert (
        line == "epoch 1/3  step 600/1875  loss 0.0123  53 min elapsed, about 1 h 53 min left (3.0 samples/s)"
    )
    assert all(len(PREFIX + text) <= WIDTH for text in [*first, line])


def test_validation_and_the_end_are_one_line_each_without_the_timing_keys():
    progress, _, _ = started(max_steps=80)
    validation = {
        "eval_loss": 0.50912,
        "eval_accuracy": 0.974,
        "eval_macro_f1": 0.97391,
        "eval_runtime": 16.9,
        "eval_samples_per_second": 15.92,
        "eval_steps_per_second": 0.533,
        "epoch": 1.0,
    }
    end = {
        "train_runtime": 1427.3,
        "train_samples_per_second": 0.896,
        "train_steps_per_second": 0.056,
        "total_flos": 1.2e12,
        "train_loss": 0.6123,
        "epoch": 2.0,
    }

    assert progress.line(state(40, max_steps=80), validation) == (
        "validation at step 40: loss 0.5091, accuracy 0.974, macro_f1 0.9739 (17 s)"
    )
    # train_model validates again after training, on the weights of the last step: said once.
    assert progress.line(state(80, max_steps=80), {**validation, "eval_loss": 0.4}).startswith("validation")
    assert (
        progress.line(state(80, max_steps=80), {**validation, "eval_loss": 0.4, "eval_runtime": 3.0}) is None
    )
    assert progress.line(state(80, max_steps=80), end) == (
        "training done: 80 steps in 24 min (0.9 samples/s), mean loss 0.6123"
    )


@pytest.mark.parametrize(
    ("seconds", "measured", "estimated"),
    [
        (0.4, "0 s", "1 s"),
        (7.4, "7 s", "7 s"),
        (44, "44 s", "45 s"),
        (59.6, "1 min", "1 min"),
        (130, "2 min 10 s", "2 min"),
        (599, "9 min 59 s", "10 min"),
        (1427, "24 min", "24 min"),
        (3600, "1 h", "1 h"),
        (3 * 3600 + 7 * 60 + 20, "3 h 7 min", "3 h 7 min"),
    ],
)
def test_durations_read_as_a_person_says_them(seconds, measured, estimated):
    assert duration(seconds) == measured
    assert rough_duration(seconds) == estimated


def test_a_real_training_logs_the_size_and_progress_lines_and_no_raw_dicts(
    small_project_template, tmp_path, monkeypatch, capsys
):
    """The tiny model on the small project (about 40 rows, batch 8: 5 steps, a log every 2), by
    the local backend: the Trainer calls the callback as the unit tests above assume, its own
    printer is gone, and the last local run's rate on this machine gives an estimate at once."""
    shutil.copytree(small_project_template, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    params = load_params()
    hp = Hyperparameters.from_params(params)
    rows = len(Path("data/prepared/train.jsonl").read_text(encoding="utf-8").splitlines())
    steps = -(-rows // hp.batch_size)
    last_run = {
        "train_samples_per_second": 4.0,
        "backend": "local",
        **speed_basis(hp),
        "hardware": hardware(),
    }
    JOB_FACTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    JOB_FACTS_FILE.write_text(json.dumps(last_run), encoding="utf-8")
    lines: list[str] = []

    facts = run_local(params, hp, tmp_path / "model", lines.append)

    assert facts["global_step"] == steps
    out = capsys.readouterr()
    assert "{'loss'" not in out.out + out.err and "{'eval_loss'" not in out.out + out.err
    assert f"training {rows} rows x 1 epoch = {rows} samples at batch {hp.batch_size}: {steps} steps" in lines
    estimate = f"about {rough_duration(rows / 4.0)}"
    assert f"at the 4.0 samples/s of the last training here (reports/train_job.json): {estimate}" in lines
    progress = [line for line in lines if line.startswith("epoch 1/1  step ")]
    assert [line.split()[3] for line in progress] == [f"2/{steps}", f"4/{steps}"]
    assert " elapsed" in progress[0] and "left" not in progress[0]  # 2 steps: no rate yet
    assert ", about " in progress[1] and " left (" in progress[1] and progress[1].endswith(" samples/s)")
    assert sum(line.startswith(f"validation at step {steps}: loss ") for line in lines) == 1
    assert any(line.startswith(f"training done: {steps} steps in ") for line in lines)
    mine = (f"training {rows} rows", "at the ", "epoch ", "validation at step ", "training done: ")
    assert all(len(PREFIX + line) <= WIDTH for line in lines if line.startswith(mine))
    # The plots' history is the Trainer's, as before: a loss at each logging step.
    history = json.loads(Path(tmp_path / "model/training_history.json").read_text(encoding="utf-8"))
    assert [h["step"] for h in history if "loss" in h] == [2, 4]
    # This run's facts say what its rate depends on, for the next run's estimate.
    assert {key: facts[key] for key in ("model", "max_length", "batch_size")} == speed_basis(hp)


def last_run_facts(hp: Hyperparameters, **changes) -> dict:
    return {
        "train_samples_per_second": 3.72,
        "backend": "local",
        **speed_basis(hp),
        "hardware": hardware(),
    } | changes


@pytest.fixture
def hp() -> Hyperparameters:
    return default_model_hyperparameters()


def test_the_last_local_runs_rate_is_a_basis_only_for_the_same_model_and_machine(hp, tmp_path):
    path = tmp_path / "train_job.json"
    assert last_local_rate(hp, path) is None  # no last run

    path.write_text(json.dumps(last_run_facts(hp)), encoding="utf-8")
    assert last_local_rate(hp, path) == 3.72

    threads = hardware()["torch_threads"] + 1
    for other in (
        {"model": "another/model"},
        {"max_length": 128},
        {"batch_size": 32},
        {"backend": "sagemaker"},
        {"hardware": {**hardware(), "torch_threads": threads}},
        {"hardware": None},
        {"train_samples_per_second": 0},
        {"train_samples_per_second": "fast"},
        {"model": None},  # facts of a run before the basis was recorded
    ):
        path.write_text(json.dumps(last_run_facts(hp, **other)), encoding="utf-8")
        assert last_local_rate(hp, path) is None, other
    for text in ("not json", "[]", '{"backend": "local"}'):
        path.write_text(text, encoding="utf-8")
        assert last_local_rate(hp, path) is None, text


def test_the_estimate_before_the_first_step_says_whose_rate_it_is():
    clock, lines = Clock(), []
    progress = TrainingProgress(639, 2, lines.append, clock, last_rate=3.72)

    assert progress.begin(0, 80, 16)[1:] == [
        "at the 3.7 samples/s of the last training here (reports/train_job.json): about 6 min"
    ]
    # Resumed at step 60 of 80: a quarter of the samples to go.
    assert progress.begin(60, 80, 16)[2:] == [
        "at the 3.7 samples/s of the last training here (reports/train_job.json): about 1 min"
    ]
    assert TrainingProgress(639, 2, lines.append, clock).begin(0, 80, 16) == [
        "training 639 rows x 2 epochs = 1,278 samples at batch 16: 80 steps"
    ]


@pytest.mark.parametrize("rate", [5e-324, 1e-300, 1e-9, 0.001, 1e6, float("inf"), float("nan")])
def test_a_rate_no_cpu_here_runs_at_gives_no_estimate(hp, tmp_path, rate):
    """A damaged reports/train_job.json: 5e-324 samples/s ended training in OverflowError, 1e-300
    printed a 300-digit duration."""
    path = tmp_path / "train_job.json"
    path.write_text(json.dumps(last_run_facts(hp, train_samples_per_second=rate)), encoding="utf-8")
    assert last_local_rate(hp, path) is None
    for plausible in (0.01, 100_000):
        path.write_text(json.dumps(last_run_facts(hp, train_samples_per_second=plausible)), encoding="utf-8")
        assert last_local_rate(hp, path) == plausible


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e300, 367 * 24 * 3600])
def test_a_time_no_clock_gives_is_unknown(seconds):
    assert duration(seconds) == rough_duration(seconds) == "unknown"
    said = TrainingProgress(1245, 2, print, last_rate=5e-324).begin(0, 312, 8)
    assert said == ["training 1,245 rows x 2 epochs = 2,490 samples at batch 8: 312 steps"]
