"""Stage `train`: fine-tune the classifier with the HuggingFace Trainer.

There is one training entry point, `train_model`, and it follows the SageMaker container contract:
data channels (`SM_CHANNEL_TRAIN`, `SM_CHANNEL_VALIDATION`), the model folder (`SM_MODEL_DIR`),
checkpoints (`/opt/ml/checkpoints`) and hyperparameters (`/opt/ml/input/config/hyperparameters.json`).
Inside a training job `textclf train-job` reads them from the job (`main_job`). The DVC stage
(`run_stage`) runs a backend into a staging folder that becomes `models/model`: `run_local` maps the
same paths onto local folders; `textclf.training.backends` picks it or the SageMaker backend from
`train.backend`. Every backend ends with the same files in `models/model`.

A SIGTERM (a Spot interruption, Ctrl-C in a terminal, a CI cancel) saves a checkpoint at the
current step and exits 143; started again with the same data and hyperparameters, training
resumes from that checkpoint with the global step carrying on.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from textclf import atomic, interrupt
from textclf.config import ModelParams, Params, ServeParams, TrainParams
from textclf.serving.inference import CHARS_PER_TOKEN, is_label_list, not_regular
from textclf.text import lone_surrogate

MODEL_DIR = Path("models/model")
CHECKPOINT_ROOT = Path("work/checkpoints")
TRAIN_METRICS_FILE = Path("metrics/train.json")
# The run's facts (wall time, speed, memory, hardware; a SageMaker job's name, billable seconds and
# cost): not a DVC output, because they differ on every run, and a tracked file that changes with
# every `make repro` leaves the working tree modified when nothing else changed. The report reads it.
JOB_FACTS_FILE = Path("reports/train_job.json")
TRAIN_LOSS_PLOT = Path("plots/train_loss.csv")
VALIDATION_PLOT = Path("plots/validation.csv")
HISTORY_FILE = "training_history.json"
# Keys of the Trainer's log history that are timings, kept out of the model folder.
TIMING_KEYS = ("_runtime", "_per_second")
INTERRUPTED_EXIT_CODE = 143  # 128 + SIGTERM, what an interrupted process reports


class TrainingInterrupted(RuntimeError):
    """Training stopped before its last step; a checkpoint holds the progress."""

    exit_code = INTERRUPTED_EXIT_CODE


class StageTerminated(TrainingInterrupted):
    """A stop signal (SIGTERM: a CI cancel, `timeout`, `kill`; SIGHUP) outside the Trainer's loop,
    raised where it arrives so that the stage's staging folder goes and nothing is installed."""

    def __init__(self, signum: int) -> None:
        super().__init__(
            f"terminated ({signal.Signals(signum).name}): nothing was installed (models/model, the "
            "metrics and plots are as the last run left them); run the stage again"
        )
        self.exit_code = 128 + signum


def as_in_params(section: type[BaseModel], name: str) -> Any:
    """The type and bounds params.yaml gives `name` in `section` (textclf.config), without its
    default: a job's hyperparameters are held to params.yaml's own rules, not to a copy of them."""
    field = section.model_fields[name]
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


class Hyperparameters(BaseModel):
    """What a training run needs besides the data. SageMaker passes every value as a string;
    pydantic turns "3" and "true" back into 3 and True. Each value is checked as params.yaml
    checks it (config.TrainParams, ModelParams.max_length, ServeParams): a job started by hand or
    through the training-run function with epochs 1e300, a learning rate of 50 or a seed of -5 stops
    at once, naming the value, instead of training until MaxRuntime."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model_name: str
    max_length: as_in_params(ModelParams, "max_length")
    # The labels, in class-id order; None: the train channel's labels.json. Its rule when given.
    labels: list[str] | None = None
    epochs: as_in_params(TrainParams, "epochs")
    batch_size: as_in_params(TrainParams, "batch_size")
    learning_rate: as_in_params(TrainParams, "learning_rate")
    weight_decay: as_in_params(TrainParams, "weight_decay")
    warmup_ratio: as_in_params(TrainParams, "warmup_ratio")
    seed: as_in_params(TrainParams, "seed")
    group_by_length: as_in_params(TrainParams, "group_by_length")
    eval_steps: as_in_params(TrainParams, "eval_steps")
    save_steps: as_in_params(TrainParams, "save_steps")
    save_total_limit: as_in_params(TrainParams, "save_total_limit")
    logging_steps: as_in_params(TrainParams, "logging_steps")
    # Which ONNX graphs the model folder carries besides model.onnx and which one it serves
    # (deploy.serve.quantize, deploy.serve.int8_tolerance; textclf.pipeline.export).
    quantize: as_in_params(ServeParams, "quantize") = "none"
    int8_tolerance: as_in_params(ServeParams, "int8_tolerance") = 0.01

    @field_validator("labels")
    @classmethod
    def _a_label_list(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None and not is_label_list(labels):
            raise ValueError("must be two or more distinct, non-empty labels (what labels.json holds)")
        return labels

    @classmethod
    def from_params(cls, params: Params) -> Hyperparameters:
        train = params.train.model_dump(exclude={"backend"})
        return cls(
            model_name=params.model.name,
            max_length=params.model.max_length,
            quantize=params.deploy.serve.quantize,
            int8_tolerance=params.deploy.serve.int8_tolerance,
            **train,
        )

    def for_sagemaker(self) -> dict[str, str]:
        """The job's HyperParameters: a flat map of strings (lists as JSON)."""
        out = {}
        for key, value in self.model_dump(exclude_none=True).items():
            out[key] = json.dumps(value) if isinstance(value, list | bool) else str(value)
        return out

    @classmethod
    def from_sagemaker(cls, raw: dict[str, str]) -> Hyperparameters:
        if not isinstance(raw, dict):
            raise ValueError(
                f"the hyperparameters must be a JSON object of strings, not {type(raw).__name__}"
            )
        decoded: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and (value.startswith(("[", "{")) or value in ("true", "false")):
                value = json.loads(value)
            decoded[key] = value
        return cls.model_validate(decoded)

    def fingerprint(self) -> str:
        # The export does not change training: a run that differs only in it resumes the same checkpoints.
        exported = {"quantize", "int8_tolerance"}
        return hashlib.sha256(self.model_dump_json(exclude=exported).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class JobPaths:
    """The SageMaker container contract's folders."""

    train_channel: Path
    validation_channel: Path
    model_dir: Path
    checkpoint_dir: Path
    output_dir: Path

    @classmethod
    def from_env(cls, root: Path = Path("/opt/ml")) -> JobPaths:
        env = os.environ.get
        return cls(
            train_channel=Path(env("SM_CHANNEL_TRAIN", root / "input/data/train")),
            validation_channel=Path(env("SM_CHANNEL_VALIDATION", root / "input/data/validation")),
            model_dir=Path(env("SM_MODEL_DIR", root / "model")),
            checkpoint_dir=Path(env("SM_CHECKPOINT_DIR", root / "checkpoints")),
            output_dir=Path(env("SM_OUTPUT_DIR", root / "output")),
        )


# ---------------------------------------------------------------------------------------------
# The training entry point


class PreparedDataError(ValueError):
    """The prepared data (prepare's outputs) is missing or malformed; the message names the file,
    the line and what to do."""


PREPARED_FILES = ("train.jsonl", "validation.jsonl", "labels.json")


def _read_split(folder: Path, name: str, labels: list[str] | None = None) -> list[dict]:
    """The rows of `<name>.jsonl`: objects with a string `text` and a `label` from `labels`."""
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        raise PreparedDataError(f"{path}: split not found; run the prepare stage first (dvc repro prepare)")
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    rows.append(_row(line, f"{path} line {number}", labels))
    except UnicodeDecodeError:
        raise PreparedDataError(f"{path}: not UTF-8; run the prepare stage again") from None
    if not rows:
        raise PreparedDataError(f"{path}: no rows; run the prepare stage again")
    return rows


def _row(line: str, where: str, labels: list[str] | None) -> dict:
    try:
        row = json.loads(line, object_pairs_hook=atomic.unique_keys)
    except atomic.DuplicateKey as duplicate:  # JSON's last-wins would pick one silently
        raise PreparedDataError(
            f"{where}: key {duplicate.key!r} is given twice; run the prepare stage again"
        ) from None
    except (ValueError, RecursionError):
        raise PreparedDataError(f"{where}: not a JSON object; run the prepare stage again") from None
    if (
        not isinstance(row, dict)
        or not isinstance(row.get("text"), str)
        or not isinstance(row.get("label"), str)
    ):
        raise PreparedDataError(
            f'{where}: expected {{"text": "...", "label": "..."}} with two strings; run prepare again'
        )
    if (bad := lone_surrogate(row["text"]) or lone_surrogate(row["label"])) is not None:
        # datasets' UnicodeEncodeError, a traceback, once training had started (R14A-9).
        raise PreparedDataError(
            f"{where}: holds a lone surrogate (U+{ord(bad):04X}), which is no character; run the prepare "
            "stage again"
        )
    if labels is not None and row["label"] not in labels:
        raise PreparedDataError(
            f"{where}: label {row['label']!r} is not in labels.json {labels}; the prepared files come from "
            "two runs of prepare: run it again"
        )
    return row


def _read_labels(folder: Path) -> list[str]:
    path = folder / "labels.json"
    try:
        labels = json.loads(path.read_text(encoding="utf-8")).get("labels")
    except FileNotFoundError:
        raise PreparedDataError(
            f"{path}: not found; run the prepare stage first (dvc repro prepare)"
        ) from None
    except (OSError, ValueError, RecursionError, AttributeError):
        labels = None
    if not is_label_list(labels):
        raise PreparedDataError(
            f'{path}: expected {{"labels": [...]}} with two or more distinct labels; run prepare again'
        )
    return labels


def check_prepared(folder: Path) -> list[str]:
    """The labels, once labels.json and both splits are readable and every row's label is one of
    them; else PreparedDataError naming the file and line. Before any training starts."""
    special = {name: not_regular(folder / name) for name in PREPARED_FILES if (folder / name).exists()}
    special = {name: kind for name, kind in special.items() if kind}
    if special:
        raise PreparedDataError(
            "; ".join(f"{folder / name} is not a regular file ({kind})" for name, kind in special.items())
            + ": prepare writes regular files; run it again (dvc repro prepare)"
        )
    missing = [name for name in PREPARED_FILES if not (folder / name).is_file()]
    if missing:
        raise PreparedDataError(
            f"{folder} lacks {', '.join(missing)}: run the prepare stage first (dvc repro prepare, or "
            "textclf prepare)"
        )
    labels = _read_labels(folder)
    for split in ("train", "validation"):
        _read_split(folder, split, labels)
    return labels


def _is_usable_checkpoint(folder: Path) -> str | None:
    """None when `folder` can be resumed from, else what is wrong with it."""
    state = folder / "trainer_state.json"
    try:
        json.loads(state.read_text(encoding="utf-8"))["global_step"]
    except (OSError, ValueError, KeyError) as error:
        return f"trainer_state.json unreadable ({type(error).__name__})"
    weights = [folder / "model.safetensors", folder / "pytorch_model.bin"]
    if not any(w.is_file() and w.stat().st_size > 0 for w in weights):
        return "no model weights"
    if not (folder / "optimizer.pt").is_file():
        return "no optimizer state"
    try:
        from safetensors import safe_open

        if (folder / "model.safetensors").is_file():
            with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
                list(handle.keys())
    except Exception as error:
        return f"model.safetensors unreadable ({type(error).__name__})"
    return None


def find_resume_checkpoint(checkpoint_dir: Path, log=print) -> Path | None:
    """The newest checkpoint that is intact. Broken ones are removed, with a message."""
    candidates = sorted(
        (p for p in checkpoint_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for candidate in candidates:
        problem = _is_usable_checkpoint(candidate)
        if problem is None:
            return candidate
        log(f"checkpoint {candidate} is corrupted ({problem}); removing it")
        shutil.rmtree(candidate, ignore_errors=True)
    if candidates:
        log("no intact checkpoint left; training starts clean")
    return None


def _compute_metrics(prediction) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    predicted = prediction.predictions.argmax(axis=-1)
    return {
        "accuracy": float(accuracy_score(prediction.label_ids, predicted)),
        "macro_f1": float(f1_score(prediction.label_ids, predicted, average="macro", zero_division=0)),
    }


def _tokenized(rows: list[dict], tokenizer, label2id: dict[str, int], max_length: int):
    from datasets import Dataset

    # Cut before tokenizing, as evaluate and the server do (serving.inference.CHARS_PER_TOKEN): a
    # megabyte-long text would be tokenized whole only to keep its first max_length tokens.
    # Prepared texts are normalised (whitespace collapsed), so the cut keeps every kept token.
    cut = max_length * CHARS_PER_TOKEN
    dataset = Dataset.from_dict(
        {"text": [r["text"][:cut] for r in rows], "label": [label2id[r["label"]] for r in rows]}
    )
    # No padding here: the collator pads each batch to its own longest text (dynamic padding).
    return dataset.map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
        batched=True,
        remove_columns=["text"],
        keep_in_memory=True,
    )


def _training_args(hp: Hyperparameters, checkpoint_dir: Path, pad_to_max_length: bool):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=hp.epochs,
        per_device_train_batch_size=hp.batch_size,
        per_device_eval_batch_size=max(hp.batch_size, 32),
        learning_rate=hp.learning_rate,
        weight_decay=hp.weight_decay,
        warmup_steps=hp.warmup_ratio,  # a float below 1 is a ratio of the total steps
        seed=hp.seed,
        data_seed=hp.seed,
        train_sampling_strategy="group_by_length"
        if hp.group_by_length and not pad_to_max_length
        else "random",
        eval_strategy="steps",
        eval_steps=hp.eval_steps,
        save_strategy="steps",
        save_steps=hp.save_steps,
        save_total_limit=hp.save_total_limit,
        logging_steps=hp.logging_steps,
        report_to="none",
        use_cpu=not _has_accelerator(),
        dataloader_pin_memory=False,
    )


def epoch_seeded_trainer():
    """The Trainer class, its length-grouped sampler drawing each epoch's order from
    (train.seed, epoch) alone.

    Transformers' LengthGroupedSampler takes no generator (trainer.py `_get_train_sampler`), so it
    draws every epoch's order from torch's global random state, which dropout moves during the
    epoch before. A run resumed after the first epoch draws its order before the checkpoint's
    random state is restored (`_run_epoch` restores it after the first batch), so it trained the
    second epoch on the first epoch's order: resumed at step 16 of 30, validation accuracy 0.4142
    where the uninterrupted run reached 0.4403. Seeded per epoch, the order of epoch e is the same
    in an uninterrupted run, a resumed one, and on every rank; the Trainer calls `set_epoch`
    before each epoch (accelerate's `DataLoaderShard.set_epoch` passes it to the sampler).
    Plain random sampling needs nothing: accelerate's SeedableRandomSampler already seeds per epoch.
    """
    import torch
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

    class EpochSeededLengthGroupedSampler(torch.utils.data.Sampler):
        def __init__(self, lengths: list[int], batch_size: int, seed: int) -> None:
            self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
            self.epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __len__(self) -> int:
            return len(self.lengths)

        def __iter__(self):
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))

    class EpochSeededTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            sampler = super()._get_train_sampler(train_dataset)
            if isinstance(sampler, LengthGroupedSampler):
                return EpochSeededLengthGroupedSampler(
                    sampler.lengths, sampler.batch_size, self.args.data_seed
                )
            return sampler

    return EpochSeededTrainer


class StopOnSigterm:
    """A Trainer callback: on SIGTERM, finish the current step, save a checkpoint, stop.

    Transformers' own just-in-time checkpoint saves inside the next step, before its optimizer
    update, under the previous step's name; resuming from it is not the same as resuming from a
    finished step. Saving at a step boundary keeps a resumed run equal to an uninterrupted one.
    """

    def __init__(self) -> None:
        from transformers import TrainerCallback

        self.requested = False
        callback = self

        class _Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if callback.requested:
                    control.should_save = True
                    control.should_training_stop = True
                return control

        self.callback = _Callback()

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def uninstall(self) -> None:
        """SIGTERM as before install: once the loop is over nothing reads `requested`, and a signal
        there was swallowed (the export ran on and the model was installed: R14A-2)."""
        previous = getattr(self, "_previous", None)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            self._previous = None

    def _handle(self, signum, frame) -> None:
        self.requested = True


ESTIMATE_AFTER_STEPS = 3  # steps of this run before their rate is taken for an estimate


# Beyond these a time or a rate is a damaged or edited figure, not a measurement: a year of training
# on this CPU, a rate a 2-core CPU cannot reach or one that makes any run last for ages (issue 27:
# reports/train_job.json's 5e-324 samples/s ended training in OverflowError).
LONGEST_SECONDS = 366 * 24 * 3600
PLAUSIBLE_RATES = (0.01, 100_000.0)  # samples/s


def duration(seconds: float) -> str:
    """A measured time as a reader takes it in: '45 s', '2 min 10 s', from 10 minutes on whole
    minutes ('25 min'), then '1 h 5 min'; 'unknown' for no figure a clock gives (inf, NaN, years)."""
    if not math.isfinite(seconds) or seconds > LONGEST_SECONDS:
        return "unknown"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if whole < 3570:
        return f"{round(whole / 60)} min"
    hours, minutes = divmod(round(whole / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def rough_duration(seconds: float) -> str:
    """An estimate, no more precise than it is: whole seconds under 10 s, fives under a minute,
    whole minutes under an hour, then hours and minutes; 'unknown' for inf, NaN or years."""
    if not math.isfinite(seconds) or seconds > LONGEST_SECONDS:
        return "unknown"
    if seconds < 10:
        return f"{max(1, round(seconds))} s"
    if seconds < 57.5:
        return f"{round(seconds / 5) * 5} s"
    if seconds < 3570:
        return f"{max(1, round(seconds / 60))} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _rate(samples_per_second: float) -> str:
    if samples_per_second >= 100:
        return f"{samples_per_second:,.0f}"
    return f"{samples_per_second:.2f}" if samples_per_second < 0.1 else f"{samples_per_second:.1f}"


def _figure(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class TrainingProgress:
    """The training log a person follows, as a Trainer callback (`callback`) in place of the
    library's printer, whose raw metric dicts (`{'loss': '0.83', 'grad_norm': ...}`) said nothing
    of time: one line with the run's size when training starts; at every logging step
    (train.logging_steps) a progress line with the epoch, the step, the loss, the time elapsed and,
    once a few steps of this run gave a rate, about how long is left: the steps left at this run's
    time per step (its checkpoints included), and once a validation was timed, the validations
    left (train.eval_steps, and one at the last step) at its time; a line per validation; the
    run's time at the end. One line each, within 100 columns with the `[train] ` prefix for the
    figures of a run on this machine. Every figure of every logging step stays in the model
    folder's training_history.json and the plots. The clock is the caller's (a test's fake one)."""

    def __init__(
        self,
        rows: int,
        epochs: float,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        last_rate: float | None = None,
    ) -> None:
        self.rows, self.epochs, self.log, self.clock = rows, epochs, log, clock
        self.last_rate = last_rate
        self.started = 0.0
        self.first_step = 0
        self.batch = 1
        self.eval_every: int | None = None  # steps between validations (train.eval_steps)
        self.eval_seconds: list[float] = []  # the validations of this run, timed
        self._validation = ""  # the last validation line
        self._callback = None

    @property
    def callback(self):
        if self._callback is None:
            from transformers import IntervalStrategy, TrainerCallback

            progress = self

            class _Callback(TrainerCallback):
                def on_train_begin(self, args, state, control, **kwargs):
                    if state.is_world_process_zero:
                        batch = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
                        every = state.eval_steps if args.eval_strategy == IntervalStrategy.STEPS else None
                        for line in progress.begin(state.global_step, state.max_steps, batch, every):
                            progress.log(line)

                def on_log(self, args, state, control, logs=None, **kwargs):
                    line = progress.line(state, logs) if state.is_world_process_zero and logs else None
                    if line is not None:
                        progress.log(line)

            self._callback = _Callback()
        return self._callback

    def begin(self, global_step: int, max_steps: int, batch: int, eval_every: int | None = None) -> list[str]:
        """The size line, where a resumed run starts, and an estimate at the last local run's rate
        when there is one; the clock starts here, and a resumed run's rate counts its own steps."""
        self.started, self.first_step, self.batch = self.clock(), global_step, batch
        self.eval_every, self.eval_seconds = eval_every, []
        epochs = f"{self.epochs:g}"
        samples = self.rows * self.epochs
        lines = [
            f"training {self.rows:,} rows x {epochs} epoch{'' if epochs == '1' else 's'} = "
            f"{round(samples):,} samples at batch {batch}: {max_steps:,} steps"
        ]
        to_go = max(0, max_steps - global_step)
        if global_step:
            lines.append(f"resuming at step {global_step:,}: {to_go:,} steps to go")
        left = samples * to_go / max(1, max_steps) / self.last_rate if self.last_rate and to_go else math.nan
        if rough_duration(left) != "unknown":  # no rate, nothing to go, or no time a run takes
            lines.append(
                f"at the {_rate(self.last_rate)} samples/s of the last training here ({JOB_FACTS_FILE}): "
                f"about {rough_duration(left)}"
            )
        return lines

    def line(self, state, logs: dict[str, Any]) -> str | None:
        """The line for one of the Trainer's logs: training progress, a validation, or the end.
        None for a validation that repeats the last one: the Trainer validates at the last step,
        and train_model again, on the same weights, for its figures."""
        if "train_runtime" in logs:
            return (
                f"training done: {state.global_step - self.first_step:,} steps in "
                f"{duration(logs['train_runtime'])} ({_rate(logs.get('train_samples_per_second', 0.0))} "
                f"samples/s), mean loss {_figure(logs.get('train_loss'))}"
            )
        if "eval_loss" in logs:
            shown = [
                f"{key.removeprefix('eval_')} {_figure(value)}"
                for key, value in logs.items()
                if key.startswith("eval_") and not key.endswith(TIMING_KEYS)
            ]
            took = f" ({duration(logs['eval_runtime'])})" if "eval_runtime" in logs else ""
            figures = f"validation at step {state.global_step:,}: {', '.join(shown)}"
            if figures == self._validation:
                return None
            if isinstance(logs.get("eval_runtime"), int | float):
                self.eval_seconds.append(float(logs["eval_runtime"]))
            self._validation = figures
            return figures + took
        if "loss" in logs:
            return self.progress(state, logs["loss"])
        return str({k: _figure(v) for k, v in logs.items() if k != "total_flos"})

    def progress(self, state, loss: float) -> str:
        """`epoch 1/2  step 40/80  loss 0.831  2 min 10 s elapsed, about 2 min left (4.9 samples/s)`"""
        step, last = state.global_step, state.max_steps
        epochs = max(1, state.num_train_epochs or 1)
        epoch = min(epochs, max(1, math.ceil(round(state.epoch or 0.0, 6))))
        elapsed = max(0.0, self.clock() - self.started)
        done = step - self.first_step
        loss_text = f"{loss:#.3g}".rstrip(".") if isinstance(loss, float) else str(loss)  # 1.70, 0.0123
        text = f"epoch {epoch}/{epochs}  step {step}/{last}  loss {loss_text}  {duration(elapsed)} elapsed"
        if done >= ESTIMATE_AFTER_STEPS and elapsed > 0:
            rate = _rate(done * self.batch / elapsed)
            if step < last:
                left = rough_duration(self.seconds_left(step, last, elapsed))
                text += f", about {left} left ({rate} samples/s)"
            else:
                text += f" ({rate} samples/s)"
        return text

    def seconds_left(self, step: int, last: int, elapsed: float) -> float:
        """The steps left at this run's time per step outside validations, and the validations
        left at their mean time once one was timed (before that, at the rate so far, which then
        holds none). A step's log comes before its validation: at a multiple of eval_every that
        validation is still to come."""
        validating = sum(self.eval_seconds)
        per_step = max(0.0, elapsed - validating) / (step - self.first_step)
        left = (last - step) * per_step
        if self.eval_every and self.eval_seconds:
            every = self.eval_every
            validations = last // every - (step - 1) // every + (last % every != 0)
            left += validations * validating / len(self.eval_seconds)
        return left


@contextlib.contextmanager
def deterministic_kernels() -> Iterator[None]:
    """torch's deterministic kernels while the block runs (a setting of the whole process: the
    previous one is put back after). With the same data, hyperparameters and library versions, the
    same thread count and the same CPU kernels, training writes the same files byte for byte: the
    weights, both ONNX graphs, the tokenizer, serving.json, the metrics and plots (measured: two
    runs in separate folders). torch's CPU kernels are deterministic already; on a GPU cuBLAS needs
    a fixed workspace for it and cuDNN its deterministic algorithms. An op without a deterministic
    kernel warns rather than stopping a paid job (warn_only)."""
    import torch

    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    benchmark = torch.backends.cudnn.benchmark
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.benchmark = benchmark


def kernels() -> str:
    """What the trained bytes depend on besides the inputs and the library versions: the GPU, or
    torch's thread count (each thread sums its own share of a reduction) and the CPU's instruction
    set (AVX2 and AVX-512 kernels round differently)."""
    import torch

    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    threads = torch.get_num_threads()
    return f"{threads} CPU thread{'s' * (threads != 1)}, {torch.backends.cpu.get_cpu_capability()} kernels"


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available()


# SageMaker's NVIDIA GPU families: ml.g4dn, ml.g5, ml.g6, ml.p3, ml.p4d, ml.p5, ...
GPU_INSTANCE_FAMILIES = ("ml.g", "ml.p")


def current_instance_type(config_dir: Path) -> str | None:
    """The job's instance type: SM_CURRENT_INSTANCE_TYPE, else `current_instance_type` of
    resourceconfig.json, which SageMaker writes into every training container (developer guide,
    "How Amazon SageMaker AI Provides Training Information", distributed training configuration)."""
    if os.environ.get("SM_CURRENT_INSTANCE_TYPE"):
        return os.environ["SM_CURRENT_INSTANCE_TYPE"]
    try:
        config = json.loads((config_dir / "resourceconfig.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = config.get("current_instance_type") if isinstance(config, dict) else None
    return value if isinstance(value, str) else None


def check_accelerator(instance_type: str | None, cuda_available: bool) -> None:
    """On a GPU instance torch must see the GPU: training on its CPU would take hours at GPU prices."""
    if instance_type and instance_type.startswith(GPU_INSTANCE_FAMILIES) and not cuda_available:
        import torch

        raise RuntimeError(
            f"the instance {instance_type} has an NVIDIA GPU but torch sees none (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda or 'none: a CPU-only build'}): the image's CUDA build may "
            "need a newer NVIDIA driver than the host has, or the container was started without the GPU "
            "(NVIDIA_VISIBLE_DEVICES); see docker/train.Dockerfile. Not training on the CPU instead."
        )


def train_model(
    paths: JobPaths,
    hp: Hyperparameters,
    log=print,
    pad_to_max_length: bool = False,
    last_rate: float | None = None,
) -> dict[str, Any]:
    """Fine-tune and save the model to `paths.model_dir`. Returns the run's facts.

    `last_rate` (samples/s, `last_local_rate`) gives an estimate of the time before the first step.

    `pad_to_max_length` pads every batch to `max_length` (the HuggingFace example's default); it
    exists for the throughput benchmark's baseline only.
    """
    from transformers import DataCollatorWithPadding, PrinterCallback, ProgressCallback, set_seed

    from textclf.pipeline.modeling import load_classifier, load_tokenizer

    set_seed(hp.seed)
    labels = hp.labels or _read_labels(paths.train_channel)
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer, source = load_tokenizer(hp.model_name)
    model, _ = load_classifier(hp.model_name, labels)
    log(f"base model {hp.model_name} ({source})")
    log(
        f"training on {kernels()}: the model's bytes repeat with the same data, parameters, library "
        "versions, thread count and kernels (README, quick start: 'Training repeats byte for byte')"
    )
    train_rows = _read_split(paths.train_channel, "train", labels)
    validation_rows = _read_split(paths.validation_channel, "validation", labels)
    train_set = _tokenized(train_rows, tokenizer, label2id, hp.max_length)
    validation_set = _tokenized(validation_rows, tokenizer, label2id, hp.max_length)
    collator = DataCollatorWithPadding(
        tokenizer,
        padding="max_length" if pad_to_max_length else "longest",
        max_length=hp.max_length if pad_to_max_length else None,
    )
    paths.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    trainer = epoch_seeded_trainer()(
        model=model,
        args=_training_args(hp, paths.checkpoint_dir, pad_to_max_length),
        train_dataset=train_set,
        eval_dataset=validation_set,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=_compute_metrics,
    )
    # The progress lines replace the library's printer (its raw metric dicts, and a tqdm bar that
    # is off in a log); a callback only reads the Trainer's state: the trained bytes are the same.
    for printer in (ProgressCallback, PrinterCallback):
        trainer.remove_callback(printer)
    trainer.add_callback(TrainingProgress(len(train_set), hp.epochs, log, last_rate=last_rate).callback)
    stopper = StopOnSigterm()
    trainer.add_callback(stopper.callback)
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        stopper.install()
    resume_from = find_resume_checkpoint(paths.checkpoint_dir, log)
    if resume_from is not None:
        log(f"resuming from {resume_from}")
    started = time.perf_counter()
    try:
        with deterministic_kernels():
            result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    finally:
        stopper.uninstall()
    seconds = time.perf_counter() - started
    state = trainer.state
    if state.global_step < state.max_steps:
        raise TrainingInterrupted(
            f"stopped at step {state.global_step} of {state.max_steps}; a checkpoint was saved in "
            f"{paths.checkpoint_dir}, run again to resume"
        )
    if stopper.requested:  # after the last step: stopped before the export, nothing installed
        raise TrainingInterrupted(
            f"stopped (SIGTERM) after the last step ({state.global_step}), before the model was exported; "
            f"a checkpoint was saved in {paths.checkpoint_dir}, run again to resume"
        )
    final_eval = trainer.evaluate()
    export: dict[str, Any] = {}
    if trainer.is_world_process_zero():  # in multi-node training only rank 0 writes the model
        _save_model(trainer, tokenizer, labels, paths.model_dir, state.log_history)
        export = _export_graphs(trainer.model, tokenizer, paths.model_dir, hp, validation_rows, log)
    return {
        "global_step": state.global_step,
        "resumed_from_step": int(resume_from.name.split("-")[-1]) if resume_from else 0,
        "train_seconds": round(seconds, 2),
        "train_samples_per_second": round(result.metrics.get("train_samples_per_second", 0.0), 2),
        "train_loss": round(result.metrics.get("train_loss", float("nan")), 4),
        "validation_accuracy": round(final_eval["eval_accuracy"], 4),
        "validation_macro_f1": round(final_eval["eval_macro_f1"], 4),
        "onnx_export": export,
    }


def _export_graphs(model, tokenizer, model_dir: Path, hp: Hyperparameters, rows: list[dict], log) -> dict:
    """The ONNX graphs the endpoint serves, checked against the trained model on the validation split."""
    from textclf.pipeline.export import export_and_check

    started = time.perf_counter()
    figures = export_and_check(
        model,
        tokenizer,
        model_dir,
        hp.quantize,
        [r["text"] for r in rows],
        hp.max_length,
        [r["label"] for r in rows],
        hp.int8_tolerance,
    )
    figures["seconds"] = round(time.perf_counter() - started, 2)
    log(f"ONNX export checked: {json.dumps(figures)}")
    for graph in model_dir.glob("*.onnx"):
        graph.chmod(0o644)
    return figures


# How the tokenizer was loaded, not what it is: transformers forces local_files_only=True under
# HF_HUB_OFFLINE=1 (tokenization_utils_base.py `from_pretrained`: "Offline mode: forcing
# local_files_only=True"), keeps it among the init kwargs, and save_pretrained writes those into
# tokenizer_config.json. make exports HF_HUB_OFFLINE=1 and a plain `dvc repro` may not, so the same
# training wrote two different model folders, and a fresh clone's `make repro` changed dvc.lock.
LOADING_SETTINGS = ("local_files_only",)


def _drop_loading_settings(tokenizer_config: Path) -> None:
    """Rewrite tokenizer_config.json without LOADING_SETTINGS, in save_pretrained's own layout
    (indent 2, sorted keys, UTF-8 as is, a final newline)."""
    config = json.loads(tokenizer_config.read_text(encoding="utf-8"))
    if not any(key in config for key in LOADING_SETTINGS):
        return
    for key in LOADING_SETTINGS:
        config.pop(key, None)
    text = json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic.write_text(tokenizer_config, text)


def _save_model(trainer, tokenizer, labels: list[str], model_dir: Path, history: list[dict]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    _drop_loading_settings(model_dir / "tokenizer_config.json")
    for leftover in ("training_args.bin",):  # pickled; not needed to serve
        (model_dir / leftover).unlink(missing_ok=True)
    atomic.write_json(model_dir / "labels.json", {"labels": labels})
    # Without the timings the Trainer logs (train_runtime, eval_samples_per_second, ...): the same
    # training writes the same folder, so a rerun that changed nothing leaves dvc.lock as committed.
    timeless = [{k: v for k, v in h.items() if not k.endswith(TIMING_KEYS)} for h in history]
    atomic.write_json(model_dir / HISTORY_FILE, timeless)
    # Some writers leave files private; a serving image need not run as root to read them.
    for saved in model_dir.iterdir():
        if saved.is_file():
            saved.chmod(0o644)


# ---------------------------------------------------------------------------------------------
# Inside a SageMaker training job


def _job_hyperparameters(config_dir: Path) -> Hyperparameters:
    raw, where = os.environ.get("SM_HPS"), "SM_HPS"
    if raw is None:
        path = config_dir / "hyperparameters.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found and SM_HPS not set: `textclf train-job` runs inside a SageMaker "
                "training job, which provides them; to train on this machine run `make repro` (or "
                "`textclf train` after `textclf prepare`)"
            )
        raw, where = path.read_text(encoding="utf-8"), str(path)
    try:
        return Hyperparameters.from_sagemaker(json.loads(raw))
    except ValidationError as error:
        missing = [".".join(map(str, e["loc"])) for e in error.errors() if e["type"] == "missing"]
        other = [
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors() if e["type"] != "missing"
        ]
        said = "; ".join(([f"missing {', '.join(missing)}"] if missing else []) + other)
        raise ValueError(
            f"{where}: the job's hyperparameters are not what textclf.training.sagemaker sends "
            f"({said}); start the job with `make repro` (train.backend: sagemaker)"
        ) from None


def _job_log(message: str) -> None:
    # Each line at once, also in an image without PYTHONUNBUFFERED: SageMaker sends the
    # container's output to CloudWatch, and the SageMaker backend shows it from there as it comes.
    print(message, flush=True)


def main_job() -> None:
    """`textclf train-job`: the training image's `train` program."""
    paths = JobPaths.from_env()
    config_dir = Path(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"))
    try:
        check_accelerator(current_instance_type(config_dir), _has_accelerator())
        facts = train_model(paths, _job_hyperparameters(config_dir), _job_log)
    except TrainingInterrupted as error:
        print(f"[train-job] {error}", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED_EXIT_CODE)
    except (ValidationError, FileNotFoundError, ValueError, RuntimeError) as error:
        # SageMaker shows the first 1024 characters of this file as the job's FailureReason.
        paths.output_dir.mkdir(parents=True, exist_ok=True)
        (paths.output_dir / "failure").write_text(str(error)[:1024], encoding="utf-8")
        print(f"[train-job] error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    print(json.dumps(facts), flush=True)


# ---------------------------------------------------------------------------------------------
# The DVC stage


def _files_digest(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def local_checkpoint_dir(params: Params, hp: Hyperparameters) -> Path:
    """Checkpoints for exactly this data and these hyperparameters; a changed run never resumes
    from another run's checkpoint."""
    prepared = Path(params.data.prepared_dir)
    data_key = _files_digest(*(prepared / f for f in ("train.jsonl", "validation.jsonl", "labels.json")))
    return CHECKPOINT_ROOT / f"{data_key}-{hp.fingerprint()}"


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def hardware() -> dict[str, Any]:
    import torch

    return {
        "platform": platform.platform(terse=True),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
        "accelerator": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


# What a training's speed depends on besides its texts and the machine's load: a last local run
# with these equal (reports/train_job.json) measured a rate this one can be estimated by.
HARDWARE_BASIS = ("cpu_count", "torch_threads", "cpu_kernels", "accelerator")


def speed_basis(hp: Hyperparameters) -> dict[str, Any]:
    return {"model": hp.model_name, "max_length": hp.max_length, "batch_size": hp.batch_size}


def last_local_rate(hp: Hyperparameters, path: Path = JOB_FACTS_FILE) -> float | None:
    """The samples/s the last local training measured (its Trainer's, evaluations included), when
    it trained the same model at the same max_length and batch size on the same cores, threads and
    kernels; else None. Its texts and the load may have differed: the line that uses it says whose
    rate it is, and the progress lines then measure this run's own."""
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(facts, dict) or facts.get("backend") != "local":
        return None
    there, here = facts.get("hardware"), hardware()
    if not isinstance(there, dict) or any(there.get(key) != here[key] for key in HARDWARE_BASIS):
        return None
    if any(facts.get(key) != value for key, value in speed_basis(hp).items()):
        return None
    rate = facts.get("train_samples_per_second")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        return None
    if not PLAUSIBLE_RATES[0] <= rate <= PLAUSIBLE_RATES[1]:  # also NaN, inf, 0 and below
        return None
    return float(rate)


def run_local(
    params: Params, hp: Hyperparameters, model_dir: Path, log: Callable[[str], None]
) -> dict[str, Any]:
    """The `local` backend: the training entry point on this machine, paths mapped to local folders."""
    prepared = Path(params.data.prepared_dir)
    checkpoint_dir = local_checkpoint_dir(params, hp)
    paths = JobPaths(
        train_channel=prepared,
        validation_channel=prepared,
        model_dir=model_dir,
        checkpoint_dir=checkpoint_dir,
        output_dir=checkpoint_dir / "output",
    )
    started = time.perf_counter()
    facts = train_model(paths, hp, log, last_rate=last_local_rate(hp))
    shutil.rmtree(checkpoint_dir, ignore_errors=True)  # done: the checkpoints have served
    facts.update(
        backend="local",
        **speed_basis(hp),
        wall_seconds=round(time.perf_counter() - started, 1),
        peak_rss_mb=_peak_rss_mb(),
        hardware=hardware(),
    )
    return facts


class PendingOutputs:
    """Files written together: each text to a temporary sibling of its target first (a full disk
    or a folder in the way fails here, with every target as it was), then `commit` renames them
    all over their targets. `discard` removes what was not committed. A command that fails keeps
    the previous run's outputs whole: it never deletes them, and never leaves half of a new set."""

    def __init__(self, outputs: dict[Path, str]) -> None:
        self._staged: list[tuple[Path, Path]] = []
        try:
            for target, text in outputs.items():
                if target.is_dir():  # rename would fail only after the others were replaced
                    raise IsADirectoryError(errno.EISDIR, "a folder is where this output goes", str(target))
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(
                    "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
                ) as handle:
                    self._staged.append((Path(handle.name), target))
                    handle.write(text)
                Path(handle.name).chmod(0o644)  # an ordinary output, not a private temporary file
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        while self._staged:
            staged, target = self._staged[0]
            staged.replace(target)
            self._staged.pop(0)

    def discard(self) -> None:
        for staged, _ in self._staged:
            staged.unlink(missing_ok=True)
        self._staged.clear()


def json_text(payload: Any) -> str:
    """A JSON output's text, as atomic.write_json writes it."""
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"


def stage_outputs(model_dir: Path, facts: dict[str, Any]) -> dict[Path, str]:
    """Metrics and plots from the saved model's training history, and the run's facts; the same
    for every backend."""
    history = json.loads((model_dir / HISTORY_FILE).read_text(encoding="utf-8"))
    train_rows = [f"{h['step']},{h['loss']}" for h in history if "loss" in h]
    validation_rows = [
        f"{h['step']},{h['eval_loss']},{h['eval_accuracy']},{h['eval_macro_f1']}"
        for h in history
        if "eval_loss" in h
    ]
    keys = ("train_loss", "validation_accuracy", "validation_macro_f1", "global_step")
    return {
        TRAIN_LOSS_PLOT: "step,loss\n" + "\n".join(train_rows) + "\n",
        VALIDATION_PLOT: "step,loss,accuracy,macro_f1\n" + "\n".join(validation_rows) + "\n",
        TRAIN_METRICS_FILE: json_text({k: facts[k] for k in keys if k in facts}),
        JOB_FACTS_FILE: json_text({k: v for k, v in facts.items() if k not in keys}),
    }


class ServedGraphError(PreparedDataError):
    """The model folder a backend returned records a served graph that was not chosen under this
    params.yaml's deploy.serve (a PreparedDataError: the command's own refusal, not a traceback)."""


def served_graph(model_dir: Path, hp: Hyperparameters, log: Callable[[str], None]) -> dict[str, Any]:
    """The graph the training program chose and recorded in the folder (serving.json), checked,
    never chosen again: with `auto` a SageMaker job and this machine choose alike, on the
    validation split (textclf.pipeline.export), and the folder the job archived is the folder
    evaluated, published and served."""
    from textclf.pipeline.export import ServingRecordError, recorded_choice

    try:
        served = recorded_choice(model_dir, hp.quantize, hp.int8_tolerance)
    except ServingRecordError as error:
        said = str(error).replace(f"{model_dir}{os.sep}", "")  # the staging folder goes with the error
        raise ServedGraphError(
            f"the trained model was not installed ({MODEL_DIR} was not replaced by this run; under dvc "
            f"repro DVC removed it before the stage ran: `dvc checkout {MODEL_DIR}` restores the last "
            f"committed one): {said}"
        ) from None
    log(f"served graph: {served['graph']} ({served['reason']})")
    return served


# A backend trains into the staging folder (which becomes models/model) and returns the job facts.
Backend = Callable[[Params, Hyperparameters, Path, Callable[[str], None]], dict[str, Any]]


def _stderr_log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def run_stage(params: Params, backend: Backend = run_local, log: Callable[[str], None] = _stderr_log) -> None:
    """The train stage around one backend: models/model and the stage's metrics and plots all
    replaced together, or (on any failure) all left as the previous run wrote them."""
    pending: PendingOutputs | None = None
    # A stop signal anywhere in the stage (the Trainer's loop has its own: a checkpoint at the step's
    # end) stops it where it is: it killed the stage silently before training, leaving a staging
    # folder per run, and after it was swallowed while the model was exported and installed (R14A-2).
    # While the outputs move in, one is held until they all have.
    installing, held = False, []

    def stop(signum: int) -> None:
        if installing:
            held.append(signum)
        else:
            raise StageTerminated(signum)

    try:
        with interrupt.stop_signals(stop):
            check_prepared(Path(params.data.prepared_dir))  # before a backend uploads or trains anything
            hp = Hyperparameters.from_params(params)
            with atomic.atomic_dir(MODEL_DIR) as staging:
                facts = backend(params, hp, staging, log)
                facts.setdefault("onnx_export", {})["served"] = served_graph(staging, hp, log)
                # Staged before the model folder moves in: a full disk fails with nothing replaced.
                pending = PendingOutputs(stage_outputs(staging, facts))
                installing = True
            pending.commit()
        if held:
            log(
                f"terminated ({signal.Signals(held[0]).name}) while the outputs were installed: they are "
                "whole; run the stage again so that DVC records them"
            )
            sys.exit(128 + held[0])
    except TrainingInterrupted as error:
        log(str(error))
        sys.exit(error.exit_code)
    finally:
        if pending is not None:
            pending.discard()
