"""SageMaker training jobs that really train, in the local cloud.

moto records a CreateTrainingJob and reports it Completed at once, with no training, no logs and no
billable time, and it lacks StopTrainingJob. This extension makes the local cloud behave like
SageMaker for the calls the `sagemaker` train backend makes, so that backend talks plain boto3 and
cannot tell the local cloud from AWS:

- CreateTrainingJob starts the job in a background thread: the channels are downloaded from the
  (local cloud's) S3 input URIs, the training image's `train` program runs as a subprocess on the
  SageMaker container contract (`textclf.training.local_runner`; no Docker: the program comes from this
  Python environment, not from the image), checkpoints are synced to and from
  `CheckpointConfig.S3Uri`, and `model.tar.gz` is uploaded to `OutputDataConfig.S3OutputPath`.
- The program's output goes to CloudWatch Logs (`/aws/sagemaker/TrainingJobs`, stream
  `<job>/algo-<n>-<epoch>`), as SageMaker writes it.
- DescribeTrainingJob moves through Starting -> Downloading -> Training -> (Interrupted ->
  Starting -> ...) -> Uploading -> Completed, with TrainingTimeInSeconds and BillableTimeInSeconds
  (Spot: billable = training x (1 - spot_savings)); or Failed with the FailureReason the program
  wrote to /opt/ml/output/failure; or Stopped (StopTrainingJob, MaxRuntimeExceeded,
  MaxWaitTimeExceeded).
- A second CreateTrainingJob with a name in use is refused (ResourceInUse), as on AWS; so is a KMS
  key in a form its field does not take, or a VolumeKmsKeyId for an instance type with local storage
  (ValidationException; `kms_key_refused`).

What real SageMaker does by chance (a Spot interruption, a wait for capacity, a capacity error) is
scripted with a `Scenario`: tests call `configure(...)` in the process that runs the local cloud;
`textclf local-cloud` reads one from the environment variable TEXTCLF_LOCALCLOUD_TRAINING (JSON,
e.g. `{"interrupt_at_steps": [20]}`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textclf.localcloud import iam
from textclf.s3uri import split_s3_uri
from textclf.training.local_runner import (
    LAUNCHER,
    JobInputError,
    JobSpec,
    LocalTrainingJob,
    Outcome,
    changed_files,
)

SCENARIO_ENV = "TEXTCLF_LOCALCLOUD_TRAINING"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
FLUSH_SECONDS = 0.5
# Secondary statuses that end a job.
FINAL = {"Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"}
# Dummy credentials: the job thread calls the local cloud it runs in.

# The KMS fields of CreateTrainingJob and the forms of key the API reference lists for each. botocore's
# model gives both one pattern, [a-zA-Z0-9:/_-]*, which lets through forms a field does not take:
# - OutputDataConfig.KmsKeyId: a key ID, a key ARN, an alias name or an alias ARN
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html);
# - ResourceConfig.VolumeKmsKeyId: a key ID or a key ARN, no alias
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html).
# Key IDs: a UUID, or mrk- and 32 hex digits for a multi-Region key; alias names alias/[a-zA-Z0-9/_-]+
# (AWS KMS developer guide, "Key identifiers (KeyId)",
# https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id).
# Another value is refused with ValidationException, SageMaker's error for input that fails its
# constraints (https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html); AWS does
# not document the message, so ours names the field and the forms it takes. An empty value is no key.
# VolumeKmsKeyId is refused too for an instance type with local storage ("You can't request a
# VolumeKmsKeyId when using an instance type with local storage", API_ResourceConfig.html), by the
# families the train backend classifies from the EC2 documentation (LOCAL_STORAGE_FAMILIES).
_KEY_ID = r"(?:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KEY_ARN = rf"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{{12}}:key/{_KEY_ID}"
_ALIAS = r"(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:)?alias/[a-zA-Z0-9/_-]+"
KMS_KEY_FORMS: dict[tuple[str, str], tuple[re.Pattern[str], str]] = {
    ("OutputDataConfig", "KmsKeyId"): (
        re.compile(f"{_KEY_ID}|{_KEY_ARN}|{_ALIAS}"),
        "a KMS key ID, key ARN, alias name or alias ARN",
    ),
    ("ResourceConfig", "VolumeKmsKeyId"): (re.compile(f"{_KEY_ID}|{_KEY_ARN}"), "a KMS key ID or key ARN"),
}


def kms_key_refused(request: dict[str, Any]) -> str | None:
    """The ValidationException message for a KMS key of a CreateTrainingJob request in a form its
    field does not take (KMS_KEY_FORMS), or a volume key for an instance type with local storage;
    None when the request's keys are ones SageMaker takes."""
    from textclf.training.sagemaker import LOCAL_STORAGE_FAMILIES

    for (structure, member), (form, forms) in KMS_KEY_FORMS.items():
        value = (request.get(structure) or {}).get(member)
        if value and not form.fullmatch(value):
            return f"Invalid {structure}.{member} {value!r}: it must be {forms}."
    resources = request.get("ResourceConfig") or {}
    instance_type = str(resources.get("InstanceType") or "")
    family = instance_type.partition(".")[2].partition(".")[0]  # ml.<family>.<size>
    if resources.get("VolumeKmsKeyId") and family in LOCAL_STORAGE_FAMILIES:
        return (
            f"Invalid ResourceConfig.VolumeKmsKeyId: {instance_type} has local storage, which is encrypted "
            "by a hardware module on the instance; a VolumeKmsKeyId cannot be requested for it."
        )
    return None


# CreateTrainingJob's Tags: at most 50 (API_CreateTrainingJob, "Tags ... Maximum number of 50
# items"); a Tag's Key 1-128 and Value 0-256 characters of the pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$
# (API_Tag, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html), which botocore's
# validation does not check (it checks minimum lengths only). Letters, separators and numbers are
# Unicode's L*, Z* and N* categories.
MAX_TAGS = 50
TAG_PUNCTUATION = set("_.:/=+-@")
# "Tag keys must be unique per resource" and "The aws: prefix is reserved for AWS use" (any case):
# Tagging AWS Resources, "Tag naming limits and requirements"
# (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
RESERVED_TAG_PREFIX = "aws:"


def _tag_character_refused(text: str) -> str | None:
    for character in text:
        if character not in TAG_PUNCTUATION and unicodedata.category(character)[0] not in "LZN":
            return character
    return None


def tags_refused(tags: Any) -> str | None:
    """The ValidationException message for CreateTrainingJob's Tags SageMaker refuses, or None."""
    tags = tags or []
    if len(tags) > MAX_TAGS:
        return f"Invalid Tags: {len(tags)} tags; a training job takes at most {MAX_TAGS}."
    for tag in tags:
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        for member, text, longest in (("Key", key, 128), ("Value", value, 256)):
            bad = _tag_character_refused(text)
            if len(text) > longest or bad is not None:
                why = f"U+{ord(bad):04X}" if bad is not None else f"more than {longest} characters"
                return (
                    f"Invalid Tag {member} {text[:60]!r} ({why}): it must match "
                    r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ and hold at most "
                    f"{longest} characters."
                )
    keys = [str(tag.get("Key", "")) for tag in tags]
    for key in keys:
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            return f"Invalid Tag Key {key[:60]!r}: the aws: prefix is reserved for AWS use."
        if keys.count(key) > 1:
            times = keys.count(key)
            return f"Invalid Tags: the Key {key[:60]!r} is given {times} times; tag keys must be unique."
    return None


# CreateTrainingJob's constraints (the SageMaker API reference, CreateTrainingJob and
# StoppingCondition: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html), as botocore's
# service model states them; botocore checks none of the maxima and patterns before sending.
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MAX_ENTRIES = 100
MAX_RUNTIME_SECONDS = 28 * 24 * 3600  # "The maximum value is 28 days."


def _violation(value: Any, member: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {str(value)[:80]!r} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def request_refused(params: dict[str, Any]) -> str | None:
    """The ValidationException message for a CreateTrainingJob request SageMaker refuses on its
    name, Environment, HyperParameters, stopping condition, instance type or channels, or None."""
    name = str(params.get("TrainingJobName") or "")
    if not JOB_NAME.fullmatch(name):
        return _violation(
            name, "trainingJobName", f"Member must satisfy regular expression pattern: {JOB_NAME.pattern}"
        )
    for member, mapping, key_limit, value_limit in (
        ("environment", params.get("Environment") or {}, 512, 512),
        ("hyperParameters", params.get("HyperParameters") or {}, 256, 2500),
    ):
        if len(mapping) > MAX_ENTRIES:
            return _violation(
                f"{len(mapping)} entries", member, f"Map must have length less than or equal to {MAX_ENTRIES}"
            )
        for key, value in mapping.items():
            if len(key) > key_limit or (member == "environment" and not ENVIRONMENT_KEY.fullmatch(key)):
                pattern = (
                    f" and satisfy regular expression pattern: {ENVIRONMENT_KEY.pattern}"
                    if member == "environment"
                    else ""
                )
                return _violation(
                    key,
                    f"{member}.key",
                    f"Member must have length less than or equal to {key_limit}{pattern}",
                )
            if len(str(value)) > value_limit:
                return _violation(
                    f"{str(value)[:40]}... ({len(str(value))} characters)",
                    f"{member}.{key}",
                    f"Member must have length less than or equal to {value_limit}",
                )
    stopping = params.get("StoppingCondition") or {}
    runtime, wait = stopping.get("MaxRuntimeInSeconds"), stopping.get("MaxWaitTimeInSeconds")
    if isinstance(runtime, int) and runtime > MAX_RUNTIME_SECONDS:
        return (
            f"Invalid MaxRuntimeInSeconds {runtime}: the maximum value is 28 days "
            f"({MAX_RUNTIME_SECONDS} seconds)."
        )
    spot = params.get("EnableManagedSpotTraining") is True
    if spot and wait is None:
        return "Invalid StoppingCondition: MaxWaitTimeInSeconds is required for managed Spot training."
    if spot and isinstance(runtime, int) and isinstance(wait, int) and wait < runtime:
        return (
            f"Invalid MaxWaitTimeInSeconds {wait}: it must be equal to or greater than "
            f"MaxRuntimeInSeconds ({runtime})."
        )
    if not spot and wait is not None:
        return (
            "Invalid StoppingCondition: MaxWaitTimeInSeconds is only for managed Spot training "
            "(EnableManagedSpotTraining)."
        )
    instance_type = (params.get("ResourceConfig") or {}).get("InstanceType")
    if instance_type is not None and instance_type not in _instance_types():
        return _violation(instance_type, "resourceConfig.instanceType", "Member must satisfy enum value set")
    channels = [str(channel.get("ChannelName")) for channel in params.get("InputDataConfig") or []]
    twice = next((channel for channel in channels if channels.count(channel) > 1), None)
    if twice is not None:
        return (
            f"Invalid InputDataConfig: the channel name {twice!r} is given {channels.count(twice)} "
            "times; channel names must be unique."
        )
    return None


def _instance_types() -> set[str]:
    """TrainingInstanceType's values in botocore's service model (SageMaker's enum)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("TrainingInstanceType").enum)


@dataclass(frozen=True)
class Scenario:
    """What happens to the next training jobs, besides running them."""

    # Simulated Spot interruptions: SIGTERM once a checkpoint at each step exists, then a restart.
    interrupt_at_steps: tuple[int, ...] = ()
    # Seconds in Starting (waiting for capacity) before every attempt; counts against MaxWait.
    starting_seconds: float = 0.0
    # Fail in Starting with this FailureReason, without running anything.
    capacity_error: str | None = None
    # Share of the training time not billed for Spot jobs (SageMaker reports 60-90 % typically).
    spot_savings: float = 0.7
    # SIGTERM, then SIGKILL after this long (SageMaker: 120 s).
    stop_grace_seconds: float = 30.0
    # The `train` program; by default the image's launcher from this environment.
    command: tuple[str, ...] = LAUNCHER
    # Keep each job's work folder (the instances' /opt/ml) for inspection.
    keep_work: bool = False

    @classmethod
    def from_env(cls) -> Scenario:
        raw = os.environ.get(SCENARIO_ENV)
        if not raw:
            return cls()
        values = json.loads(raw)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"{SCENARIO_ENV}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        for key in ("interrupt_at_steps", "command"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


_scenario = Scenario()
_running: dict[tuple[str, str, str], _RunningJob] = {}
_running_lock = threading.Lock()


def configure(**changes: Any) -> Scenario:
    """Set the scenario for training jobs created from now on; returns the previous one."""
    global _scenario
    previous = _scenario
    _scenario = replace(Scenario(), **changes)
    return previous


def scenario() -> Scenario:
    return _scenario


def stop_all(timeout: float = 30.0) -> None:
    """Kill every running job's programs and wait for the job threads (a test's teardown, exit)."""
    jobs = list(_running.values())
    for job in jobs:
        job.runner.stop(grace_seconds=0)
    deadline = time.monotonic() + timeout
    for job in jobs:
        job.thread.join(timeout=max(0.0, deadline - time.monotonic()))


# ---------------------------------------------------------------------------------------------
# S3 and CloudWatch Logs, as a training instance sees them


def _split_s3_uri(uri: str) -> tuple[str, str]:
    try:
        return split_s3_uri(uri)
    except ValueError as error:
        raise JobInputError(f"ClientError: {error}") from None


def _list_keys(s3, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def _below(root: Path, relative: str, key: str, uri: str) -> Path:
    """Where the object `key` (`relative` below the prefix of `uri`) is written under `root`. S3's key
    space is flat ("Naming Amazon S3 objects", S3 User Guide,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html): a key may hold `..`, `.`
    or empty segments, which S3 keeps literally and a path would resolve elsewhere; such a key fails
    the job rather than write outside its folder (the local cloud runs as the developer)."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise JobInputError(
            f'ClientError: Data download failed: the object "{key}" under "{uri}" has an empty, "." or ".." '
            f"segment in its key below the prefix ({relative[:200]!r}), which cannot be a file in the "
            "job's folder: rename or delete that object"
        )
    return root.joinpath(*parts)


@dataclass(frozen=True)
class S3Channel:
    s3: Any
    uri: str

    def fetch(self, dest: Path) -> None:
        from botocore.exceptions import ClientError

        bucket, prefix = _split_s3_uri(self.uri)
        try:
            keys = [k for k in _list_keys(self.s3, bucket, prefix) if not k.endswith("/")]
        except ClientError as error:
            raise JobInputError(f"ClientError: Data download failed: {error}") from None
        if not keys:
            raise JobInputError(
                f'ClientError: No S3 objects found under S3 URL "{self.uri}" given in input data source. '
                "Please ensure that the bucket exists in the selected region, that objects exist under "
                "that S3 prefix, and that the role has s3:ListBucket permissions on the bucket."
            )
        for key in keys:
            relative = key[len(prefix) :].lstrip("/") or Path(key).name
            target = _below(dest, relative, key, self.uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(target))


@dataclass
class S3CheckpointStore:
    s3: Any
    uri: str
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def restore(self, local: Path) -> None:
        bucket, prefix = _split_s3_uri(self.uri)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        for key in _list_keys(self.s3, bucket, prefix):
            if key.endswith("/"):  # a folder marker (the S3 console's zero-byte "folder" objects)
                continue
            target = _below(local, key[len(prefix) :], key, self.uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(target))
            info = target.stat()
            self._seen[target.relative_to(local).as_posix()] = (info.st_size, info.st_mtime_ns)

    def save(self, local: Path) -> None:
        bucket, prefix = _split_s3_uri(self.uri)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        with self._lock, tempfile.TemporaryDirectory(prefix="checkpoint-sync-") as snapshots:
            for path, key, stamp in changed_files(local, self._seen):
                # A snapshot is uploaded, not the file the trainer may still be writing: botocore
                # checksums the bytes it reads first (CRC32 by default) and sends them on a second
                # read, and a file that changed between the two would be stored under a checksum
                # of other bytes, failing every later download (FlexibleChecksumError). The
                # snapshot's stamp is the one taken before the copy, so a later change uploads again.
                snapshot = Path(snapshots) / "file"
                try:
                    shutil.copyfile(path, snapshot)
                except FileNotFoundError:  # rotated away by the trainer meanwhile
                    continue
                self.s3.upload_file(str(snapshot), bucket, prefix + key)
                self._seen[key] = stamp


@dataclass(frozen=True)
class S3ModelSink:
    s3: Any
    uri: str

    def put(self, model_tar: Path) -> None:
        bucket, key = _split_s3_uri(self.uri)
        self.s3.upload_file(str(model_tar), bucket, key)


class _CloudWatchLog:
    """The program's lines, batched into put_log_events calls, one stream per instance."""

    def __init__(self, logs, job_name: str) -> None:
        self.logs = logs
        self.job_name = job_name
        self.epoch = int(time.time())
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._streams: set[str] = set()
        self._lock = threading.Lock()
        self._ensure_group()

    def _ensure_group(self) -> None:
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=LOG_GROUP)

    def write(self, host: str, line: str) -> None:
        stream = f"{self.job_name}/{host}-{self.epoch}"
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with self._lock:
            self._pending.setdefault(stream, []).append(event)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for stream, events in pending.items():
            if stream not in self._streams:
                self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
                self._streams.add(stream)
            self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)


# ---------------------------------------------------------------------------------------------
# One job


def _now() -> datetime:
    return datetime.now(UTC)


_PRIMARY = {
    "Completed": "Completed",
    "Failed": "Failed",
    "Stopping": "Stopping",
    "Stopped": "Stopped",
    "MaxRuntimeExceeded": "Stopped",
    "MaxWaitTimeExceeded": "Stopped",
}


class _RunningJob:
    def __init__(
        self, job, backend, endpoint: str, region: str, scenario: Scenario, credentials: dict[str, str]
    ) -> None:
        import boto3

        self.job = job
        self.backend = backend
        self.scenario = scenario
        # The job reads its channels, writes checkpoints, the model and its logs as its execution
        # role, as SageMaker does (the local cloud authorizes every one of those calls).
        session = boto3.Session(
            region_name=region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        self.principal = iam.session_principal(credentials)
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.log = _CloudWatchLog(session.client("logs", endpoint_url=endpoint), job.training_job_name)
        self.work = Path(tempfile.mkdtemp(prefix=f"textclf-{job.training_job_name}-"))
        self.runner = LocalTrainingJob(
            self.work, self._spec(), self._checkpoints(), self._sink(), self.set_status, self.log.write
        )
        self.thread = threading.Thread(
            target=self._run, name=f"training-{job.training_job_name}", daemon=True
        )
        self._done = threading.Event()
        self._final_message = ""
        self._stopping = False

    # -- the job's description -------------------------------------------------------------------

    def _spec(self) -> JobSpec:
        job = self.job
        stopping = job.stopping_condition or {}
        spot = bool(job.enable_managed_spot_training)
        channels = {
            channel["ChannelName"]: S3Channel(self.s3, channel["DataSource"]["S3DataSource"]["S3Uri"])
            for channel in job.input_data_config or []
        }
        return JobSpec(
            channels=channels,
            hyperparameters=dict(job.hyper_parameters or {}),
            env=dict(getattr(job, "environment", None) or {}),
            instance_count=int((job.resource_config or {}).get("InstanceCount", 1)),
            command=self.scenario.command,
            max_runtime_seconds=stopping.get("MaxRuntimeInSeconds"),
            max_wait_seconds=stopping.get("MaxWaitTimeInSeconds") if spot else None,
            stop_grace_seconds=self.scenario.stop_grace_seconds,
            interrupt_at_steps=self.scenario.interrupt_at_steps if spot else (),
            starting_seconds=self.scenario.starting_seconds,
        )

    def _checkpoints(self) -> S3CheckpointStore | None:
        uri = (self.job.checkpoint_config or {}).get("S3Uri")
        return S3CheckpointStore(self.s3, uri) if uri else None

    def _sink(self) -> S3ModelSink:
        return S3ModelSink(self.s3, self.job.model_artifacts["S3ModelArtifacts"])

    # -- what DescribeTrainingJob shows ----------------------------------------------------------

    def set_status(self, secondary: str, message: str) -> None:
        """The runner's status callback. A final status waits for `_finish`: a client that sees
        Completed must also see the times."""
        if secondary in FINAL:
            self._final_message = message
        elif not self._stopping:  # once Stopping, the job only goes on to Stopped
            self._publish(secondary, message)

    def stop(self) -> None:
        """StopTrainingJob."""
        self._stopping = True
        self._publish("Stopping", "Stopping the training job")
        self.runner.stop()

    def _publish(self, secondary: str, message: str) -> None:
        job, now = self.job, _now()
        transitions = [dict(t) for t in job.secondary_status_transitions or []]
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        if secondary in FINAL:
            transitions[-1]["EndTime"] = now
        # Replace, never mutate: DescribeTrainingJob may be serialising the old list right now.
        job.secondary_status_transitions = transitions
        if secondary == "Downloading" and job.training_start_time is None:
            job.training_start_time = now
        job.training_job_status = _PRIMARY.get(secondary, "InProgress")
        job.secondary_status = secondary
        job.last_modified_time = now

    def _finish(self, outcome: Outcome) -> None:
        job = self.job
        training = max(1, round(outcome.training_seconds))
        billable = training
        if job.enable_managed_spot_training:
            billable = max(1, round(training * (1 - self.scenario.spot_savings)))
        job.training_time_in_seconds = training
        job.billable_time_in_seconds = billable
        job.failure_reason = outcome.failure_reason
        job.training_end_time = _now()
        self._publish(outcome.secondary_status, outcome.failure_reason or self._final_message)

    # -- the thread ------------------------------------------------------------------------------

    def start(self) -> None:
        flusher = threading.Thread(target=self._flush_until_done, daemon=True)
        flusher.start()
        self.thread.start()

    def _run(self) -> None:
        try:
            refused = self._output_key_refused()
            if self.scenario.capacity_error:
                self._publish("Starting", "Launching requested ML instances")
                outcome = Outcome("Failed", "Failed", self.scenario.capacity_error)
            elif refused:
                outcome = Outcome("Failed", "Failed", refused)
            else:
                outcome = self.runner.run()
        except Exception as error:  # a bug here must end the job, not leave it InProgress forever
            outcome = Outcome("Failed", "Failed", f"InternalServerError: {type(error).__name__}: {error}")
        finally:
            self._done.set()
        self.log.flush()  # every line is in CloudWatch before the job shows its final status
        self._finish(outcome)
        if not self.scenario.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        with _running_lock:
            _running.pop(self.key, None)

    def _output_key_refused(self) -> str | None:
        """With OutputDataConfig.KmsKeyId the execution role must be allowed kms:Encrypt
        (CreateTrainingJob API reference, OutputDataConfig)."""
        key = (self.job.output_data_config or {}).get("KmsKeyId")
        if not key:
            return None
        try:
            iam.check(self.principal, "kms:Encrypt", iam.kms_key_arn(key, self.backend.region_name))
        except iam.LocalCloudAccessDenied as error:
            return f"ClientError: the model artifacts cannot be encrypted with {key}: {error}"
        return None

    def _flush_until_done(self) -> None:
        while not self._done.wait(FLUSH_SECONDS):
            self.log.flush()
            if self.backend.training_jobs.get(self.job.training_job_name) is not self.job:
                self.runner.stop(grace_seconds=0)  # the local cloud was reset: nobody can see this job

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.backend.account_id, self.backend.region_name, self.job.training_job_name)


# ---------------------------------------------------------------------------------------------
# The patched API


def _prepare_job(job) -> None:
    """Start from what a new job shows: InProgress/Starting and nothing measured yet. Every
    attribute exists from here on, so DescribeTrainingJob never sees the object change shape."""
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.secondary_status_transitions = []
    job.failure_reason = None
    job.training_time_in_seconds = None
    job.billable_time_in_seconds = None
    job.training_start_time = None
    job.training_end_time = None
    job.final_metric_data_list = None


def install() -> None:
    """Patch moto's SageMaker API; called once before the local cloud starts."""
    global _scenario
    from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
    from moto.sagemaker.models import FakeTrainingJob
    from moto.sagemaker.responses import SageMakerResponse

    _scenario = Scenario.from_env()
    create = SageMakerResponse.create_training_job

    def create_training_job(self):
        refused = kms_key_refused(
            {key: self._get_param(key) for key in ("OutputDataConfig", "ResourceConfig")}
        )
        refused = refused or tags_refused(self._get_param("Tags"))
        refused = refused or request_refused(
            {
                key: self._get_param(key)
                for key in (
                    "TrainingJobName",
                    "Environment",
                    "HyperParameters",
                    "StoppingCondition",
                    "EnableManagedSpotTraining",
                    "ResourceConfig",
                    "InputDataConfig",
                )
            }
        )
        if refused:
            raise ValidationError(message=refused)
        name = self._get_param("TrainingJobName")
        if name in self.sagemaker_backend.training_jobs:
            arn = FakeTrainingJob.arn_formatter(name, self.current_account, self.region)
            raise ResourceInUseException(
                f"Training job names must be unique within an AWS account and region, and a training "
                f"job with this name already exists ({arn})"
            )
        role = self._get_param("RoleArn")
        try:
            credentials = iam.service_session(role, "sagemaker.amazonaws.com", name)
        except (iam.LocalCloudAccessDenied, LookupError, ValueError):
            # The wording of SageMaker's ValidationException for a role it cannot assume.
            raise ValidationError(
                message=f"Could not assume role {role}. Please ensure that the role exists and allows "
                "principal 'sagemaker.amazonaws.com' to assume the role."
            ) from None
        # Under the lock, so that a StopTrainingJob racing this call finds the job's runner.
        with _running_lock:
            result = create(self)
            job = self.sagemaker_backend.training_jobs[name]
            # moto drops Environment: SageMaker gives it to the container and DescribeTrainingJob
            # returns it (CreateTrainingJob and DescribeTrainingJob API references, Environment).
            job.environment = self._get_param("Environment") or {}
            _prepare_job(job)
            endpoint = f"http://{self.headers['Host']}"  # the job thread calls this same local cloud
            running = _RunningJob(job, self.sagemaker_backend, endpoint, self.region, _scenario, credentials)
            _running[running.key] = running
        running.start()
        return result

    def stop_training_job(self):
        from moto.core.responses import EmptyResult

        name = self._get_param("TrainingJobName")
        job = self.sagemaker_backend.training_jobs.get(name)
        if job is None:
            arn = FakeTrainingJob.arn_formatter(name, self.current_account, self.region)
            raise ValidationError(message=f"Could not find training job '{arn}'.")
        if job.training_job_status != "InProgress":
            raise ValidationError(
                message="The request was rejected because the training job is in status "
                f"{job.training_job_status}."
            )
        with _running_lock:
            running = _running.get((self.current_account, self.region, name))
        if running is None:  # not started by this local cloud: nothing runs, so it is stopped at once
            job.training_job_status = job.secondary_status = "Stopped"
            return EmptyResult()
        running.stop()
        return EmptyResult()

    SageMakerResponse.create_training_job = create_training_job
    SageMakerResponse.stop_training_job = stop_training_job
    atexit.register(stop_all, timeout=10)
