"""`params.yaml`, loaded into one typed, validated configuration.

Every stage reads only its own sections (as in dvc.yaml's `params:` lists). A wrong type, an
unknown key or an impossible value stops with a message naming the key, e.g.
`params.yaml: train.epochs: Input should be greater than or equal to 0.01 (got -1)`.
"""

from __future__ import annotations

import os
import posixpath
import re
import reprlib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from textclf import atomic
from textclf.s3uri import BUCKET_NAME, bucket_name_problem
from textclf.text import character_name, composed_twins, hidden_label_character

PARAMS_FILE = Path("params.yaml")

# Variation selectors 15 and 16 (U+FE0E, U+FE0F) choose a symbol's text or emoji presentation: Unicode
# defines them after the symbols of emoji-variation-sequences.txt (UTS #51, "Emoji Presentation
# Sequences"), and an emoji keyboard types ❤ as U+2764 U+FE0F. After a symbol (Unicode's So and Sm:
# ❤, ☀, ✔, ↔) one is part of the label as a user writes it and changes how it is drawn; anywhere else
# (`billing` + U+FE0F reads as `billing`, a selector alone shows as nothing) it hides, and is refused
# with the other default-ignorable characters (textclf.text.LABEL_REFUSED_BLANKS). The other selectors
# (U+FE00-U+FE0D for CJK and math, U+E0100-U+E01EF ideographic) stay refused everywhere.
PRESENTATION_SELECTORS = frozenset("\ufe0e\ufe0f")
PRESENTATION_BASES = frozenset({"So", "Sm"})
# The bases of emoji-variation-sequences.txt that are not symbols (issue 27, round 12, R12-10): ‼ ⁉ 〽
# (Po), ℹ (Ll), 〰 (Pd); and the keycap bases # * 0-9, whose selector counts only before U+20E3
# COMBINING ENCLOSING KEYCAP (UTS #51, "emoji keycap sequence": `1️⃣`), so `1` + U+FE0F alone, which
# reads as `1`, stays refused.
PRESENTATION_OTHER_BASES = frozenset("\u203c\u2049\u2139\u3030\u303d")
KEYCAP_BASES = frozenset("#*0123456789")
KEYCAP = "\u20e3"


def _presentation_selector(label: str, index: int) -> bool:
    """Whether label[index] is a presentation selector after a base Unicode defines it for."""
    if label[index] not in PRESENTATION_SELECTORS or not index:
        return False
    base = label[index - 1]
    if base in KEYCAP_BASES:
        return label[index + 1 : index + 2] == KEYCAP
    return base in PRESENTATION_OTHER_BASES or unicodedata.category(base) in PRESENTATION_BASES


def without_presentation_selectors(label: str) -> str:
    """`label` without each U+FE0E or U+FE0F that directly follows a symbol (So, Sm) or another base
    of Unicode's emoji variation sequences (`‼`, `ℹ`, a keycap's `#` before U+20E3): `❤️` is `❤`; a
    selector after a letter, a digit alone, another selector or at the start stays."""
    if not PRESENTATION_SELECTORS & set(label):
        return label
    return "".join(
        character for index, character in enumerate(label) if not _presentation_selector(label, index)
    )


def label_character_problem(label: str) -> str | None:
    """The first character a class name must not hold (textclf.text.hidden_label_character), a
    presentation selector after a symbol allowed (PRESENTATION_SELECTORS); None when it has none. The
    rule of params.yaml's data.labels and of prepare's labels in the data."""
    return hidden_label_character(without_presentation_selectors(label))


# The train stage's run facts (wall time, hardware, peak memory; a SageMaker job's facts and cost):
# written when it trains, outside git and DVC (timings differ every run); the report reads them.
TRAIN_JOB_FILE = Path("reports/train_job.json")
# Lets CI pick where `train` runs without editing params.yaml (see train.backend below).
BACKEND_ENV = "TEXTCLF_TRAIN_BACKEND"


# Folders no params path may name or contain: the repository's history, DVC's state and the code.
PROTECTED_DIRS = (".git", ".dvc", "src")
# What the other stages and the review write (dvc.yaml, reports/): prepared_dir must keep clear of them.
OTHER_OUTPUTS = ("models/model", "metrics", "plots", "reports")
# The folders `make clean` removes as a whole (the Makefile's clean recipe; checked against it by
# tests/code/test_params_clean_folders.py): data.raw_dir and a local model.name must keep out of them.
CLEANED_DIRS = (
    "data/prepared",
    "models/model",
    "work",
    "build",
    "reports",
    "dvc_plots",
    ".pytest_cache",
    ".ruff_cache",
)
# The longest AWS session a role may allow (MaxSessionDuration, IAM API reference: 3600-43200 s).
MAX_SESSION_SECONDS = 12 * 3600
# What the pr workflow's train job does besides waiting for the training job: install, DVC, the
# report, the gate and publish (about 15 min measured on GitHub's runners), with room to spare.
PR_JOB_OVERHEAD_SECONDS = 45 * 60
# numpy's and torch's seeding accept 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1


class ParamsError(ValueError):
    """params.yaml is missing, malformed or holds an invalid value."""


def _not_a_boolean(value: Any) -> Any:
    # YAML reads true/false/yes/no/on/off as booleans, and pydantic would take True as 1.
    if isinstance(value, bool):
        raise ValueError(
            "expected a number, not a boolean (true/false, yes/no and on/off are booleans in YAML)"
        )
    return value


Int = Annotated[int, BeforeValidator(_not_a_boolean)]
Number = Annotated[float, BeforeValidator(_not_a_boolean)]
Seed = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=0, le=MAX_SEED)]

# The highest price a params file may give, in USD per unit of its table (an instance-hour, a GB, a
# million requests, a GB-second): 10,000. AWS lists none near it: the dearest SageMaker instances
# cost a few hundred USD an hour at most (https://aws.amazon.com/sagemaker/pricing/), so it refuses
# only a slip (1e308, 10**30), and with every figure of the cost table (CostsParams) at its bound, a
# month's cost stays a finite number (1e308 made `make bench-cost` print $inf).
MAX_PRICE_USD = 10_000


def _a_price(price: float) -> float:
    if price > MAX_PRICE_USD:
        raise ValueError(
            f"must be a price of at most {MAX_PRICE_USD:,} USD, far above any AWS list price: write "
            "the on-demand list price from AWS's pricing page (e.g. 0.115 for an hour of ml.m5.large)"
        )
    return price


Price = Annotated[Number, Field(ge=0), AfterValidator(_a_price)]

# A SageMaker instance type: `ml.`, a family and a size (ml.g4dn.xlarge, ml.m5.large).
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$"


def _an_instance_type(name: str) -> str:
    # A price under another spelling ("ml.m5.large ", "../../x") is never looked up: the cost of the
    # instance the job runs on would be missing without a word.
    if not re.fullmatch(INSTANCE_TYPE_PATTERN, name):
        raise ValueError(
            "a price's key must be a SageMaker instance type, written as instance_type is, e.g. "
            "ml.m5.xlarge (ml., a family, a dot, a size; lower-case letters, digits and hyphens, no "
            "spaces)"
        )
    return name


# USD per instance-hour by instance type.
HourlyPrices = dict[Annotated[str, AfterValidator(_an_instance_type)], Price]


def _one_key_per_size(prices: Any) -> Any:
    """Keys that are one number once read as numbers ('1024' and 1024) would merge silently, the
    last price winning: refused, naming both."""
    if isinstance(prices, dict):
        seen: dict[float, Any] = {}
        for key in prices:
            try:
                size = float(key)
            except (TypeError, ValueError, OverflowError):
                continue  # not a number at all: the key's own check says so
            if size in seen and not isinstance(key, bool):
                raise ValueError(
                    f"keys {_shown(seen[size])} and {_shown(key)} are the same memory size once read as "
                    "numbers, and only one price can be kept: write each size once, as a plain number"
                )
            seen[size] = key
    return prices


def repo_relative_folder(value: str) -> str:
    """A folder inside the repository, written relative to its root; ValueError says why not.

    Checked on the text alone, so every command refuses it before touching a file; the stages that
    write also check the resolved path (symbolic links) before they write.
    """
    if not value.strip():
        raise ValueError("must name a folder inside the repository, e.g. data/prepared")
    if value != value.strip():
        # " data/prepared" is another folder than dvc.yaml's data/prepared, made without a word.
        raise ValueError("must not start or end with a space (it would name another folder)")
    control = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        # A NUL was only found when prepare opened the folder, and named another setting.
        raise ValueError(
            f"holds a control character U+{ord(control):04X}; write the folder's name without it"
        )
    if value.startswith(("~", "$")):
        # Nothing here is a shell: `~` or `$HOME/x` would make a folder of that literal name.
        raise ValueError(
            "starts with ~ or $, which no shell expands here (it would make a folder of that name): "
            "write the folder relative to the repository root, e.g. data/prepared"
        )
    if "\\" in value:
        raise ValueError("separate folders with / (a backslash is not a separator here)")
    if posixpath.isabs(value):
        raise ValueError("must be relative to the repository root, not an absolute path")
    normal = posixpath.normpath(value)
    if normal == ".":
        raise ValueError("must be a folder inside the repository, not the repository root")
    if normal == ".." or normal.startswith("../"):
        raise ValueError("must stay inside the repository (it leads out of it with `..`)")
    if normal.split("/")[0] in PROTECTED_DIRS:
        raise ValueError(
            f"must not be inside {normal.split('/')[0]}/ (protected: {', '.join(PROTECTED_DIRS)})"
        )
    return value


def overlapping(first: str, second: str) -> bool:
    """Whether two repository-relative folders are the same or one holds the other."""
    a, b = (posixpath.normpath(path) + "/" for path in (first, second))
    return a.startswith(b) or b.startswith(a)


def written_folder(path: str, holding: bool = True) -> str | None:
    """The folder a stage writes or `make clean` removes that `path` is (or is inside, or, with
    `holding`, holds); None when it keeps clear of them all. Compared without regard to case: on the
    default file systems of macOS and Windows, Work/raw is inside work/."""
    path = path.casefold()
    for folder in dict.fromkeys(OTHER_OUTPUTS + CLEANED_DIRS):
        inside = (posixpath.normpath(path) + "/").startswith(folder + "/")
        if inside or (holding and overlapping(folder, path)):
            return folder
    return None


def resolved_folder(path: str) -> str | None:
    """`path` (relative to the repository root, the working directory) with its symbolic links
    resolved, relative to the root again; None when it is not a link away from what it says (or
    leads out of the repository)."""
    root = os.path.realpath(".")
    resolved = os.path.relpath(os.path.realpath(path), root).replace(os.sep, "/")
    if resolved == posixpath.normpath(path) or resolved == ".." or resolved.startswith("../"):
        return None
    return resolved


def _kept_clear(path: str, holding: bool) -> tuple[str, str] | None:
    """(the folder a stage writes or `make clean` removes, how `path` reaches it) or None."""
    folder = written_folder(path, holding)
    if folder is not None:
        return folder, repr(path)
    resolved = resolved_folder(path)
    folder = None if resolved is None else written_folder(resolved, holding)
    if folder is not None:
        return folder, f"{path!r} (a symbolic link leads it to {resolved})"
    return None


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SplitParams(Section):
    # At least 0.1 %: a smaller share needs more rows per class than any dataset has (and 5e-324
    # would overflow the count).
    train: Number = Field(0.7, ge=0.001, lt=1)
    validation: Number = Field(0.15, ge=0.001, lt=1)
    test: Number = Field(0.15, ge=0.001, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _all_three(cls, raw: Any, info: ValidationInfo) -> Any:
        # In a params file, a missing share would take its default and the sum would be reported
        # instead ("must sum to 1, got 1.15"), which hides what is wrong.
        if isinstance(raw, dict) and (info.context or {}).get("from_file"):
            missing = [name for name in ("train", "validation", "test") if name not in raw]
            if missing:
                raise ValueError(
                    f"give all three shares, train, validation and test (missing: {', '.join(missing)})"
                )
        return raw

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitParams:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must sum to 1, got {total:g}")
        return self


# data.task: a short name, lower-case letters and digits with - . _ inside (e.g. support-intents, spam).
TASK_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]{0,38}[a-z0-9])?")
# The bundled sample's task: six intents of customer-support messages.
DEFAULT_TASK = "support-intents"


def task_name_problem(task: Any) -> str | None:
    """Why `task` is not a task name (data.task, a champion record's task), or None."""
    if isinstance(task, str) and TASK_NAME.fullmatch(task):
        return None
    return (
        "must be a short name of the task: 1 to 40 lower-case letters and digits, with - . _ inside, "
        "e.g. support-intents or spam"
    )


def _a_sequence(labels: Any) -> Any:
    # pydantic takes a set (YAML's `!!set {a, b}`) for a list, in an order that changes with every
    # process (string hashing): the labels' order is the class ids prepare writes.
    if labels is not None and not isinstance(labels, list):
        what = "a set, whose order changes from run to run"
        what = what if isinstance(labels, set | frozenset) else f"a {type(labels).__name__}"
        raise ValueError(
            "must be a YAML list in the order of the class ids ([a, b, c], or one `- label` a line), "
            f"not {what}"
        )
    return labels


class DataParams(Section):
    raw_dir: str = "data/raw"
    prepared_dir: str = "data/prepared"
    text_column: str = "text"
    label_column: str = "label"
    # What the model predicts, by a short name: the gate compares a model only with a champion of the
    # same task; a new task gets a name and classes of its own (the same classes under a new name
    # are compared all the same).
    task: str = DEFAULT_TASK
    # The allowed labels; a row with any other label is an error. null: whatever the data holds.
    labels: Annotated[list[str] | None, BeforeValidator(_a_sequence)] = None
    # A row whose text is empty after whitespace normalisation: stop with an error, or drop it.
    empty_text: Literal["error", "drop"] = "error"
    split: SplitParams = SplitParams()
    seed: Seed = 42

    @field_validator("raw_dir", "prepared_dir")
    @classmethod
    def _inside_the_repository(cls, folder: str) -> str:
        return repo_relative_folder(folder)

    @field_validator("raw_dir")
    @classmethod
    def _kept_by_make_clean(cls, raw_dir: str) -> str:
        # prepare reads every file below raw_dir; `make clean` removes work/, reports/, ... whole.
        found = _kept_clear(raw_dir, holding=True)
        if found is not None:
            folder, reached = found
            raise ValueError(
                f"{reached} must keep clear of {folder}/, which a stage writes or `make clean` removes "
                "(your data would go with it): keep your data in a folder of its own, e.g. data/raw, and "
                "name it here"
            )
        return raw_dir

    @field_validator("text_column", "label_column")
    @classmethod
    def _a_column_name(cls, column: str) -> str:
        if not column.strip():
            raise ValueError("must name a column of the raw data, e.g. text or label")
        return column

    @field_validator("label_column")
    @classmethod
    def _apart_from_the_text(cls, label_column: str, info: ValidationInfo) -> str:
        if label_column == info.data.get("text_column"):
            raise ValueError("must be another column than data.text_column")
        return label_column

    @field_validator("prepared_dir")
    @classmethod
    def _apart_from_the_raw_data(cls, prepared_dir: str, info: ValidationInfo) -> str:
        # prepare replaces prepared_dir as a whole and reads every file below raw_dir.
        raw_dir = info.data.get("raw_dir")
        if raw_dir is not None and overlapping(raw_dir, prepared_dir):
            raise ValueError(
                f"must be a folder apart from data.raw_dir ({raw_dir!r}), neither inside the other: "
                "prepare replaces this folder with its outputs"
            )
        for output in OTHER_OUTPUTS:
            if overlapping(output, prepared_dir):
                raise ValueError(f"must keep clear of {output}/, which another stage writes (dvc.yaml)")
        return prepared_dir

    @field_validator("task")
    @classmethod
    def _a_task_name(cls, task: str) -> str:
        problem = task_name_problem(task)
        if problem is not None:
            raise ValueError(problem)
        return task

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None:
            if any(not label or label != label.strip() for label in labels):
                # prepare strips the labels it reads, so such a label could never match a row.
                raise ValueError("labels must be non-empty, without spaces at either end")
            if len(labels) < 2:
                raise ValueError("a classifier needs at least 2 labels")
            if len(set(labels)) != len(labels):
                raise ValueError("labels must be distinct")
            for index, label in enumerate(labels):
                bad = label_character_problem(label)
                if bad is not None:
                    # What prepare refuses in a row's label (textclf.text, one rule for both).
                    raise ValueError(
                        f"label {index + 1} ({label[:40]!r}) holds {character_name(bad)}; labels are "
                        "class names shown in reports: remove the character"
                    )
            twins = composed_twins(labels)
            if twins is not None:
                # Two classes that would look the same in every report.
                raise ValueError(
                    f"labels {twins[0]!r} and {twins[1]!r} are the same text written with different "
                    "Unicode characters (an accented letter as one character or as a letter and a "
                    "combining accent); write the label one way, as the data writes it"
                )
        return labels


class ModelParams(Section):
    # A HuggingFace hub id or a local folder. Hub ids shipped in an installed package load offline.
    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    # 512: the longest input of BERT-style encoders (max_position_embeddings).
    max_length: Int = Field(128, ge=8, le=512)

    @field_validator("name")
    @classmethod
    def _kept_by_make_clean(cls, name: str) -> str:
        # A local base model folder (pipeline/modeling.py resolve_model takes a folder before a hub
        # id): train writes models/model, prepare data/prepared, and `make clean` removes work/, ...
        # A hub id (org/name) is judged only when it names one of those folders.
        found = _kept_clear(name, holding=False)
        if found is not None:
            folder, reached = found
            raise ValueError(
                f"{reached} is inside {folder}/, which a stage writes or `make clean` removes: the base "
                "model would be overwritten or deleted. Move it to a folder of its own (e.g. "
                "models/my-base) and set model.name to it, or name a HuggingFace hub id"
            )
        return name


MAX_STEPS = 10**9  # far beyond any run, far below what the trainer's counters hold


class TrainParams(Section):
    # Where training runs. Not a stage dependency on purpose: it changes where the model is
    # trained, not what is trained. TEXTCLF_TRAIN_BACKEND overrides it (the PR workflow does).
    backend: Literal["local", "sagemaker"] = "local"
    # Bounded so the step count stays a number the trainer can hold (1e308 epochs overflows). A
    # fraction trains on that share of the rows (the trainer runs ceil(epochs x steps per epoch)
    # steps); below a hundredth it is a typo (1e-9 read as "0 samples"), not a run anyone means.
    epochs: Number = Field(3, ge=0.01, le=10_000)
    batch_size: Int = Field(16, ge=1, le=1024)
    learning_rate: Number = Field(5e-5, gt=0, lt=1)
    weight_decay: Number = Field(0.01, ge=0, lt=1)
    warmup_ratio: Number = Field(0.1, ge=0, lt=1)
    seed: Seed = 42
    # Batches of similar length waste less compute on padding.
    group_by_length: bool = True
    eval_steps: Int = Field(40, ge=1, le=MAX_STEPS)
    save_steps: Int = Field(40, ge=1, le=MAX_STEPS)
    save_total_limit: Int = Field(2, ge=1, le=1000)
    logging_steps: Int = Field(10, ge=1, le=MAX_STEPS)


class Thresholds(Section):
    accuracy: Number = Field(0.0, ge=0, le=1)
    macro_f1: Number = Field(0.0, ge=0, le=1)
    min_class_recall: Number = Field(0.0, ge=0, le=1)


class EvaluateParams(Section):
    batch_size: Int = Field(64, ge=1, le=4096)
    thresholds: Thresholds = Thresholds()
    # The metric the champion/challenger comparison and the report headline use.
    main_metric: Literal["accuracy", "macro_f1"] = "macro_f1"
    # How much worse than the production model a candidate may be and still pass.
    champion_tolerance: Number = Field(0.01, ge=0, le=1)


class ServeParams(Section):
    """The inference server (`textclf serve`): `make serve` and the serving image read these."""

    # Most texts one request may carry; a bigger batch is refused with 413.
    max_batch_size: Int = Field(32, ge=1, le=1024)
    # Longest text in characters; a longer one is cut (`truncate`) or refused with 413 (`reject`).
    max_text_chars: Int = Field(5000, ge=1, le=1_000_000)
    long_text: Literal["truncate", "reject"] = "truncate"
    # The ONNX graph served and judged by the gate: `none` model.onnx (fp32), `int8` model.int8.onnx
    # (dynamic int8 weights: faster, a little less accurate; see docs/serving.md), `auto` the int8
    # graph when its accuracy and macro-F1 are within `int8_tolerance` of fp32's on the validation
    # split, else fp32. The training program records the choice once in the model folder
    # (serving.json); the server loads it.
    quantize: Literal["none", "int8", "auto"] = "auto"
    # `auto`: how far below fp32 (0 to 1: 0.01 = one point) int8's accuracy and macro-F1 may be, on
    # the validation split (the gate holds a served int8 graph to it on the test split).
    int8_tolerance: Number = Field(0.01, ge=0, le=1)
    # One JSON log line per predicted text (label, score, lengths; latency once per request), which
    # metric filters make metrics; never the texts (textclf.serving.signals, docs/monitoring.md).
    signals: bool = True
    # Sampled capture: this share (0 to 1) of the predicted texts, with their predictions, written in
    # batches to S3 under captured/ for labelling (textclf.serving.capture). 0 (off) by default:
    # captured texts are personal data in most deployments (docs/monitoring.md).
    capture_fraction: Number = Field(0.0, ge=0.0, le=1.0)


class ServerlessParams(Section):
    """The SageMaker Serverless endpoint; Terraform hands these to the redeploy Lambda."""

    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: Int = Field(5, ge=1, le=200)
    # Instances kept warm (billed while idle); 0 = none.
    provisioned_concurrency: Int = Field(0, ge=0, le=200)

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessParams:
        if self.provisioned_concurrency > self.max_concurrency:
            raise ValueError("provisioned_concurrency must not exceed max_concurrency")
        return self


class StagingParams(Section):
    """Checks of a release on the staging endpoint, and production's bake window (release/staging.py)."""

    # p95 of one request carrying up to max_batch_size test texts through the staging endpoint.
    latency_p95_ms: Number = Field(2000, gt=0, le=60_000)
    burst_requests: Int = Field(50, ge=1, le=1000)
    burst_concurrency: Int = Field(5, ge=1, le=50)
    # After production switched: how long its alarms are watched, and how often.
    # More than 0: a bake of 0 s would pass after one look at the alarms.
    bake_seconds: Number = Field(600, gt=0, le=86_400)
    bake_poll_seconds: Number = Field(30, gt=0, le=3600)


class DeployParams(Section):
    serve: ServeParams = ServeParams()
    serverless: ServerlessParams = ServerlessParams()
    staging: StagingParams = StagingParams()
    # Endpoint configs (and their models) kept for rollback; older ones are deleted. The live one
    # and the one before it are always kept.
    keep_configs: Int = Field(3, ge=2, le=50)


# The shape of a Region code (us-east-1, us-gov-west-1, ap-southeast-2). Bucket names follow S3's
# naming rules for general purpose buckets (textclf.s3uri.bucket_name_problem, which cites them).
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
AWS_ENV = {
    "region": "TEXTCLF_AWS_REGION",
    "artifacts_bucket": "TEXTCLF_ARTIFACTS_BUCKET",
    "data_bucket": "TEXTCLF_DATA_BUCKET",
    "models_bucket": "TEXTCLF_MODELS_BUCKET",
}


def _aws_source(field: str) -> str:
    """Where an aws value came from: its environment variable when set, else params.yaml's key."""
    name = AWS_ENV[field]
    if os.environ.get(name):
        return f"environment variable {name}"
    return f"{PARAMS_FILE}: aws.{field}"


class AwsParams(Section):
    """Where the project's AWS resources are: Terraform's outputs (`make infra-output`).

    Each can be overridden by an environment variable, which is how CI passes them:
    TEXTCLF_AWS_REGION, TEXTCLF_ARTIFACTS_BUCKET, TEXTCLF_DATA_BUCKET, TEXTCLF_MODELS_BUCKET.

    `models_bucket` holds the published models (models/<commit>/); empty means the artifacts
    bucket. An environment that deploys models published elsewhere (staging, docs/infra.md) names
    that environment's artifacts bucket here and keeps its own champion record in `artifacts_bucket`.
    """

    region: str = "us-east-1"
    artifacts_bucket: str = "textclf-artifacts"
    data_bucket: str = "textclf-data"
    models_bucket: str = ""

    @field_validator("region")
    @classmethod
    def _a_region(cls, region: str) -> str:
        if not REGION.fullmatch(region):
            raise ValueError("must be an AWS Region code such as us-east-1 or eu-central-1")
        return region

    @field_validator("artifacts_bucket", "data_bucket", "models_bucket")
    @classmethod
    def _a_bucket_name(cls, bucket: str, info: ValidationInfo) -> str:
        # A name S3 refuses only failed at the first call, in botocore's words ("s3://x" or "a b" too,
        # or 192.168.5.4 and the names S3 reserves); an empty name would fall through to a default bucket.
        problem = bucket_name_problem(bucket) if bucket or info.field_name != "models_bucket" else None
        if problem:
            form = " (no s3:// and no key)" if not BUCKET_NAME.fullmatch(bucket) else ""
            raise ValueError(f"must be an S3 bucket name{problem}{form}")
        return bucket

    def resolved(self) -> AwsParams:
        env = os.environ.get
        artifacts = env("TEXTCLF_ARTIFACTS_BUCKET") or self.artifacts_bucket
        values = {
            "region": env("TEXTCLF_AWS_REGION") or self.region,
            "artifacts_bucket": artifacts,
            "data_bucket": env("TEXTCLF_DATA_BUCKET") or self.data_bucket,
            "models_bucket": env("TEXTCLF_MODELS_BUCKET") or self.models_bucket or artifacts,
        }
        try:
            return AwsParams(**values)
        except ValidationError as error:  # an environment override the file's check never saw
            items = {str(item["loc"][0]): item for item in error.errors()}
            if "artifacts_bucket" in items and values["models_bucket"] == artifacts:
                items.pop("models_bucket", None)  # the same name again: said once
            raise ParamsError(
                "\n".join(
                    f"{_aws_source(field)}={_shown(item['input'])}: "
                    + item["msg"].removeprefix("Value error, ")
                    for field, item in items.items()
                )
            ) from None

    @property
    def published_models(self) -> str:
        """The bucket of models/<commit>/: models_bucket, else the artifacts bucket."""
        return self.models_bucket or self.artifacts_bucket


# First segments of the artifacts bucket the release writes (terraform/storage.tf's layout).
RESERVED_PREFIXES = ("models", "production", "candidates", "reports")
# A prefix in the artifacts bucket: segments of S3's safe characters, joined by single slashes.
S3_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*")


# The training job's role, image and key, in the forms CreateTrainingJob takes (a value it refuses
# loaded without a word and failed only when the job started):
# - RoleArn (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html):
#   20 to 2048 characters, pattern arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+; the slash
#   is required here, as in every IAM role ARN (arn:aws:iam::<account>:role/<path and name>).
# - AlgorithmSpecification.TrainingImage
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AlgorithmSpecification.html): at
#   most 255 characters, registry/repository[:tag] or registry/repository[@digest]. A registry other
#   than Amazon ECR needs VpcConfig and TrainingImageConfig (https://docs.aws.amazon.com/sagemaker/
#   latest/dg/docker-containers-adapt-your-own-private-registry.html), which this project's jobs do
#   not set: an ECR registry, <account>.dkr.ecr.<region>.amazonaws.com(.cn); a repository name as
#   ECR's (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Repository.html); a Docker
#   tag (a word character, then up to 127 of word characters, . and -) or a sha256 digest.
# - The key goes to OutputDataConfig.KmsKeyId and, on instance types without local storage, to
#   ResourceConfig.VolumeKmsKeyId (training/sagemaker.py): both at most 2048 characters of
#   [a-zA-Z0-9:/_-]. OutputDataConfig.KmsKeyId takes a key ID, key ARN, alias name or alias ARN
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html), but
#   VolumeKmsKeyId only a key ID or key ARN
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html): so a key ID or
#   key ARN, never an alias (key IDs as in https://docs.aws.amazon.com/kms/latest/developerguide/
#   concepts.html#key-id: a UUID, or mrk- and 32 hex digits for a multi-Region key).
_KMS_KEY = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_ARN = rf"arn:aws[a-z-]*:kms:{REGION.pattern}:[0-9]{{12}}:"
SAGEMAKER_IDS: dict[str, tuple[re.Pattern[str], int, str, str]] = {
    "role_arn": (
        re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[a-zA-Z_0-9+=,.@/-]+"),
        2048,
        "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name> (Terraform output sagemaker_role_arn)",
        "TEXTCLF_SAGEMAKER_ROLE_ARN",
    ),
    "training_image": (
        re.compile(
            rf"[0-9]{{12}}\.dkr\.ecr\.{REGION.pattern}\.amazonaws\.com(\.cn)?/"
            r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
            r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
        ),
        255,
        "an Amazon ECR image URI of at most 255 characters, <account>.dkr.ecr.<region>.amazonaws.com/"
        "<repository>:<tag> or @sha256:<digest> (`make images-push` prints it)",
        "TEXTCLF_TRAINING_IMAGE_URI",
    ),
    "kms_key_id": (
        re.compile(rf"{_KMS_KEY}|{_KMS_ARN}key/{_KMS_KEY}"),
        2048,
        "a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key ID> (Terraform output kms_key_arn), or "
        "key ID (1234abcd-12ab-34cd-56ef-1234567890ab); not an alias or alias ARN, which the training "
        "volume's VolumeKmsKeyId does not take",
        "TEXTCLF_KMS_KEY_ID",
    ),
}


def sagemaker_identifier(field: str, value: str) -> str:
    """`value` of sagemaker.role_arn, training_image or kms_key_id (SAGEMAKER_IDS); ValueError says
    what SageMaker takes. null, not an empty text, is how params.yaml leaves one unset."""
    pattern, longest, form, variable = SAGEMAKER_IDS[field]
    if len(value) <= longest and pattern.fullmatch(value):
        return value
    unset = "the buckets' own encryption" if field == "kms_key_id" else f"{variable} to supply it"
    empty = "is empty; " if not value.strip() else ""
    raise ValueError(f"{empty}must be {form}: the training job takes nothing else; or null for {unset}")


# A status poll interval of a SageMaker job (sagemaker.poll_seconds, batch.poll_seconds): at least
# 0.1 s (10 Describe calls a second at most; 1e-300 made 11,000 a second) and at most an hour (1e300
# stopped the wait with OverflowError in time.sleep after the job had started).
PollSeconds = Annotated[Number, Field(ge=0.1, le=3600)]


def _a_backoff(poll_seconds: tuple[float, float]) -> None:
    if poll_seconds[0] > poll_seconds[1]:
        raise ValueError(
            f"poll_seconds must be [first, longest] with first <= longest (got {list(poll_seconds)}): "
            "write e.g. [5, 60]"
        )


# The tags sagemaker.py sets on every training job; with sagemaker.tags at most 50 (TagList).
OWN_TAGS = ("project", "git-commit", "git-branch", "hyperparameters")
MAX_USER_TAGS = 50 - len(OWN_TAGS)


def _a_tag_character(character: str) -> bool:
    """Whether SageMaker's TagKey/TagValue pattern takes it: \\p{L}, \\p{Z}, \\p{N} or _.:/=+-@."""
    return unicodedata.category(character)[0] in "LZN" or character in "_.:/=+-@"


class SageMakerParams(Section):
    """The training job of the `sagemaker` train backend (docs/sagemaker.md).

    The role, the image and the KMS key are Terraform outputs and `make images` output; each has an
    environment override, which is how CI passes them: TEXTCLF_SAGEMAKER_ROLE_ARN,
    TEXTCLF_TRAINING_IMAGE_URI, TEXTCLF_KMS_KEY_ID. The bucket and region come from the `aws` section.
    """

    role_arn: str | None = None
    # An ECR image URI built from docker/train.Dockerfile (`make images` prints it).
    training_image: str | None = None
    instance_type: str = Field("ml.g4dn.xlarge", pattern=INSTANCE_TYPE_PATTERN)
    # More than one instance trains data parallel with torchrun (one process per GPU).
    instance_count: Int = Field(1, ge=1, le=32)
    volume_size_gb: Int = Field(30, ge=1, le=16384)
    spot: bool = True
    max_runtime_seconds: Int = Field(3600, ge=1, le=28 * 24 * 3600)
    # Spot only: runtime plus the time a job may wait for capacity; must be >= max_runtime_seconds.
    max_wait_seconds: Int = Field(7200, ge=1, le=28 * 24 * 3600)
    # Encrypts the model artifact and the instance volume; null uses the buckets' own encryption.
    kms_key_id: str | None = None
    # The container gets no network: the default model ships in the image.
    network_isolation: bool = True
    # Encrypt traffic between the instances of a distributed job (slower).
    encrypt_inter_container_traffic: bool = False
    # Job names are <prefix>-<commit>-<params hash>-<time>; IAM allows the project's prefix only.
    job_name_prefix: str = Field("textclf", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}$")
    # Prefixes in the artifacts bucket: inputs by content hash, checkpoints per branch, job outputs
    # (not the write-once models/ prefix releases come from).
    datasets_prefix: str = "datasets"
    checkpoints_prefix: str = "checkpoints"
    models_prefix: str = "jobs"
    # Extra tags on the job (cost allocation); git commit, branch and project are always set.
    tags: dict[str, str] = {}
    # Status polling backs off from the first interval to the last.
    poll_seconds: tuple[PollSeconds, PollSeconds] = (5.0, 60.0)
    # On-demand USD per instance-hour for the cost estimate (check your region's price list).
    prices_usd_per_hour: HourlyPrices = {}

    @field_validator("role_arn", "training_image", "kms_key_id")
    @classmethod
    def _what_sagemaker_takes(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else sagemaker_identifier(info.field_name, value)

    @field_validator("datasets_prefix", "checkpoints_prefix", "models_prefix")
    @classmethod
    def _plain_s3_prefix(cls, prefix: str) -> str:
        if not S3_PREFIX.fullmatch(prefix) or {".", ".."} & set(prefix.split("/")):
            raise ValueError(
                "must be an S3 key prefix such as `jobs` or `team/jobs`: letters, digits and "
                "!_.*'()- in segments joined by single slashes, no leading or trailing slash, no `.` or `..`"
            )
        if prefix.split("/")[0] in RESERVED_PREFIXES:
            # terraform/storage.tf: models/ is write-once (released models), production/ holds the
            # champion and deployment records, candidates/ and reports/ a run's files.
            raise ValueError(
                f"must not be under {prefix.split('/')[0]}/, which the release keeps "
                f"({', '.join(name + '/' for name in RESERVED_PREFIXES)} are the project's own): "
                "the template's datasets, checkpoints and jobs are apart from them"
            )
        return prefix

    @field_validator("checkpoints_prefix", "models_prefix")
    @classmethod
    def _apart_from_the_datasets(cls, prefix: str, info: ValidationInfo) -> str:
        datasets = info.data.get("datasets_prefix")
        if datasets is not None and overlapping(datasets, prefix):
            # datasets/ is write-once (storage.tf): a checkpoint written twice there would be refused.
            raise ValueError(
                f"must be apart from sagemaker.datasets_prefix ({datasets!r}), which is write-once"
            )
        return prefix

    @field_validator("tags")
    @classmethod
    def _tags_aws_takes(cls, tags: dict[str, str]) -> dict[str, str]:
        # SageMaker's Tag (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html): keys
        # of 1-128 characters, values of at most 256; keys starting with aws: are reserved for AWS
        # ("Tag restrictions", https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
        # botocore's sagemaker service model: TagList holds at most 50 tags, and TagKey and TagValue
        # match ([\p{L}\p{Z}\p{N}_.:/=+\-@]*): letters, spaces, digits and _.:/=+-@ (API_Tag.html).
        if len(tags) > MAX_USER_TAGS:
            raise ValueError(
                f"{len(tags)} tags: a SageMaker job takes at most 50, and the project sets "
                f"{len(OWN_TAGS)} itself ({', '.join(OWN_TAGS)}): give at most {MAX_USER_TAGS}"
            )
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
                raise ValueError(
                    f"tag {_shown(key, 40)}: a key of 1 to 128 characters not starting with aws: (AWS "
                    "reserves it) and a value of at most 256"
                )
            if key in OWN_TAGS:
                raise ValueError(f"tag {key!r} is set by the project itself; name your tag otherwise")
            for what, text in (("key", key), ("value", value)):
                bad = next((c for c in text if not _a_tag_character(c)), None)
                if bad is not None:
                    raise ValueError(
                        f"tag {_shown(key, 40)}: the {what} holds {character_name(bad)}, which SageMaker "
                        "refuses in tags: use letters, digits, spaces and _ . : / = + - @ only"
                    )
        return tags

    @model_validator(mode="after")
    def _wait_covers_runtime(self) -> SageMakerParams:
        if self.spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(
                f"max_wait_seconds ({self.max_wait_seconds}) must be >= max_runtime_seconds "
                f"({self.max_runtime_seconds}) for Spot training"
            )
        _a_backoff(self.poll_seconds)
        if self.pr_session_seconds() > MAX_SESSION_SECONDS:
            waited = "max_wait_seconds" if self.spot else "max_runtime_seconds"
            raise ValueError(
                f"{waited} ({self.pr_session_seconds() - PR_JOB_OVERHEAD_SECONDS}) plus the rest of the pr "
                f"workflow's job ({PR_JOB_OVERHEAD_SECONDS} s) must fit in one AWS session of at most "
                f"{MAX_SESSION_SECONDS} s (12 h, AWS's cap): the job's credentials would expire while it "
                f"waits; lower {waited} to {MAX_SESSION_SECONDS - PR_JOB_OVERHEAD_SECONDS} or less"
            )
        return self

    def pr_session_seconds(self) -> int:
        """The AWS session the pr workflow's train job needs: the longest the training job may take
        (Spot: max_wait_seconds, which includes the runtime) plus the rest of the job. The workflow
        asks for it (role-duration-seconds); Terraform's github_pr_session_seconds must allow it."""
        longest = self.max_wait_seconds if self.spot else self.max_runtime_seconds
        return longest + PR_JOB_OVERHEAD_SECONDS

    def resolved(self) -> SageMakerParams:
        """With the environment's overrides (an empty variable is unset), checked as params.yaml's
        values are: the refusal names the variable."""
        update = {}
        for field, (*_, variable) in SAGEMAKER_IDS.items():
            value = os.environ.get(variable)
            if value:
                try:
                    update[field] = sagemaker_identifier(field, value)
                except ValueError as error:
                    raise ParamsError(f"environment variable {variable}={_shown(value)}: {error}") from None
        return self.model_copy(update=update)


# The JSONPath operators Batch Transform's filters support ("Supported JSONPath Operators",
# https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html): $ first,
# then .<name>, the wildcard *, ['<name>'(,'<name>')] (no nesting inside the brackets: `'a.b'` is
# not supported) and [<number>(,<number>)] or [<start>:<end>]. The joined record of this job is a
# JSON object (JSON lines input joined with "SageMakerOutput"), so the array operators, which select
# CSV columns, select nothing here and are left out; a bracketed list comes last.
_JSON_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_QUOTED_NAME = r"'[^'\\.\x00-\x1f\x7f]+'"
OUTPUT_FILTER = re.compile(
    rf"\$(\.{_JSON_NAME}|\.\*|\[\*\]|\[{_QUOTED_NAME}\])*"
    rf"(\.?\[{_QUOTED_NAME}( *, *{_QUOTED_NAME})*\])?"
)

# terraform/batch.tf's pattern of batch_input_prefix and batch_output_prefix.
BATCH_PREFIX = re.compile(r"[a-z0-9][a-z0-9/_-]*/")
# The data bucket's other prefixes (terraform/iam.tf), which no batch job reads or writes.
DATA_BUCKET_PREFIXES = {"dvc/": "the DVC remote", "incoming/": "retrain's new data"}


class BatchParams(Section):
    """SageMaker Batch Transform on the production model (`make batch-predict`, docs/batch-and-api.md)."""

    instance_type: str = Field("ml.m5.xlarge", pattern=INSTANCE_TYPE_PATTERN)
    instance_count: Int = Field(1, ge=1, le=100)
    # MultiRecord packs as many records into one request as fit in max_payload_mb; SingleRecord
    # sends one record a request (slower; what a container with a small batch limit needs).
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    # CreateTransformJob allows MaxPayloadInMB 1-100 (0, chunked encoding, is refused by the server),
    # but the serving container refuses bodies over 6 MB (textclf.serving.server.MAX_BODY_BYTES), so
    # at most 6; max_concurrent_transforms x max_payload_mb must not exceed 100.
    max_payload_mb: Int = Field(1, ge=1, le=6)
    max_concurrent_transforms: Int = Field(1, ge=1, le=100)
    # ModelClientConfig: seconds per request (at most 3600) and retries of a failed request (0-3).
    invocations_timeout_seconds: Int = Field(600, ge=1, le=3600)
    invocations_max_retries: Int = Field(1, ge=0, le=3)
    # What each output line keeps of the joined record: a JSONPath (DataProcessing.OutputFilter),
    # at most 63 characters (the CreateTransformJob API reference), of SageMaker's operators
    # (OUTPUT_FILTER below).
    output_filter: str = Field("$", min_length=1, max_length=63)
    # Job names are <prefix>-batch-<time>; IAM lets the batch caller create jobs with this prefix.
    job_name_prefix: str = Field("textclf", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}$")
    # Where in the data bucket (aws.data_bucket) a job may read its input and write its results: the
    # model's role may read batch_input_prefix and write batch_output_prefix only (terraform/batch.tf,
    # the same values), so batch-predict refuses any other INPUT or OUTPUT before the job starts.
    input_prefix: str = "batch/in/"
    output_prefix: str = "batch/out/"
    # Status polling backs off from the first interval to the last.
    poll_seconds: tuple[PollSeconds, PollSeconds] = (5.0, 60.0)
    # On-demand USD per instance-hour of transform instances, for the cost in the job's report.
    prices_usd_per_hour: HourlyPrices = {}

    @field_validator("output_filter")
    @classmethod
    def _a_jsonpath_sagemaker_takes(cls, path: str) -> str:
        if OUTPUT_FILTER.fullmatch(path):
            return path
        indexes = (
            "; array indexes and slices select CSV columns, and this job's records are JSON objects"
            if re.search(r"\[ *-?[0-9]*:?-?[0-9]", path)
            else ""
        )
        raise ValueError(
            "must be a JSONPath of the operators SageMaker's OutputFilter supports, on the joined "
            "record (a JSON object): $ (all of it), $.field, $.field.child, $.*, or a bracketed list "
            f"such as $['id','SageMakerOutput'] (fields named in brackets hold no dots){indexes}"
        )

    @field_validator("input_prefix", "output_prefix")
    @classmethod
    def _a_prefix_terraform_takes(cls, prefix: str) -> str:
        # terraform/batch.tf's validation of batch_input_prefix and batch_output_prefix.
        if not BATCH_PREFIX.fullmatch(prefix):
            raise ValueError(
                "must be a key prefix of the data bucket like batch/in/: lower-case letters, digits, "
                "/, _ and -, starting with a letter or digit and ending in / (terraform/batch.tf's "
                "batch_input_prefix and batch_output_prefix take the same)"
            )
        taken = next((other for other in DATA_BUCKET_PREFIXES if prefix.startswith(other)), None)
        if taken:
            # terraform/iam.tf: dvc/ is the DVC remote, incoming/ retrain's new data; the job's role
            # may read the input prefix and write the output prefix.
            raise ValueError(
                f"must not be under {taken}, which the data bucket keeps for "
                f"{DATA_BUCKET_PREFIXES[taken]}: choose a prefix of its own, such as batch/in/"
            )
        return prefix

    @model_validator(mode="after")
    def _within_limits(self) -> BatchParams:
        if self.output_prefix.startswith(self.input_prefix) or self.input_prefix.startswith(
            self.output_prefix
        ):
            # S3 matches a prefix as a string: results under the input prefix would be the next
            # run's input, and input under the output prefix is writable by the job.
            raise ValueError(
                f"output_prefix {self.output_prefix!r} and input_prefix {self.input_prefix!r} overlap "
                "(one starts with the other): choose prefixes apart, such as batch/in/ and batch/out/"
            )
        if self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise ValueError("max_concurrent_transforms x max_payload_mb must not exceed 100 (MB)")
        _a_backoff(self.poll_seconds)
        return self


class MonitorParams(Section):
    """The scheduled drift check (textclf.monitoring.drift, docs/monitoring.md)."""

    # How much recent traffic one check compares with the live model's reference.
    window_hours: Int = Field(24, ge=1, le=24 * 14)
    # Fewer predictions than this in a window: reported as too little traffic, never as drift
    # (a PSI over a handful of values is noise: 10 values in 10 bins cannot match any reference).
    min_predictions: Int = Field(200, ge=1, le=10_000_000)
    # Population stability index above which a signal counts as drifted. 0.1 / 0.25 are the
    # customary "moderate" / "significant" shift levels (Yurdakul, "Statistical properties of the
    # population stability index", 2018, discusses their sampling behaviour).
    psi_prediction_mix: Number = Field(0.25, gt=0, le=10)
    psi_score: Number = Field(0.25, gt=0, le=10)
    psi_length: Number = Field(0.25, gt=0, le=10)


# Request rates of the cost table: ten times API Gateway's default throttle quota per account and
# Region, 10,000 requests a second (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# limits.html), a quota that can be raised; beyond it the table describes no service of this template.
MAX_RATE_PER_MINUTE = 10 * 10_000 * 60


class CostsParams(Section):
    """The price table of bench/cost_compare.py (`make bench-cost`, docs/batch-and-api.md): what the
    Serverless endpoint, the ECS service, a real-time instance and the API front door cost a month.
    Every figure has an upper bound, so that no product of them overflows to infinity."""

    hours_per_month: Number = Field(730, gt=0, le=744)
    # Request rates (per minute) the comparison is made at.
    rates_per_minute: list[Annotated[Number, Field(gt=0, le=MAX_RATE_PER_MINUTE)]] = Field(
        [1, 10, 100, 600], min_length=1
    )
    # Serverless: USD per second of compute by memory size (MB), USD per GB in and out, and the
    # billed milliseconds one request takes (an assumption: read the endpoint's ModelLatency). At
    # most 60 s: a Serverless container must answer /invocations within 1 minute, and requests carry
    # at most the serving container's 6 MB (textclf.serving.server.MAX_BODY_BYTES; Serverless takes
    # 4 MB) (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html).
    serverless_usd_per_second: Annotated[
        dict[Annotated[Int, Field(ge=1024, le=6144)], Price], BeforeValidator(_one_key_per_size)
    ] = {}
    serverless_usd_per_gb_processed: Price = 0.0
    serverless_memory_mb: Int = Field(2048, ge=1024, le=6144)
    serverless_billed_ms_per_request: Number = Field(50, gt=0, le=60_000)
    request_kb: Number = Field(1.0, gt=0, le=6 * 1024)
    # ECS Fargate (Linux, x86): USD per vCPU-hour and per GB-hour; the load balancer's hour and LCU-hour.
    fargate_usd_per_vcpu_hour: Price = 0.0
    fargate_usd_per_gb_hour: Price = 0.0
    alb_usd_per_hour: Price = 0.0
    alb_usd_per_lcu_hour: Price = 0.0
    ecs_vcpu: Number = Field(1, gt=0, le=16)
    ecs_memory_gb: Number = Field(2, gt=0, le=120)
    # Bounded far beyond this template's service (terraform/ecs.tf scales from 1 task) and its
    # benchmark (a few hundred requests a second on 2 cores, `make bench-serve`).
    ecs_min_tasks: Int = Field(1, ge=1, le=10_000)
    ecs_requests_per_second_per_task: Number = Field(50, gt=0, le=100_000)
    # One always-on real-time endpoint instance, for reference.
    realtime_instance_type: str = Field("ml.m5.large", pattern=INSTANCE_TYPE_PATTERN)
    realtime_usd_per_hour: Price = 0.0
    # The API front door on top: HTTP API requests, the proxy Lambda's requests and GB-seconds. A
    # Lambda function runs at most 900 s (Lambda quotas,
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
    api_usd_per_million_requests: Price = 0.0
    lambda_usd_per_million_requests: Price = 0.0
    lambda_usd_per_gb_second: Price = 0.0
    lambda_memory_gb: Number = Field(0.25, gt=0, le=10)
    lambda_ms_per_request: Number = Field(60, gt=0, le=900_000)

    @model_validator(mode="after")
    def _priced_memory(self) -> CostsParams:
        if self.serverless_usd_per_second and self.serverless_memory_mb not in self.serverless_usd_per_second:
            raise ValueError(
                f"serverless_memory_mb {self.serverless_memory_mb} has no price in serverless_usd_per_second"
            )
        return self


class DataGateParams(Section):
    """Optional gate rules on the PR's data checks (textclf.review.data_checks). None: off, the
    check is shown in the report but never fails the gate."""

    # Largest share (0 to 1) of all rows that may be suspected label errors (e.g. 0.05).
    max_label_issue_share: Number | None = Field(None, ge=0, le=1)
    # Most test rows that may also be in train, exactly or nearly (e.g. 0).
    max_leaked_test_rows: Int | None = Field(None, ge=0)
    # Largest class prior shift of the train split against the base branch (PSI, e.g. 0.25).
    max_class_prior_psi: Number | None = Field(None, ge=0)

    def active(self) -> bool:
        return any(value is not None for value in self.model_dump().values())


class ReviewParams(Section):
    """What the PR review applies besides the evaluate stage's thresholds."""

    data_gate: DataGateParams = DataGateParams()


class Params(Section):
    data: DataParams = DataParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    aws: AwsParams = AwsParams()
    sagemaker: SageMakerParams = SageMakerParams()
    deploy: DeployParams = DeployParams()
    batch: BatchParams = BatchParams()
    monitor: MonitorParams = MonitorParams()
    costs: CostsParams = CostsParams()
    review: ReviewParams = ReviewParams()

    @property
    def train_backend(self) -> str:
        backend = os.environ.get(BACKEND_ENV) or self.train.backend
        if backend not in ("local", "sagemaker"):
            # Anything else would quietly train locally.
            raise ParamsError(f"environment variable {BACKEND_ENV}={backend!r}: must be local or sagemaker")
        return backend


def _describe(error: ValidationError, source: Path | str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against params.yaml in the template)"
        elif item["type"] == "finite_number":
            message += "; write a plain number (YAML reads .inf and .nan as infinity and not-a-number)"
        elif item["type"] == "string_type" and isinstance(item.get("input"), bool | int | float):
            message += " (quote it: YAML reads yes/no/on/off/true/false as booleans and digits as numbers)"
        # A whole section as the input says nothing the key does not.
        quiet = item["type"] in {"extra_forbidden", "missing"} or isinstance(item.get("input"), dict)
        got = "" if quiet else f" (got {_shown(item.get('input'))})"
        lines.append(f"{source}: {key}: {message}{got}")
    return "\n".join(lines)


def _shown(value: Any, limit: int = 120) -> str:
    shorter = reprlib.Repr()  # bounded: an aliased structure is never written out in full
    shorter.maxlevel, shorter.maxstring, shorter.maxother = 3, limit, limit
    text = shorter.repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


class _Refused(ValueError):
    """What the strict loader refuses, with the line."""


class _DuplicateKey(_Refused):
    pass


# YAML 1.1 (PyYAML) reads 1:30 as 90 (base 60), 010 as 8 (octal) and 0b11 as 3; YAML 1.2 and most
# readers take none of them: no setting is written so, and a time or a zero-padded number would
# change silently. Each is refused naming the line and the key (_numbers_named).
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_BINARY = re.compile(r"[-+]?0b[01_]+")  # YAML 1.1 only, as well: 1.2 reads 0b11 as text
_OCTAL_12 = re.compile(r"[-+]?0o[0-7_]+")  # YAML 1.2's octal (see YAML_12_NUMBERS)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")  # 08: text to YAML 1.1, 8 to YAML 1.2
# Hexadecimal reads the same in both, but no setting is a bit pattern: `accuracy: 0x1` is a
# threshold of 1.0 a reviewer would not read as one (issue 27, round 9, U-p4).
_HEX = re.compile(r"[-+]?0x[0-9a-fA-F_]+")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML would
    silently keep the last value), and so are YAML 1.1's base-60 and octal numbers. It notes the
    nodes the file tags explicitly (`!!null 0.05`), which _untagged refuses."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.explicit_tags: dict[int, str] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        tag = getattr(event, "tag", None)  # None unless written; an alias has none
        node = super().compose_node(parent, index)
        if tag is not None:
            self.explicit_tags[id(node)] = tag
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        self._plain_number(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        self._plain_number(node)
        return super().construct_yaml_float(node)

    @staticmethod
    def _plain_number(node: yaml.ScalarNode) -> None:
        value = node.value.strip()
        read = "base 60 (1:30 is 90)" if _BASE_60.fullmatch(value) else None
        if read is None and _OCTAL.fullmatch(value):
            read = "octal (010 is 8)"
        if read is None and _OCTAL_12.fullmatch(value):
            read = "octal (0o17 is 15)"
        if read is None and _LEADING_ZERO.fullmatch(value):
            read = "decimal by YAML 1.2 (DVC: 08 is 8), as text by YAML 1.1"
        if read is None and not value.strip("+-_"):
            raise _Refused(
                f"line {node.start_mark.line + 1}: {value[:40]!r} is read by YAML 1.2 (DVC) as a number "
                "without a digit: quote it"
            )
        if read is None and _BINARY.fullmatch(value):
            read = "binary (0b11 is 3)"
        if read is None and _HEX.fullmatch(value):
            read = "hexadecimal (0x10 is 16)"
        if read is not None:
            raise _Refused(
                f"line {node.start_mark.line + 1}: {value[:40]!r} is read by YAML as a number in {read}: "
                "write the number in plain digits without a leading 0, or quote it if it is text"
            )

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:  # PyYAML: "while constructing a mapping ... found unhashable key"
                raise _Refused(
                    f"line {line}: a key that is a {'list' if isinstance(key, list) else 'mapping'} "
                    f"({_shown(key, 40)}); keys are plain names: write the key as one"
                ) from None
            if key in first_line:
                raise _DuplicateKey(
                    f"line {line}: key {key!r} is given twice (first on line {first_line[key]}); keep one"
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


# YAML 1.2, which DVC reads params.yaml and .dvc files with (dvc.lock's params, `dvc params diff` in
# the PR report: ruamel.yaml's safe loader, dvc/utils/serialize/_yaml.py), reads as numbers plain forms
# YAML 1.1 (PyYAML) reads as text: an exponent without a dot or a sign (1e3 and 1.0e3 are 1000.0), a
# sign before a leading dot (+.5), a leading zero before 8 or 9 (08 is 8), octal 0o17 (15). A label
# `1e3` was the text '1e3' here and the class 1000.0 in dvc.lock and the report (R13A-3). These are
# ruamel.yaml's YAML 1.2 forms (ruamel/yaml/resolver.py), added after YAML 1.1's own resolvers, so
# that only what those leave as text reaches them: the loader reads them as DVC does (a number in a
# text setting is then refused: quote it), and ParamsDumper quotes a text of those forms.
YAML_12_NUMBERS = (
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        list("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"),
    ),
)
for _tag, _form, _first in YAML_12_NUMBERS:
    _StrictLoader.add_implicit_resolver(_tag, _form, _first)


class ParamsDumper(yaml.SafeDumper):
    """YAML's safe dumper, quoting a text that YAML 1.2 (DVC) reads as a number as well as those
    YAML 1.1 does: what use-data writes into params.yaml and data.dvc reads alike in both."""


for _tag, _form, _first in YAML_12_NUMBERS:
    ParamsDumper.add_implicit_resolver(_tag, _form, _first)

# The registry holds SafeConstructor's own functions: the overrides above take effect through it.
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
# YAML 1.1 resolves a plain `=` to its "value key" type, which the safe loader cannot construct
# ("could not determine a constructor"); YAML 1.2 reads it as text: `x: =` is the string "=", which
# the schema then names where a setting takes something else.
_StrictLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
_NUMBER_TAGS = {
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:timestamp": "construct_yaml_timestamp",  # `2026-13-45`: no date, a ValueError
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _walk(root: yaml.Node) -> Iterator[tuple[yaml.Node, str]]:
    """Each node of the file with its dotted path (`train.epochs`, `data.labels[1]`; a key has the
    path of its value), once (aliases share nodes), in the file's order."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, path
        if isinstance(node, yaml.MappingNode):
            children = []
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                inner = path if key_node.tag == _MERGE else f"{path}.{key}" if path else str(key)
                children += [(key_node, inner), (value_node, inner)]
            stack += reversed(children)
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed([(item, f"{path}[{index}]") for index, item in enumerate(node.value)])


def _numbers_named(root: yaml.Node, loader: _StrictLoader) -> None:
    """Every number (and date) of the file read before the document is built, so a refusal (base 60,
    octal, `2026-13-45`) names the key as well as the line: `line 28: train.epochs: ...`."""
    for node, path in _walk(root):
        if node.tag in _NUMBER_TAGS:
            try:
                getattr(loader, _NUMBER_TAGS[node.tag])(node)
            except _Refused as error:
                line, _, why = str(error).partition(": ")
                raise _Refused(f"{line}: {path or 'the document'}: {why}") from None
            except ValueError:
                if node.tag != _TIMESTAMP:
                    raise  # more digits than Python's int() reads: read_params_bytes says so
                where = f"line {node.start_mark.line + 1}: {path or 'the document'}"
                raise _Refused(
                    f"{where}: {_shown(node.value, 40)} has the form YAML reads as a date but is no date: "
                    "no setting takes a date; quote it if it is text"
                ) from None


# Keys whose built-in default would let a check pass what it should refuse (thresholds of 0, no
# label whitelist), with what to write: a file whose reader needs their section must give them.
GATE_KEYS = {
    "data.labels": "the list of labels, or null to accept whatever the data holds",
    "evaluate.thresholds": "the gate's thresholds",
    "evaluate.thresholds.accuracy": "the lowest accuracy that passes, 0 to 1",
    "evaluate.thresholds.macro_f1": "the lowest macro-F1 that passes, 0 to 1",
    "evaluate.thresholds.min_class_recall": "the lowest recall any class may have, 0 to 1",
}


_MERGE = "tag:yaml.org,2002:merge"


def _entry(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node, bool] | None:
    """(key node, value node, whether a YAML merge `<<` gives it) of `key` in `mapping`, as the
    loader reads it: a key written in the mapping comes before what a merge brings."""
    merged = []
    for key_node, value_node in mapping.value:
        if key_node.tag == _MERGE:
            merged += value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        elif isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node, False
    for source in merged:
        found = _entry(source, key) if isinstance(source, yaml.MappingNode) else None
        if found is not None:
            return found[0], found[1], True
    return None


# What the gate, the summary and a release judge by besides GATE_KEYS: a merge or an alias bringing
# them from another place is refused as for GATE_KEYS (issue 27 round 9, F-i: `<<: {task: other}` in
# data skipped the champion comparison, `<<: {champion_tolerance: 0.9}` let a worse model pass). Not
# required of every file: their built-in defaults are the strict ones.
IN_PLACE_KEYS = [
    *GATE_KEYS,
    "data.task",
    "evaluate.main_metric",
    "evaluate.champion_tolerance",
    "deploy.serve.quantize",
    "deploy.serve.int8_tolerance",
    "review.data_gate.max_label_issue_share",
    "review.data_gate.max_leaked_test_rows",
    "review.data_gate.max_class_prior_psi",
]


def _gate_keys_in_place(root: yaml.Node) -> None:
    """The IN_PLACE_KEYS written where they are read: not brought by a merge (`<<: *other`) nor an
    alias (`*name`) from another place, where a reviewer of the section would not see them."""
    for dotted in IN_PLACE_KEYS:
        node, path = root, []
        for part in dotted.split("."):
            found = _entry(node, part) if isinstance(node, yaml.MappingNode) else None
            if found is None:
                break
            key_node, node, merged = found
            path.append(part)
            if merged or node.start_mark.index < key_node.end_mark.index:
                how = "a YAML merge (<<)" if merged else "a YAML alias (*name)"
                raise _Refused(
                    f"{'.'.join(path)} comes through {how} from line {node.start_mark.line + 1}; the "
                    "labels and what the gate judges by (thresholds, tolerances, main metric, task, data "
                    "rules) are written out in their own section, where a reviewer reads them: write the "
                    "values there"
                )


def _written_as_read(root: yaml.Node) -> None:
    """No YAML merge (`<<`) or alias (`*name`) anywhere in the file: besides the IN_PLACE_KEYS (whose
    message says more), the bake window, staging's bounds, the drift rules, the captured share of
    live texts and the training job's isolation and keys judge a release or guard data too (issue 27,
    round 10, F-m: `bake_seconds: *one` watched production's alarms for 1 s). The template uses
    neither, so every value is read where it is written, by the reviewer of its section."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:  # the composer gives an alias the very node its anchor names
            raise _Refused(
                f"{path or 'the document'} comes through a YAML alias (*name) from line "
                f"{node.start_mark.line + 1}; params.yaml is read as written: write the value out "
                "where it is read, where a reviewer of its section sees it"
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            children = []
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if key_node.tag == _MERGE:
                    raise _Refused(
                        f"{path or 'the top level'} takes keys through a YAML merge (<<) on line "
                        f"{key_node.start_mark.line + 1}; params.yaml is read as written: write the "
                        "keys out in their own section, where a reviewer of it sees them"
                    )
                children.append((value_node, f"{path}.{key}" if path else str(key)))
            stack += reversed(children)
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed([(item, f"{path}[{index}]") for index, item in enumerate(node.value)])


_YAML_TAG = "tag:yaml.org,2002:"


def _untagged(root: yaml.Node, loader: _StrictLoader) -> None:
    """No explicit YAML tag anywhere (`!!null`, `!!binary`, `!!bool`, `!<tag:...>`, a local `!tag`):
    a tag changes what a line means without showing it. `accuracy: !!binary MC4w` is base64 for
    "0.0", which a threshold took as 0.0 (issue 27, round 10, F-t), and `!!null` turns any text into
    null: `max_label_issue_share: !!null 0.05` switched the rule off while the line reads 0.05, and
    `labels: !!null a, b` dropped the whitelist (round 11, F-u); `!!bool 0.85` and `!!map 0.85` ended
    in PyYAML's KeyError or ValueError. The template writes none, and deploy/production.yaml refuses
    every tag too (release.desired), so params.yaml takes none: the rule is simple and nothing is
    left that reads otherwise than it is written. Checked on the composed nodes, before anything is
    constructed."""
    if not loader.explicit_tags:
        return
    for node, path in _walk(root):
        tag = loader.explicit_tags.get(id(node))
        if tag is not None:
            short = "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag
            shown = short if short.isprintable() and len(short) <= 60 else _shown(short, 60)
            raise _Refused(
                f"line {node.start_mark.line + 1}: {path or 'the document'}: a YAML tag ({shown}) "
                "changes what the value means without showing it: params.yaml takes no tags; write the "
                "value plainly (quote it if it is text), as the template does"
            )


def _given(raw: dict[str, Any], dotted: str) -> bool:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _required(needs: tuple[str, ...]) -> list[str]:
    """The sections in `needs` and the GATE_KEYS inside them."""
    keys = list(needs)
    for section in needs:
        keys += [key for key in GATE_KEYS if key.startswith(section + ".")]
    return list(dict.fromkeys(keys))


def parse_params(raw: Any, source: Path | str = PARAMS_FILE, needs: tuple[str, ...] = ()) -> Params:
    """`raw` (a loaded params file) as Params. `needs`: the sections (dotted, e.g. `deploy.staging`)
    the caller reads, which must be in the file with their GATE_KEYS, so that nothing a check
    depends on falls back to a built-in default."""
    if raw is None or raw == {}:
        raise ParamsError(
            f"{source}: the file is empty; copy params.yaml from the template and change what you need "
            "(an empty file would run on built-in defaults that differ from the template)"
        )
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections at the top level")
    try:
        params = Params.model_validate(raw, context={"from_file": True})
    except ValidationError as error:
        raise ParamsError(_describe(error, source)) from None
    missing = [key for key in _required(needs) if not _given(raw, key)]
    if missing:
        raise ParamsError(
            "\n".join(
                f"{source}: {key}: missing; this command reads it, and a built-in default could pass "
                f"what should be refused: give {GATE_KEYS.get(key, 'the section')} explicitly (the "
                "template's params.yaml has every key)"
                for key in missing
            )
        )
    return params


def load_params(path: Path | str = PARAMS_FILE, needs: tuple[str, ...] = ()) -> Params:
    """params.yaml, validated; `needs` as in parse_params."""
    source = Path(path)
    try:
        data = atomic.read_regular(source, MAX_PARAMS_BYTES)
    except FileNotFoundError:
        raise ParamsError(f"{source}: not found; run from the repository root") from None
    except OSError as error:
        raise ParamsError(f"{source}: cannot be read ({error.strerror}); pass a params file") from None
    return parse_params(read_params_bytes(data, source), source, needs)


def read_params_bytes(data: bytes, source: Path | str) -> Any:
    """A params file's bytes as YAML, with every check of the file itself (size, UTF-8, characters
    YAML refuses or that hide what is read, duplicate keys, nesting, alias expansion, overlong
    numbers) but not the schema: what a params.yaml of another commit holds (promote reads those).
    Messages start with `source`, e.g. `params.yaml at commit <sha>`."""
    if len(data) > MAX_PARAMS_BYTES:
        raise ParamsError(
            f"{source}: larger than {MAX_PARAMS_BYTES:,} bytes, far more than a params file holds"
        )
    text = atomic.decode_utf8(data, source, ParamsError)
    _refuse_hidden_characters(text, source)
    loader = _StrictLoader(text)  # a SafeLoader
    loader.name = str(source)  # PyYAML's messages would say `in "<unicode string>"`
    try:
        node = loader.get_single_node()
        if node is not None:
            _untagged(node, loader)
            _gate_keys_in_place(node)
            _numbers_named(node, loader)
            _written_as_read(node)
        raw = None if node is None else loader.construct_document(node)
    except _Refused as error:
        raise ParamsError(f"{source}: {error}") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{source}: not valid YAML: {error}") from None
    except RecursionError:
        raise ParamsError(f"{source}: nested too deeply to be a params file") from None
    except ValueError as error:
        # An integer of more than 4,300 digits: Python refuses to convert it (int_max_str_digits).
        # (Tags, which ended here too, `!!map 0.85`, are refused in _untagged; dates in _numbers_named.)
        raise ParamsError(
            f"{source}: a number too long to read ({str(error).split(':')[0]}); no setting takes more "
            "than a few digits: shorten it"
        ) from None
    finally:
        loader.dispose()
    try:
        expanded = _expanded_size(raw)
    except RecursionError:
        raise ParamsError(f"{source}: nested too deeply to be a params file") from None
    if expanded > MAX_NODES:
        raise ParamsError(
            f"{source}: expands to more than {MAX_NODES:,} values through YAML anchors and aliases "
            "(`&name` / `*name`); a params file is a few hundred: write the values out"
        )
    return raw


# What YAML refuses (PyYAML's Reader.NON_PRINTABLE: control characters other than tab, LF, CR and
# NEL, surrogates, U+FFFE and U+FFFF), and the bidirectional controls it would take, which make a
# file display in another order than it is read (CVE-2021-42574, "Trojan Source"); PyYAML names the
# former by a character position in the file, which no editor shows.
_HIDDEN = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Line breaks YAML takes and git, its diffs and GitHub do not (they split at \n only): what a reviewer
# reads as one comment line would end at one, and the rest of it be read as a setting (issue 27,
# round 10, F-r: `# reviewed<U+2028>  champion_tolerance: 0.9`).
# A carriage return not followed by a line feed is one as well (an old Mac line end, or one put in a
# line on purpose): a terminal returns to the line's start there and overprints the setting with
# what follows (round 11, F-v: `accuracy: 0.05<CR>    # accuracy threshold 0.85 as before`). CR LF
# (Windows line ends) stays allowed.
_HIDDEN_BREAK = re.compile("[\x85\u2028\u2029]|\r(?!\n)")
# What YAML counts as a line break (YAML 1.1, 5.4), so the line named is the one PyYAML would count.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _refuse_hidden_characters(text: str, source: Path | str) -> None:
    found = [
        match for match in (_HIDDEN.search(text), _BIDI.search(text), _HIDDEN_BREAK.search(text)) if match
    ]
    if not found:
        return
    at = min(match.start() for match in found)
    character = text[at]
    breaks = list(_LINE_BREAK.finditer(text, 0, at))
    line = len(breaks) + 1
    column = at - (breaks[-1].end() if breaks else 0) + 1
    code = f"U+{ord(character):04X}"
    if _BIDI.fullmatch(character):
        what = (
            f"a bidirectional control character ({code} {unicodedata.name(character)}), which "
            "makes the file display in another order than it is read"
        )
    elif character == "\r":
        raise ParamsError(
            f"{source}: line {line}, column {column}: a carriage return (U+000D) without a line feed after "
            "it, a line break YAML reads and git and GitHub do not show, which hides a line inside "
            "another: delete it, or save the file with LF (or CR LF) line ends"
        )
    elif _HIDDEN_BREAK.fullmatch(character):
        what = (
            f"a line break YAML reads and git and GitHub do not show ({code}), which hides a line "
            "inside another"
        )
    else:
        what = f"a control character ({code}) that YAML does not allow"
    raise ParamsError(
        f"{source}: line {line}, column {column}: {what}; delete it (most editors do not show it)"
    )


# Values a params file may expand to through YAML aliases; the template holds a few hundred.
MAX_NODES = 100_000
# The template is about 10 KB; parsing 5 MB of YAML took 16 s.
MAX_PARAMS_BYTES = 1024**2


def _expanded_size(raw: Any) -> int:
    """How many values `raw` holds with every alias written out, computed once per shared object (an
    alias bomb of a few KB expands to billions; a self-referencing alias counts as too many)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            return MAX_NODES + 1  # refers to itself: infinite once written out
        visiting.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        visiting.discard(key)
        sizes[key] = total
        return total

    return size(raw)


# dvc.lock lists each stage's files; the template's is a few KB.
MAX_DVC_YAML_BYTES = 4 * 1024**2


def read_yaml_bounded(data: bytes, source: Path | str) -> Any:
    """A YAML file DVC reads (dvc.yaml, dvc.lock) as YAML, bounded as a params file is in size and
    alias expansion, without the params file's other checks (a lock's md5 of digits only would read
    as a number with a leading zero). ParamsError naming `source` otherwise: DVC expands every alias
    as it reads, and an alias bomb of a few hundred bytes grows it by gigabytes (R14A-8)."""
    if len(data) > MAX_DVC_YAML_BYTES:
        raise ParamsError(
            f"{source}: larger than {MAX_DVC_YAML_BYTES:,} bytes, far more than DVC's files hold"
        )
    try:
        raw = yaml.safe_load(data)  # an alias is one shared object here: nothing is expanded
        expanded = _expanded_size(raw)
    except yaml.YAMLError as error:
        raise ParamsError(f"{source}: not valid YAML: {error}") from None
    except RecursionError:
        raise ParamsError(f"{source}: nested too deeply to be one of DVC's files") from None
    except ValueError as error:  # bytes that are not UTF-8, an integer too long to read
        raise ParamsError(f"{source}: not readable as YAML ({str(error)[:200]})") from None
    if expanded > MAX_NODES:
        raise ParamsError(
            f"{source}: expands to more than {MAX_NODES:,} values through YAML anchors and aliases "
            "(`&name` / `*name`); write the values out"
        )
    return raw


def folders_to_keep(path: Path | str = PARAMS_FILE) -> list[tuple[str, str]]:
    """(setting, the folder it names with links resolved) for data.raw_dir and a local model.name
    that exist: what `make clean` must not remove. Read from the YAML alone, without the schema: a
    params.yaml that names work/raw is invalid, and work/ must stay all the more."""
    source = Path(path)
    raw: Any = {}
    if source.exists():
        try:
            data = atomic.read_regular(source, MAX_PARAMS_BYTES)
        except OSError as error:
            raise ParamsError(f"{source}: cannot be read ({error.strerror})") from None
        raw = read_params_bytes(data, source)
    settings = {"data.raw_dir": DataParams().raw_dir, "model.name": ModelParams().name}
    kept = []
    for dotted, default in settings.items():
        section, key = dotted.split(".")
        value = (raw or {}).get(section, {}) if isinstance(raw, dict) else {}
        value = value.get(key, default) if isinstance(value, dict) else default
        if isinstance(value, str) and value and os.path.isdir(value):
            kept.append((f"{dotted} ({value})", os.path.realpath(value)))
            kept += [
                (f"{dotted} ({value})'s linked {link}", target) for link, target in _linked_places(value)
            ]
    return kept


# Links followed under a kept folder at most (a data folder holds a handful; a tree of links is refused).
MAX_LINKS_KEPT = 10_000


def _linked_places(folder: str) -> list[tuple[str, str]]:
    """(link, where it leads, links resolved) for each symbolic link under `folder`, through linked
    folders too, each real folder once: a file of data/raw linked into work/ is read by prepare, and
    make clean must keep work/ for it as for the folder itself (issue 27, round 9, D-i)."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for root, folders, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        for name in sorted(folders + files):
            entry = os.path.join(root, name)
            if os.path.islink(entry):
                found.append((entry, os.path.realpath(entry)))
        if len(found) > MAX_LINKS_KEPT:
            raise ParamsError(
                f"{folder}: more than {MAX_LINKS_KEPT:,} symbolic links; make clean cannot tell what they "
                "keep: remove the folders it would clean yourself"
            )
    return found
