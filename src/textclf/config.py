"""`params.yaml`, loaded into one typed, validated configuration.

Every stage reads only its own sections (as in dvc.yaml's `params:` lists). A wrong type, an
unknown key or an impossible value stops with a message naming the key, e.g.
`params.yaml: train.epochs: Input should be greater than 0 (got -1)`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PARAMS_FILE = Path("params.yaml")
# Lets CI pick where `train` runs without editing params.yaml (see train.backend below).
BACKEND_ENV = "TEXTCLF_TRAIN_BACKEND"


class ParamsError(ValueError):
    """params.yaml is missing, malformed or holds an invalid value."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitParams(Section):
    train: float = Field(0.7, gt=0, lt=1)
    validation: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitParams:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must sum to 1, got {total:g}")
        return self


class DataParams(Section):
    raw_dir: str = "data/raw"
    prepared_dir: str = "data/prepared"
    text_column: str = "text"
    label_column: str = "label"
    # The allowed labels; a row with any other label is an error. null: whatever the data holds.
    labels: list[str] | None = None
    # A row whose text is empty after whitespace normalisation: stop with an error, or drop it.
    empty_text: Literal["error", "drop"] = "error"
    split: SplitParams = SplitParams()
    seed: int = 42

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None:
            if len(labels) < 2:
                raise ValueError("a classifier needs at least 2 labels")
            if len(set(labels)) != len(labels):
                raise ValueError("labels must be distinct")
        return labels


class ModelParams(Section):
    # A HuggingFace hub id or a local folder. Hub ids shipped in an installed package load offline.
    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    max_length: int = Field(128, ge=8, le=512)


class TrainParams(Section):
    # Where training runs. Not a stage dependency on purpose: it changes where the model is
    # trained, not what is trained. TEXTCLF_TRAIN_BACKEND overrides it (the PR workflow does).
    backend: Literal["local", "sagemaker"] = "local"
    epochs: float = Field(3, gt=0)
    batch_size: int = Field(16, ge=1, le=1024)
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    seed: int = 42
    # Batches of similar length waste less compute on padding.
    group_by_length: bool = True
    eval_steps: int = Field(40, ge=1)
    save_steps: int = Field(40, ge=1)
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(10, ge=1)


class Thresholds(Section):
    accuracy: float = Field(0.0, ge=0, le=1)
    macro_f1: float = Field(0.0, ge=0, le=1)
    min_class_recall: float = Field(0.0, ge=0, le=1)


class EvaluateParams(Section):
    batch_size: int = Field(64, ge=1)
    thresholds: Thresholds = Thresholds()
    # The metric the champion/challenger comparison and the report headline use.
    main_metric: Literal["accuracy", "macro_f1"] = "macro_f1"
    # How much worse than the production model a candidate may be and still pass.
    champion_tolerance: float = Field(0.01, ge=0, le=1)


class ServeParams(Section):
    """The inference server (`textclf serve`): `make serve` and the serving image read these."""

    # Most texts one request may carry; a bigger batch is refused with 413.
    max_batch_size: int = Field(32, ge=1, le=1024)
    # Longest text in characters; a longer one is cut (`truncate`) or refused with 413 (`reject`).
    max_text_chars: int = Field(5000, ge=1, le=1_000_000)
    long_text: Literal["truncate", "reject"] = "truncate"
    # `int8`: dynamic int8 quantization of the Linear layers on CPU (faster; see docs/serving.md).
    quantize: Literal["none", "int8"] = "none"


class ServerlessParams(Section):
    """The SageMaker Serverless endpoint; Terraform hands these to the redeploy Lambda."""

    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(5, ge=1, le=200)
    # Instances kept warm (billed while idle); 0 = none.
    provisioned_concurrency: int = Field(0, ge=0, le=200)

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessParams:
        if self.provisioned_concurrency > self.max_concurrency:
            raise ValueError("provisioned_concurrency must not exceed max_concurrency")
        return self


class DeployParams(Section):
    serve: ServeParams = ServeParams()
    serverless: ServerlessParams = ServerlessParams()
    # Endpoint configs (and their models) kept for rollback; older ones are deleted. The live one
    # and the one before it are always kept.
    keep_configs: int = Field(3, ge=2, le=50)


class AwsParams(Section):
    """Where the project's AWS resources are: Terraform's outputs (`make infra-output`).

    Each can be overridden by an environment variable, which is how CI passes them:
    TEXTCLF_AWS_REGION, TEXTCLF_ARTIFACTS_BUCKET, TEXTCLF_DATA_BUCKET.
    """

    region: str = "us-east-1"
    artifacts_bucket: str = "textclf-artifacts"
    data_bucket: str = "textclf-data"

    def resolved(self) -> AwsParams:
        env = os.environ.get
        return AwsParams(
            region=env("TEXTCLF_AWS_REGION") or self.region,
            artifacts_bucket=env("TEXTCLF_ARTIFACTS_BUCKET") or self.artifacts_bucket,
            data_bucket=env("TEXTCLF_DATA_BUCKET") or self.data_bucket,
        )


class SageMakerParams(Section):
    """The training job of the `sagemaker` train backend (docs/sagemaker.md).

    The role, the image and the KMS key are Terraform outputs and `make images` output; each has an
    environment override, which is how CI passes them: TEXTCLF_SAGEMAKER_ROLE_ARN,
    TEXTCLF_TRAINING_IMAGE_URI, TEXTCLF_KMS_KEY_ID. The bucket and region come from the `aws` section.
    """

    role_arn: str | None = None
    # An ECR image URI built from docker/train.Dockerfile (`make images` prints it).
    training_image: str | None = None
    instance_type: str = Field("ml.g4dn.xlarge", pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")
    # More than one instance trains data parallel with torchrun (one process per GPU).
    instance_count: int = Field(1, ge=1, le=32)
    volume_size_gb: int = Field(30, ge=1, le=16384)
    spot: bool = True
    max_runtime_seconds: int = Field(3600, ge=1, le=28 * 24 * 3600)
    # Spot only: runtime plus the time a job may wait for capacity; must be >= max_runtime_seconds.
    max_wait_seconds: int = Field(7200, ge=1, le=28 * 24 * 3600)
    # Encrypts the model artifact and the instance volume; null uses the buckets' own encryption.
    kms_key_id: str | None = None
    # The container gets no network: the default model ships in the image.
    network_isolation: bool = True
    # Encrypt traffic between the instances of a distributed job (slower).
    encrypt_inter_container_traffic: bool = False
    # Job names are <prefix>-<commit>-<params hash>-<time>; IAM allows the project's prefix only.
    job_name_prefix: str = Field("textclf", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}$")
    # Prefixes in the artifacts bucket: inputs by content hash, checkpoints per branch, models per commit.
    datasets_prefix: str = "datasets"
    checkpoints_prefix: str = "checkpoints"
    models_prefix: str = "models"
    # Extra tags on the job (cost allocation); git commit, branch and project are always set.
    tags: dict[str, str] = {}
    # Status polling backs off from the first interval to the last.
    poll_seconds: tuple[float, float] = (5.0, 60.0)
    # On-demand USD per instance-hour for the cost estimate (check your region's price list).
    prices_usd_per_hour: dict[str, float] = {}

    @model_validator(mode="after")
    def _wait_covers_runtime(self) -> SageMakerParams:
        if self.spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(
                f"max_wait_seconds ({self.max_wait_seconds}) must be >= max_runtime_seconds "
                f"({self.max_runtime_seconds}) for Spot training"
            )
        if not 0 < self.poll_seconds[0] <= self.poll_seconds[1]:
            raise ValueError("poll_seconds must be [first, last] with 0 < first <= last")
        return self

    def resolved(self) -> SageMakerParams:
        env = os.environ.get
        return self.model_copy(
            update={
                "role_arn": env("TEXTCLF_SAGEMAKER_ROLE_ARN") or self.role_arn,
                "training_image": env("TEXTCLF_TRAINING_IMAGE_URI") or self.training_image,
                "kms_key_id": env("TEXTCLF_KMS_KEY_ID") or self.kms_key_id,
            }
        )


class Params(Section):
    data: DataParams = DataParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    aws: AwsParams = AwsParams()
    sagemaker: SageMakerParams = SageMakerParams()
    deploy: DeployParams = DeployParams()

    @property
    def train_backend(self) -> str:
        return os.environ.get(BACKEND_ENV) or self.train.backend


def _describe(error: ValidationError, source: Path) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against params.yaml in the template)"
        got = "" if item["type"] in {"extra_forbidden", "missing"} else f" (got {item.get('input')!r})"
        lines.append(f"{source}: {key}: {message}{got}")
    return "\n".join(lines)


def parse_params(raw: Any, source: Path = PARAMS_FILE) -> Params:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise ParamsError(_describe(error, source)) from None


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{source}: not found; run from the repository root") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{source}: not valid YAML: {error}") from None
    return parse_params(raw, source)
