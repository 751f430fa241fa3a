"""The `sagemaker` train backend: the train stage as a SageMaker training job on managed Spot.

`run()` is the train stage's backend (`textclf.training.backends`); it gets an empty staging folder
that becomes `models/model`:

1. Check everything a job needs before starting one: the role and image are set (their form, and
   the KMS key's, is checked when params load: config.SAGEMAKER_IDS), the instance type is one
   SageMaker trains on, credentials work, the artifacts bucket exists, the image is in ECR. Each
   problem is reported with the setting to change.
2. Upload the prepared splits to `s3://<artifacts>/datasets/<md5>/{train,validation}/`, where
   <md5> is DVC's own digest of `data/prepared` (the one dvc.lock records), write-once: each object
   is a conditional write, and one already there must have the same bytes. A dataset already there
   (its `_COMPLETE` marker exists) is not uploaded again; the job checks every file it receives
   against the listing that digest is the md5 of (textclf.training.job_launcher).
3. CreateTrainingJob: managed Spot, the stopping condition, checkpoints in
   `s3://<artifacts>/checkpoints/<job name>/` (the job's own: it resumes from them after a Spot
   interruption, and from no other job's), the output under `s3://<artifacts>/jobs/<commit>/`
   (never the write-once `models/`), hyperparameters from params.yaml, the dataset's digest and
   listing in its environment, tags. In a pull request's run the training-run function creates it
   (textclf.training.stop_job): the run's role may not, so the job's commit and inputs are recorded
   by something the run cannot forge.
4. Follow the job: status transitions and new CloudWatch log lines, polling with backoff. Ctrl-C
   (or SIGTERM, a cancelled CI run) asks whether to stop the remote job; without a terminal it stops
   it, so nothing keeps billing unseen.
5. On Completed: download `model.tar.gz`, unpack it into the staging folder, and return the facts
   (metrics from the model's training history, times, Spot savings, estimated cost). On Failed or
   Stopped: `SageMakerError` with SageMaker's FailureReason.

Plain boto3, no SageMaker SDK: the SDK 3.x meta package weighs about 1 GB (it pulls mlflow) and
the backend needs four API calls. The same code runs against AWS and against the local cloud.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textclf import awsclient
from textclf.config import TRAIN_JOB_FILE, AwsParams, Params, SageMakerParams
from textclf.interrupt import sigterm_as_interrupt
from textclf.pipeline.train import HISTORY_FILE, Hyperparameters
from textclf.s3uri import split_s3_uri

# The instance families with local NVMe storage (no VolumeKmsKeyId) and the EBS-only ones are
# classified once, in the training-run function that ships alone in its Lambda zip and starts a
# pull request's job with the same rule (stop_job.has_local_storage).
from textclf.training.stop_job import EBS_ONLY_FAMILIES as EBS_ONLY_FAMILIES
from textclf.training.stop_job import LOCAL_STORAGE_FAMILIES as LOCAL_STORAGE_FAMILIES
from textclf.training.stop_job import has_local_storage

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# Channel -> the files of data/prepared it carries (train.main_job reads labels.json from train).
CHANNEL_FILES = {"train": ("train.jsonl", "labels.json"), "validation": ("validation.jsonl",)}
COMPLETE_MARKER = "_COMPLETE"
MODEL_FILES = ("config.json", "labels.json", HISTORY_FILE)
TERMINAL = ("Completed", "Failed", "Stopped")
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+)(:(?P<tag>[\w.-]+)|@(?P<digest>sha256:[0-9a-f]{64}))$"
)
# Families with NVIDIA GPUs (the training program refuses to run on CPU there: pipeline/train.py).
GPU_FAMILY_PREFIXES = ("ml.g", "ml.p")

Log = Callable[[str], None]


class SageMakerError(RuntimeError):
    """The training job could not be started, or did not complete. The message says what to do."""


def aws_client(service: str, region: str) -> Any:
    """A boto3 client through the shared guard (textclf.awsclient): an AWS setting of the
    environment boto3 cannot use (AWS_PROFILE, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS...) is a
    SageMakerError naming it, not botocore's traceback."""
    try:
        return awsclient.aws_client(service, region)
    except awsclient.AwsSettingError as error:
        raise SageMakerError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# What the job is: names, URIs and the CreateTrainingJob request (no AWS calls)


@dataclass(frozen=True)
class GitInfo:
    commit: str
    branch: str

    @classmethod
    def detect(cls, env: dict[str, str] | None = None) -> GitInfo:
        """The commit and branch the model is trained from. CI checks out a PR's merge commit, so
        the workflow passes the PR head as COMMIT and GitHub sets GITHUB_HEAD_REF."""
        env = dict(os.environ) if env is None else env
        commit = env.get("COMMIT") or _git("rev-parse", "HEAD")
        branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or _git("branch", "--show-current")
        if not commit:
            raise SageMakerError(
                "no git commit: run from a git checkout, or set COMMIT (the job is named and tagged after it)"
            )
        return cls(commit=commit, branch=branch or f"detached-{commit[:12]}")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


# CreateTrainingJob's Environment values are at most this long (API reference, Environment).
ENVIRONMENT_VALUE_LIMIT = 512


def dataset_listing(prepared: Path) -> tuple[str, str]:
    """(md5, listing) of the prepared folder as DVC computes a directory's hash (dvc-data's
    Tree.digest: the md5 of the JSON list of {"md5", "relpath"} sorted by relpath, plus ".dir"),
    so the digest is the one dvc.lock records for data/prepared. The channels' files are in it."""
    for names in CHANNEL_FILES.values():
        for name in names:
            if not (prepared / name).is_file():
                raise SageMakerError(
                    f"{prepared / name}: not found; run the prepare stage first (dvc repro prepare)"
                )
    entries = sorted(
        (
            {"md5": _md5(path), "relpath": path.relative_to(prepared).as_posix()}
            for path in prepared.rglob("*")
            if path.is_file()
        ),
        key=lambda entry: entry["relpath"],
    )
    listing = json.dumps(entries, sort_keys=True)
    if len(listing) > ENVIRONMENT_VALUE_LIMIT:
        raise SageMakerError(
            f"{prepared} holds {len(entries)} files: their listing is {len(listing)} characters, more than a "
            f"training job's environment value takes ({ENVIRONMENT_VALUE_LIMIT}); keep only the splits there"
        )
    return hashlib.md5(listing.encode(), usedforsecurity=False).hexdigest() + ".dir", listing


def _md5(path: Path) -> str:
    with path.open("rb") as handle:  # as DVC hashes a file (not for security)
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


# A .dvc file is a few lines (textclf.pipeline.own_data and textclf.release.retrain read it with
# the same bound); a pipe or device in its place is not read at all.
DVC_FILE_LIMIT = 1 << 20


def raw_data_md5(dvc_file: Path = Path("data.dvc")) -> str | None:
    """The md5 data.dvc records for the raw data the prepare stage read (its one output), if any;
    None when there is no data.dvc. A data.dvc that cannot be read (bytes that are not UTF-8, not
    YAML, nested without end, a pipe, far too large) is SageMakerError naming it, before a job
    starts: the job's record of its raw data would be missing and the release would refuse it."""
    import yaml

    from textclf import atomic

    def refuse(reason: str) -> SageMakerError:
        return SageMakerError(
            f"{dvc_file}: cannot be read as a DVC file ({reason}); it records the raw data the job's "
            f"prepared data came from: restore it (git checkout {dvc_file}) or run make data"
        )

    try:
        record = yaml.safe_load(atomic.read_regular(dvc_file, DVC_FILE_LIMIT).decode("utf-8"))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise refuse(error.strerror or "not a regular file") from None
    except UnicodeDecodeError as error:
        raise refuse(f"byte {error.start} is not UTF-8") from None
    except yaml.YAMLError as error:
        raise refuse("not YAML: " + " ".join(str(error).split())[:200]) from None
    except RecursionError:
        raise refuse("nested too deeply") from None
    outs = record.get("outs") if isinstance(record, dict) else None
    md5 = (
        outs[0].get("md5")
        if isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], dict)
        else None
    )
    return md5 if isinstance(md5, str) and re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5) else None


def dataset_digest(prepared: Path) -> str:
    """Content address of the prepared data (its key under datasets/): DVC's md5 of the folder."""
    return dataset_listing(prepared)[0].removesuffix(".dir")


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "none"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def job_name(prefix: str, commit: str, params_hash: str, now: datetime) -> str:
    """`<prefix>-<commit 8>-<params hash 8>-<time>`: at most 63 letters, digits and hyphens. The
    time suffix (seconds, base 36) keeps a retry of the same commit and params distinct."""
    suffix = _base36(int(now.timestamp()))
    name = f"{prefix}-{_slug(commit, 8)}-{_slug(params_hash, 8)}-{suffix}"
    return re.sub(r"-{2,}", "-", name)[:63].strip("-")


def run_job_name(prefix: str, commit: str, run_id: str, attempt: str = "1") -> str:
    """`<prefix>-<commit 8>-run<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>`: the one job a workflow run
    attempt starts, named so that a later step of the same run (the cancel step) can stop it
    without any state passed between steps."""
    if not (run_id.isdigit() and attempt.isdigit()):
        raise SageMakerError(f"GITHUB_RUN_ID {run_id!r} and GITHUB_RUN_ATTEMPT {attempt!r} must be numbers")
    name = f"{prefix}-{_slug(commit, 8)}-run{run_id}-{attempt}"
    if len(name) > 63:
        raise SageMakerError(
            f"training job name {name} is longer than 63 characters: shorten job_name_prefix"
        )
    return name


def params_hash(hp: Hyperparameters, digest: str, settings: SageMakerParams) -> str:
    what = {
        "hyperparameters": hp.model_dump(),
        "dataset": digest,
        "instance": [settings.instance_type, settings.instance_count],
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class JobPlan:
    name: str
    request: dict[str, Any]
    dataset_uri: str
    checkpoint_uri: str
    output_uri: str


def plan_job(
    params: Params,
    hp: Hyperparameters,
    git: GitInfo,
    digest: str,
    now: datetime | None = None,
    env: dict[str, str] | None = None,
    listing: str | None = None,
) -> JobPlan:
    """The CreateTrainingJob request for this commit, data and params. In a GitHub Actions run the
    job is named after the run (run_job_name); elsewhere after the params and the time."""
    settings, aws = params.sagemaker.resolved(), params.aws.resolved()
    env = dict(os.environ) if env is None else env
    now = now or datetime.now(UTC)
    bucket = aws.artifacts_bucket
    if env.get("GITHUB_RUN_ID"):
        name = run_job_name(
            settings.job_name_prefix, git.commit, env["GITHUB_RUN_ID"], env.get("GITHUB_RUN_ATTEMPT", "1")
        )
    else:
        name = job_name(settings.job_name_prefix, git.commit, params_hash(hp, digest, settings), now)
    dataset_uri = f"s3://{bucket}/{settings.datasets_prefix}/{digest}/"
    # The job's own: SageMaker restores them after a Spot interruption of this job; no other job
    # (of this run or another) writes there, so a job never resumes from another's weights.
    checkpoint_uri = f"s3://{bucket}/{settings.checkpoints_prefix}/{name}/"
    output_uri = f"s3://{bucket}/{settings.models_prefix}/{git.commit}/"
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": {"TrainingImage": settings.training_image, "TrainingInputMode": "File"},
        "HyperParameters": hp.for_sagemaker(),
        "InputDataConfig": [_channel(channel, dataset_uri) for channel in CHANNEL_FILES],
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "ResourceConfig": {
            "InstanceType": settings.instance_type,
            "InstanceCount": settings.instance_count,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "EnableManagedSpotTraining": settings.spot,
        "CheckpointConfig": {"S3Uri": checkpoint_uri, "LocalPath": CHECKPOINT_LOCAL_PATH},
        "EnableNetworkIsolation": settings.network_isolation,
        "EnableInterContainerTrafficEncryption": settings.encrypt_inter_container_traffic,
        "Tags": _tags(settings, git, hp),
    }
    if listing is not None:
        # The job checks the files it receives against the listing (textclf.training.job_launcher);
        # the raw data's digest (data.dvc) the prepared data came from is recorded with it.
        request["Environment"] = {"TEXTCLF_DATASET_MD5": f"{digest}.dir", "TEXTCLF_DATASET_LISTING": listing}
        raw = raw_data_md5()
        if raw:
            request["Environment"]["TEXTCLF_RAW_DATA_MD5"] = raw
    if settings.spot:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.max_wait_seconds
    if settings.kms_key_id:
        # A key ID or key ARN (config.SAGEMAKER_IDS), never an alias: VolumeKmsKeyId takes none.
        request["OutputDataConfig"]["KmsKeyId"] = settings.kms_key_id
        if not has_local_storage(settings.instance_type):
            request["ResourceConfig"]["VolumeKmsKeyId"] = settings.kms_key_id
    return JobPlan(name, request, dataset_uri, checkpoint_uri, output_uri)


def _channel(name: str, dataset_uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"{dataset_uri}{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "application/jsonlines",
        "InputMode": "File",
    }


def _tag_value(text: str) -> str:
    return re.sub(r"[^\w.:/=+\-@ ]", "-", text)[:256]


def _tags(settings: SageMakerParams, git: GitInfo, hp: Hyperparameters) -> list[dict[str, str]]:
    tags = {
        "project": settings.job_name_prefix,
        "git-commit": git.commit,
        "git-branch": _tag_value(git.branch),
        "hyperparameters": hp.fingerprint(),
        **{key: _tag_value(value) for key, value in settings.tags.items()},
    }
    return [{"Key": key, "Value": value} for key, value in tags.items()]


# ---------------------------------------------------------------------------------------------
# Checks before any job starts


def check_settings(settings: SageMakerParams) -> None:
    """Problems a user fixes in params.yaml or the environment; all of them at once. The form of the
    role, image and key was checked when params load (config.SAGEMAKER_IDS); here, that they are set."""
    problems = []
    if not settings.role_arn:
        problems.append(
            "sagemaker.role_arn is not set: set it in params.yaml or TEXTCLF_SAGEMAKER_ROLE_ARN "
            "(Terraform output sagemaker_role_arn)"
        )
    if not settings.training_image:
        problems.append(
            "sagemaker.training_image is not set: set it in params.yaml or TEXTCLF_TRAINING_IMAGE_URI "
            "(`make images-push` builds and pushes it and prints the URI)"
        )
    offered = training_instance_types()
    if settings.instance_type not in offered:
        similar = sorted(t for t in offered if t.split(".")[1] == settings.instance_type.split(".")[1])
        hint = (
            f"; this family offers {', '.join(similar)}" if similar else "; e.g. ml.g4dn.xlarge, ml.g5.xlarge"
        )
        problems.append(
            f"sagemaker.instance_type {settings.instance_type!r} is not offered for SageMaker training{hint}"
        )
    if problems:
        raise SageMakerError("params.yaml: " + "\n  ".join(problems))


def training_instance_types() -> set[str]:
    """What SageMaker trains on, from the API model that ships with botocore (no call; read with
    botocore's loader, not a session, which would read the environment's AWS profile first)."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    model = ServiceModel(create_loader().load_service_model("sagemaker", "service-2"))
    return set(model.shape_for("TrainingInstanceType").enum)


def check_aws(settings: SageMakerParams, aws: AwsParams) -> str:
    """Credentials work, the bucket exists, the image is in ECR. Returns the account id."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if not _has_credentials(aws.region):
        raise SageMakerError(
            "no AWS credentials: configure them (AWS_PROFILE, `aws configure`, or the workflow's OIDC role) "
            "or run against the local cloud (make local-cloud)"
        )
    try:
        account = aws_client("sts", aws.region).get_caller_identity()["Account"]
    except (ClientError, NoCredentialsError, BotoCoreError) as error:
        raise SageMakerError(f"AWS rejected the credentials: {error}") from None
    _check_bucket(aws_client("s3", aws.region), aws.artifacts_bucket)
    _check_image(aws_client("ecr", aws.region), settings.training_image or "", account, aws.region)
    return account


def _check_bucket(s3, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        where = "aws.artifacts_bucket in params.yaml or TEXTCLF_ARTIFACTS_BUCKET"
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise SageMakerError(
                f"the artifacts bucket s3://{bucket} does not exist ({where}): create it with Terraform "
                "(make infra-apply) or set the name of the existing one"
            ) from None
        raise SageMakerError(f"cannot use the artifacts bucket s3://{bucket} ({where}): {error}") from None


def _check_image(ecr, image: str, account: str, region: str) -> None:
    """An image in this account's ECR must exist; others (another account) are SageMaker's to check."""
    from botocore.exceptions import ClientError

    match = ECR_IMAGE.match(image)
    if match is None or match["account"] != account or match["region"] != region:
        return
    image_id = {"imageTag": match["tag"]} if match["tag"] else {"imageDigest": match["digest"]}
    try:
        ecr.describe_images(repositoryName=match["repository"], imageIds=[image_id])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("RepositoryNotFoundException", "ImageNotFoundException"):
            raise SageMakerError(
                f"sagemaker.training_image {image}: not in ECR ({code}); build and push it with "
                "`make images-push`, or set TEXTCLF_TRAINING_IMAGE_URI to an image that exists"
            ) from None
        if code != "AccessDeniedException":  # not allowed to look: let SageMaker pull it
            raise SageMakerError(f"cannot check the training image {image}: {error}") from None


# ---------------------------------------------------------------------------------------------
# The data


def upload_dataset(s3, prepared: Path, dataset_uri: str, log: Log) -> bool:
    """Upload the channels unless this content is already there. True when it uploaded.

    `datasets/` is write-once (terraform/storage.tf): every object is a conditional write
    (If-None-Match: *), and an object already there (an earlier, unfinished upload, or anyone's)
    is kept only if it has exactly these bytes; other bytes under this content address are refused
    naming the key, never trained on."""
    from botocore.exceptions import ClientError

    bucket, prefix = split_s3_uri(dataset_uri)
    marker = prefix + COMPLETE_MARKER
    try:
        s3.head_object(Bucket=bucket, Key=marker)
        log(f"dataset already in {dataset_uri} (same content): not uploading it again")
        return False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    files = {}
    for channel, names in CHANNEL_FILES.items():
        for name in names:
            _put_once(s3, bucket, f"{prefix}{channel}/{name}", prepared / name)
            files[f"{channel}/{name}"] = (prepared / name).stat().st_size
    # Written last: a dataset without its marker is incomplete and is uploaded again.
    body = json.dumps({"files": files}).encode()
    try:
        s3.put_object(Bucket=bucket, Key=marker, Body=body, IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
    log(f"uploaded the dataset to {dataset_uri} ({sum(files.values()) / 1024:.0f} KiB)")
    return True


def _put_once(s3, bucket: str, key: str, path: Path) -> None:
    from botocore.exceptions import ClientError

    try:
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
    there = hashlib.md5(usedforsecurity=False)
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        there.update(chunk)
    if there.hexdigest() != _md5(path):
        raise SageMakerError(
            f"s3://{bucket}/{key} exists with other bytes than {path} under the same content address: "
            "someone wrote it before this upload; datasets are write-once, so it is not trained on. "
            "Report it (the bucket's CloudTrail data events name the writer) and change the data"
        )


# ---------------------------------------------------------------------------------------------
# Starting and following a job


def create_job(sm, request: dict[str, Any], settings: SageMakerParams) -> None:
    from botocore.exceptions import ClientError

    try:
        sm.create_training_job(**request)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        hints = {
            "ResourceLimitExceeded": (
                f"raise the quota '{settings.instance_type} for spot training job usage' "
                "(Service Quotas, SageMaker) or choose another sagemaker.instance_type"
            ),
            "AccessDeniedException": (
                f"the credentials may create training jobs named {settings.job_name_prefix}-* and pass "
                "the SageMaker role only (terraform/iam.tf): check sagemaker.job_name_prefix and role_arn"
            ),
            "ResourceInUse": "a job of this name exists already: run again in a second",
        }
        hint = hints.get(code, "check the sagemaker section of params.yaml against the message")
        raise SageMakerError(
            f"SageMaker refused the training job {request['TrainingJobName']}: {error}\n  {hint}"
        ) from None


def start_job(
    sm, request: dict[str, Any], settings: SageMakerParams, region: str, env: dict[str, str] | None = None
) -> None:
    """Create the job: in a pull request's run through the training-run function (its role may not
    create jobs: the function names the job after the run's verified head commit and sets its
    checkpoints and output, textclf.training.stop_job), elsewhere directly."""
    env = dict(os.environ) if env is None else env
    function = env.get("TEXTCLF_STOP_TRAINING_FUNCTION")
    if not (function and env.get("GITHUB_RUN_ID")):
        create_job(sm, request, settings)
        return
    answer = invoke_run_function(
        function, {"action": "start", "job": request, "merge_commit": merge_commit_object(env)}, env, region
    )
    if answer.get("job_name") != request["TrainingJobName"]:
        raise SageMakerError(
            f"the training-run function started {answer.get('job_name')}, not {request['TrainingJobName']}"
        )


def merge_commit_object(env: dict[str, str]) -> str:
    """The run's merge commit (GITHUB_SHA, refs/pull/<n>/merge) as `git cat-file commit` prints it,
    base64: the training-run function hashes it to the sha its token names and takes the pull
    request's head from its second parent."""
    import base64

    sha = env.get("GITHUB_SHA", "")
    done = None
    if re.fullmatch(r"[0-9a-f]{40}", sha):
        done = subprocess.run(["git", "cat-file", "commit", sha], capture_output=True, check=False)
    if done is None or done.returncode != 0:
        raise SageMakerError(
            f"the run's merge commit GITHUB_SHA={sha!r} is not in this checkout: check out the pull "
            "request's merge commit with fetch-depth: 0 first, then the head (pr.yml's train job)"
        )
    return base64.b64encode(done.stdout).decode("ascii")


def invoke_run_function(
    function: str, request: dict[str, Any], env: dict[str, str], region: str, failed: str = ""
) -> dict:
    """Ask the training-run function, with this run's OIDC token for its audience; its answer, or
    SageMakerError with its reason (after `failed`, or saying what was refused)."""
    client = aws_client("lambda", region)
    token = github_id_token(function, env)
    response = client.invoke(FunctionName=function, Payload=json.dumps({**request, "token": token}).encode())
    answer = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError") or not answer.get("ok"):
        reason = answer.get("reason") or answer.get("errorMessage") or answer
        what = failed or f"the training-run function {function} refused to {request.get('action')}"
        raise SageMakerError(f"{what}: {reason}")
    return answer


# What the train stage says about its backend and job (job_facts), and where a pull request's run
# leaves the files published beside its job's model (textclf.release.promote.stage_publish).
PUBLISH_DIR = Path("build/publish")
CANDIDATES_PREFIX = "candidates/"


def publish_run_job(
    commit: str, aws: AwsParams, env: dict[str, str], files_dir: Path = PUBLISH_DIR, s3: Any = None
) -> dict[str, Any]:
    """A pull request's publish, second half: the staged files to candidates/, then the
    training-run function copies the run's job's model.tar.gz and those files (sha256 checked) to
    models/<head>/ with the job's provenance. Returns the manifest."""
    import uuid

    function = env.get("TEXTCLF_STOP_TRAINING_FUNCTION")
    if not (function and env.get("GITHUB_RUN_ID")):
        raise SageMakerError(
            "publish-run-job publishes a pull request run's job: set TEXTCLF_STOP_TRAINING_FUNCTION (the "
            "repository variable STOP_TRAINING_FUNCTION) in a GitHub Actions run; elsewhere use "
            "`textclf publish`"
        )
    try:
        job = json.loads(TRAIN_JOB_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SageMakerError(
            f"{TRAIN_JOB_FILE}: cannot be read ({error}); run the pipeline first (dvc repro)"
        ) from None
    if (
        not isinstance(job, dict)
        or job.get("backend") != "sagemaker"
        or not isinstance(job.get("job_name"), str)
    ):
        raise SageMakerError(
            f"{TRAIN_JOB_FILE}: the model was not trained by a SageMaker job of this run (backend "
            f"{job.get('backend') if isinstance(job, dict) else None!r}); a pull request publishes a "
            "job's output only (TEXTCLF_TRAIN_BACKEND=sagemaker)"
        )
    names = sorted(path.name for path in files_dir.glob("*") if path.is_file()) if files_dir.is_dir() else []
    if not names:
        raise SageMakerError(
            f"{files_dir}: no files to publish; run `python -m textclf.release.promote stage-publish` first"
        )
    s3 = s3 or aws_client("s3", aws.region)
    folder = f"{CANDIDATES_PREFIX}{commit}/{uuid.uuid4().hex}/"
    sources = {}
    for name in names:
        body = (files_dir / name).read_bytes()
        s3.put_object(Bucket=aws.artifacts_bucket, Key=folder + name, Body=body)
        sources[name] = {"key": folder + name, "sha256": hashlib.sha256(body).hexdigest()}
    request = {
        "action": "publish",
        "job_name": job["job_name"],
        "files": sources,
        "merge_commit": merge_commit_object(env),
    }
    answer = invoke_run_function(function, request, env, aws.region)
    manifest = answer.get("manifest") or {}
    if manifest.get("commit") != commit:
        raise SageMakerError(
            f"the training-run function published the model of the run's head commit "
            f"{manifest.get('commit')}, not of COMMIT={commit}: pass the pull request's head commit"
        )
    return manifest


class LogTail:
    """New lines of a training job's CloudWatch log streams (one per instance)."""

    def __init__(self, logs, job: str) -> None:
        self.logs = logs
        self.job = job
        self._tokens: dict[str, str] = {}

    def new_lines(self) -> Iterator[tuple[str, str]]:
        try:
            streams = self.logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job}/"
            )
        except self.logs.exceptions.ResourceNotFoundException:  # no line written yet
            return
        for stream in sorted(s["logStreamName"] for s in streams.get("logStreams", [])):
            yield from self._stream_lines(stream)

    def _stream_lines(self, stream: str) -> Iterator[tuple[str, str]]:
        host = stream.split("/", 1)[-1].rsplit("-", 1)[0]
        while True:
            kwargs = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
            if stream in self._tokens:
                kwargs["nextToken"] = self._tokens[stream]
            page = self.logs.get_log_events(**kwargs)
            for event in page.get("events", []):
                yield host, event["message"]
            if not page.get("events") or page.get("nextForwardToken") == self._tokens.get(stream):
                self._tokens[stream] = page.get("nextForwardToken", self._tokens.get(stream, ""))
                return
            self._tokens[stream] = page["nextForwardToken"]


class JobWatcher:
    """Poll DescribeTrainingJob with backoff; report status transitions and log lines."""

    def __init__(self, sm, logs, name: str, log: Log, poll_seconds: tuple[float, float], sleep=time.sleep):
        self.sm = sm
        self.name = name
        self.log = log
        self.first, self.last = poll_seconds
        self.sleep = sleep
        self.tail = LogTail(logs, name)
        self.reported = 0
        self.status = ""
        self.job_facts: dict[str, Any] = {}  # the JSON line `textclf train-job` prints when done

    def wait(self) -> dict[str, Any]:
        delay = self.first
        while True:
            described = self.sm.describe_training_job(TrainingJobName=self.name)
            changed = self._report_status(described)
            self._report_logs()
            if described["TrainingJobStatus"] in TERMINAL:
                self.sleep(self.first)  # CloudWatch may lag the status by a few seconds
                self._report_logs()
                return described
            delay = self.first if changed else min(delay * 1.5, self.last)
            self.sleep(delay)

    def _report_status(self, described: dict[str, Any]) -> bool:
        transitions = described.get("SecondaryStatusTransitions") or []
        for transition in transitions[self.reported :]:
            self.log(f"job {transition['Status']}: {transition.get('StatusMessage', '')}".rstrip(": "))
        changed = len(transitions) > self.reported
        self.reported = len(transitions)
        status = f"{described['TrainingJobStatus']}/{described.get('SecondaryStatus', '')}"
        if not transitions and status != self.status:
            self.log(f"job {described.get('SecondaryStatus') or described['TrainingJobStatus']}")
            changed = True
        self.status = status
        return changed

    def _report_logs(self) -> None:
        for host, line in self.tail.new_lines():
            self.log(f"{host} | {line}")
            if line.startswith("{") and '"global_step"' in line:
                with contextlib.suppress(ValueError):
                    self.job_facts = json.loads(line)


def _should_stop(name: str, log: Log) -> bool:
    if not sys.stdin.isatty():
        return True
    try:
        answer = input(
            f"\nStop the SageMaker training job {name}? It keeps running and billing otherwise. [Y/n] "
        )
    except (EOFError, KeyboardInterrupt):
        return True
    return answer.strip().lower() in ("", "y", "yes")


def _request_stop(sm, name: str, region: str) -> None:
    """Stop `name`: through the stop-training function in a pull request run (the PR role may not
    stop jobs itself), directly with anyone else's credentials."""
    function = os.environ.get("TEXTCLF_STOP_TRAINING_FUNCTION")
    if function and os.environ.get("GITHUB_RUN_ID"):
        _stop_through_function(function, name, dict(os.environ), region)
    else:
        sm.stop_training_job(TrainingJobName=name)


def _on_interrupt(sm, name: str, region: str, log: Log) -> None:
    if _should_stop(name, log):
        try:
            _request_stop(sm, name, region)
            log(f"asked SageMaker to stop {name}; it saves a checkpoint and stops within about 2 minutes")
        except Exception as error:
            if "not found" in str(error).lower() or "could not find" in str(error).lower():
                log(f"no training job {name} was started")
                return
            log(f"could not stop {name} ({error}): stop it in the console: {console_url(region, name)}")
    else:
        log(f"left {name} running: {console_url(region, name)}")
        log(f"stop it with: aws sagemaker stop-training-job --training-job-name {name}")


def _stop_after_error(sm, name: str, region: str, log: Log, error: BaseException) -> None:
    """Waiting failed (throttling, a bug): the job must not run on unseen. An expired session refuses
    the stop too; the log then says how to stop the job by hand."""
    log(f"following {name} failed ({type(error).__name__}: {error}); stopping the job")
    try:
        status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        if status in TERMINAL or status == "Stopping":
            log(f"{name} is {status} already: nothing to stop")
            return
        _request_stop(sm, name, region)
        log(f"asked SageMaker to stop {name}; it saves a checkpoint and stops within about 2 minutes")
    except Exception as stop_error:
        if "not found" in str(stop_error).lower() or "could not find" in str(stop_error).lower():
            log(f"no training job {name} was started")
            return
        log(f"could not stop {name} ({stop_error}): stop it in the console: {console_url(region, name)}")
        log(f"or: aws sagemaker stop-training-job --training-job-name {name}")


def stop_run_job(params: Params, env: dict[str, str] | None = None, log: Log = print) -> str:
    """Stop the training job this workflow run started (the pr workflow's cancel step). Returns
    what it did: stopped | not-started | finished (already Completed, Failed or Stopped).

    With TEXTCLF_STOP_TRAINING_FUNCTION set (the pr workflow, from Terraform's output), the run
    asks the stop-training function with its own OIDC token: the PR role may not stop jobs itself,
    because IAM cannot tell one PR's job from another's (textclf.training.stop_job). Without it
    (a person's own credentials), it stops the job directly."""
    env = dict(os.environ) if env is None else env
    settings, aws = params.sagemaker.resolved(), params.aws.resolved()
    if not env.get("GITHUB_RUN_ID"):
        raise SageMakerError(
            "GITHUB_RUN_ID is not set: this stops the job of a GitHub Actions run; elsewhere use "
            "aws sagemaker stop-training-job --training-job-name <name>"
        )
    git = GitInfo.detect(env)
    name = run_job_name(
        settings.job_name_prefix, git.commit, env["GITHUB_RUN_ID"], env.get("GITHUB_RUN_ATTEMPT", "1")
    )
    function = env.get("TEXTCLF_STOP_TRAINING_FUNCTION")
    if not _has_credentials(aws.region):
        # The run was cancelled (or failed) before its step that assumes the role: it never had
        # the credentials that start a job, so there is none to stop.
        log(f"no AWS credentials in this run: it never reached the step that starts {name}; nothing to stop")
        return "not-started"
    if function:
        outcome, status = _stop_through_function(function, name, env, aws.region)
    else:
        outcome, status = _stop_directly(name, aws.region)
    if outcome == "not-started":
        log(f"no training job {name} was started by this run: nothing to stop")
    elif outcome == "finished":
        log(f"training job {name} is {status}: nothing to stop")
    else:
        log(
            f"asked SageMaker to stop the training job {name} (was {status}): {console_url(aws.region, name)}"
        )
    return outcome


def _has_credentials(region: str) -> bool:
    """Whether boto3 finds credentials (keys, a profile, a web identity token file) for this process;
    SageMakerError naming an AWS setting of the environment boto3 cannot use (textclf.awsclient)."""
    problem = awsclient.environment_problem(os.environ)
    try:
        if problem:
            raise awsclient.AwsSettingError(f"cannot read the AWS credentials: {problem}")
        return awsclient.have_aws_credentials()
    except awsclient.AwsSettingError as error:
        raise SageMakerError(str(error)) from None


def _stop_directly(name: str, region: str) -> tuple[str, str | None]:
    from botocore.exceptions import ClientError

    sm = aws_client("sagemaker", region)
    try:
        status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    except ClientError as error:
        if "not found" in str(error).lower() or "could not find" in str(error).lower():
            return "not-started", None
        raise SageMakerError(f"cannot look up the training job {name}: {error}") from None
    if status in TERMINAL or status == "Stopping":
        return "finished", status
    try:
        sm.stop_training_job(TrainingJobName=name)
    except ClientError as error:
        hint = ""
        if "AccessDenied" in str(error):  # the PR role: it stops jobs through the function only
            hint = (
                "\n  a pull request's role may not stop jobs itself: set the repository variable "
                "STOP_TRAINING_FUNCTION (Terraform output stop_training_function_name)"
            )
        raise SageMakerError(
            f"could not stop the training job {name}: {error}{hint}\n"
            f"  stop it in the console: {console_url(region, name)}"
        ) from None
    return "stopped", status


def github_id_token(audience: str, env: dict[str, str]) -> str:
    """This job's OIDC token for `audience`, as GitHub documents it for any client: GET
    $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with the bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN
    (set only for jobs with `permissions: id-token: write`)."""
    import urllib.parse
    import urllib.request

    url, bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise SageMakerError(
            "ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set: the job needs `permissions: id-token: write` "
            "to ask the stop-training function"
        )
    request = urllib.request.Request(
        f"{url}&audience={urllib.parse.quote(audience, safe='')}",
        headers={"Authorization": f"bearer {bearer}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["value"])
    except (OSError, ValueError, KeyError) as error:
        raise SageMakerError(f"could not get this job's OIDC token from GitHub: {error}") from None


def _stop_through_function(
    function: str, name: str, env: dict[str, str], region: str
) -> tuple[str, str | None]:
    failed = f"the stop-training function {function} did not stop {name}"
    try:
        answer = invoke_run_function(function, {"job_name": name}, env, region, failed)
    except SageMakerError as error:
        raise SageMakerError(f"{error}\n  stop it in the console: {console_url(region, name)}") from None
    return str(answer["outcome"]), answer.get("status")


def session_seconds(params: Params) -> int:
    """The AWS session the pr workflow's train job asks for (role-duration-seconds)."""
    return params.sagemaker.pr_session_seconds()


def console_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/jobs/{name}"


# ---------------------------------------------------------------------------------------------
# The result


def download_model(s3, artifact_uri: str, staging: Path) -> None:
    bucket, key = split_s3_uri(artifact_uri)
    archive = staging / ".model.tar.gz"
    s3.download_file(bucket, key, str(archive))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")  # no absolute paths, links out, or devices
    finally:
        archive.unlink(missing_ok=True)
    missing = [name for name in MODEL_FILES if not (staging / name).is_file()]
    if missing:
        raise SageMakerError(
            f"{artifact_uri} lacks {', '.join(missing)}: it was not written by `textclf train-job`"
        )


def metrics_from_history(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The train stage's metrics, as the local backend reports them."""
    summary = next((h for h in reversed(history) if "train_loss" in h), {})
    final_eval = next((h for h in reversed(history) if "eval_accuracy" in h), {})
    if not summary or not final_eval:
        raise SageMakerError(f"{HISTORY_FILE} in the model has no training summary or evaluation")
    return {
        "train_loss": round(summary["train_loss"], 4),
        "validation_accuracy": round(final_eval["eval_accuracy"], 4),
        "validation_macro_f1": round(final_eval["eval_macro_f1"], 4),
        "global_step": max(int(h.get("step", 0)) for h in history),
    }


def job_facts(described: dict[str, Any], settings: SageMakerParams, region: str) -> dict[str, Any]:
    resources = described["ResourceConfig"]
    instance_type, count = resources["InstanceType"], resources["InstanceCount"]
    training = described.get("TrainingTimeInSeconds")
    billable = described.get("BillableTimeInSeconds")
    spot = bool(described.get("EnableManagedSpotTraining"))
    savings = None
    if spot and training and billable is not None:
        savings = round(100.0 * (1 - billable / training), 1)  # how the console computes it
    price = settings.prices_usd_per_hour.get(instance_type)
    cost = None
    if price is not None and billable is not None:
        # BillableTimeInSeconds is per instance; Spot discounts are already in it.
        cost = round(billable * count * price / 3600, 4)
    transitions = described.get("SecondaryStatusTransitions") or []
    return {
        "phases": job_phases(described),
        "backend": "sagemaker",
        "job_name": described["TrainingJobName"],
        "job_arn": described["TrainingJobArn"],
        "region": region,
        "console_url": console_url(region, described["TrainingJobName"]),
        "instance_type": instance_type,
        "instance_count": count,
        "spot": spot,
        "training_seconds": training,
        "billable_seconds": billable,
        "spot_savings_percent": savings,
        "price_usd_per_hour": price,
        "estimated_cost_usd": cost,
        "interruptions": sum(1 for t in transitions if t.get("Status") == "Interrupted"),
        "training_image": described["AlgorithmSpecification"]["TrainingImage"],
        "model_artifact": described["ModelArtifacts"]["S3ModelArtifacts"],
    }


def job_phases(described: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the job's time went: each SecondaryStatusTransitions entry (Starting, Downloading,
    Training, Uploading, ... with Interrupted and Pending for Spot) with its duration in seconds.
    A transition without an EndTime ends at the job's end (or last change)."""
    last = described.get("TrainingEndTime") or described.get("LastModifiedTime")
    phases = []
    for transition in described.get("SecondaryStatusTransitions") or []:
        start, end = transition.get("StartTime"), transition.get("EndTime") or last
        seconds = None
        if isinstance(start, datetime) and isinstance(end, datetime):
            seconds = round(max((end - start).total_seconds(), 0.0), 1)
        phases.append(
            {
                "status": transition["Status"],
                "seconds": seconds,
                "message": transition.get("StatusMessage", ""),
            }
        )
    return phases


# ---------------------------------------------------------------------------------------------
# The backend


def preflight(params: Params) -> tuple[SageMakerParams, AwsParams]:
    """The settings a job needs and the environment's AWS settings, checked before the train stage
    touches anything (no network): SageMakerError naming the one to fix. Returns the resolved
    sagemaker and aws sections."""
    settings, aws = params.sagemaker.resolved(), params.aws.resolved()
    check_settings(settings)
    aws_client("sagemaker", aws.region)
    raw_data_md5()  # a data.dvc the job's record cannot be read from is named now, not at the release
    return settings, aws


def run(params: Params, hp: Hyperparameters, staging: Path, log: Log) -> dict[str, Any]:
    """Train on SageMaker; leave the model in `staging`; return the job's facts."""
    settings, aws = preflight(params)
    prepared = Path(params.data.prepared_dir)
    digest, listing = dataset_listing(prepared)
    git = GitInfo.detect()
    check_aws(settings, aws)
    plan = plan_job(params, hp, git, digest.removesuffix(".dir"), listing=listing)
    log(f"training job name: {plan.name}")
    s3 = aws_client("s3", aws.region)
    upload_dataset(s3, prepared, plan.dataset_uri, log)

    started = time.monotonic()
    sm = aws_client("sagemaker", aws.region)
    watcher = JobWatcher(sm, aws_client("logs", aws.region), plan.name, log, settings.poll_seconds)
    # The interrupt guard covers the create call too: SageMaker may have accepted the job
    # before its answer reaches us, and a job nobody follows keeps billing.
    try:
        with sigterm_as_interrupt():
            start_job(sm, plan.request, settings, aws.region)
            spot = "managed Spot" if settings.spot else "on-demand"
            log(f"started {plan.name} on {settings.instance_count} x {settings.instance_type} ({spot})")
            log(f"console: {console_url(aws.region, plan.name)}")
            described = watcher.wait()
    except KeyboardInterrupt:
        _on_interrupt(sm, plan.name, aws.region, log)
        raise
    except SageMakerError:
        raise  # CreateTrainingJob refused: no job runs
    except Exception as error:
        _stop_after_error(sm, plan.name, aws.region, log, error)
        raise
    status = described["TrainingJobStatus"]
    if status != "Completed":
        reason = described.get("FailureReason") or described.get("SecondaryStatus") or "no reason given"
        raise SageMakerError(
            f"training job {plan.name} {status} ({described.get('SecondaryStatus')}): {reason}\n"
            f"  logs: {console_url(aws.region, plan.name)}"
        )
    download_model(s3, described["ModelArtifacts"]["S3ModelArtifacts"], staging)
    history = json.loads((staging / HISTORY_FILE).read_text(encoding="utf-8"))
    facts = {**metrics_from_history(history), **job_facts(described, settings, aws.region)}
    for key in ("resumed_from_step", "train_samples_per_second"):
        if key in watcher.job_facts:
            facts[key] = watcher.job_facts[key]
    facts.update(
        dataset_uri=plan.dataset_uri,
        checkpoint_uri=plan.checkpoint_uri,
        wall_seconds=round(time.monotonic() - started, 1),
    )
    log(_summary(facts))
    return facts


def _summary(facts: dict[str, Any]) -> str:
    parts = [f"{facts['job_name']} completed: {facts['training_seconds']} s training"]
    parts.append(f"{facts['billable_seconds']} s billable")
    if facts["spot_savings_percent"] is not None:
        parts.append(f"Spot savings {facts['spot_savings_percent']} %")
    if facts["estimated_cost_usd"] is not None:
        parts.append(f"about ${facts['estimated_cost_usd']:.4f}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """`python -m textclf.training.sagemaker stop-run-job | session-seconds | publish-run-job` (make
    stop-training, make pr-session-seconds, make publish): the pr workflow's cancel step, its session
    length and the second half of its publish."""
    import argparse

    from textclf.config import ParamsError, load_params

    parser = argparse.ArgumentParser(prog="python -m textclf.training.sagemaker")
    parser.add_argument("command", choices=["stop-run-job", "session-seconds", "publish-run-job"])
    args = parser.parse_args(argv)
    try:
        # The sections each command reads: a file without one is refused, not run on defaults.
        params = load_params(
            needs=("sagemaker",) if args.command == "session-seconds" else ("sagemaker", "aws")
        )
        if args.command == "session-seconds":
            print(session_seconds(params))
        elif args.command == "publish-run-job":
            env = dict(os.environ)
            commit = env.get("COMMIT") or _git("rev-parse", "HEAD")
            manifest = publish_run_job(commit, params.aws.resolved(), env)
            print(
                f"[textclf] published {manifest['model_data_url']} from {manifest['provenance']['job_name']}",
                file=sys.stderr,
            )
            print(json.dumps({key: value for key, value in manifest.items() if key != "metrics"}, indent=2))
        else:
            stop_run_job(
                params, log=lambda message: print(f"[textclf] {message}", file=sys.stderr, flush=True)
            )
    except (ParamsError, SageMakerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
