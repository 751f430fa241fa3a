"""Batch inference: a SageMaker Batch Transform job on the production model, with the serving image.

`make batch-predict INPUT=s3://... OUTPUT=s3://...` (`textclf batch-predict`) does what the train
stage's `sagemaker` backend does for training, for a file of texts:

1. Find the production model: the model the endpoint's live config serves (the reviewed artifact,
   in the serving image, with the MODEL_VERSION the release gave it). No new model is created.
2. Check the input before paying for instances: every object under INPUT is JSON lines, each line
   an object with the text in "inputs" (other fields, an id for instance, travel to the output). A
   blank line, another shape, a text that is empty once normalised, or one too long for the
   serving settings stops here with the object and line named.
3. CreateTransformJob: `application/jsonlines` split by line, MultiRecord mini-batches within
   MaxPayloadInMB, `InputFilter: $.inputs` (the container gets the text only), `JoinSource:
   Input` (each output line is the input record plus `SageMakerOutput`, the prediction), then
   `OutputFilter`. The serving image accepts at most `deploy.serve.max_batch_size` texts a request:
   when a mini-batch of the input could hold more, the job runs SingleRecord and says why.
4. Follow it: status changes, polling with backoff; Ctrl-C or SIGTERM (a cancelled workflow) stops
   the job, so nothing keeps billing unseen.
5. Report rows, predictions, failures, truncated texts, time and estimated cost (batch.prices_usd_per_hour),
   as one JSON object (`--report FILE` also writes it, all or nothing).

Plain boto3; the same code runs against AWS and the local cloud (`textclf.localcloud.transform`).
Imports point one way: the shared ground and serving's contract, never training or release.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textclf import awsclient
from textclf.atomic import DuplicateKey, read_regular, unique_keys, write_json, write_text
from textclf.config import AwsParams, BatchParams, ServeParams
from textclf.interrupt import sigterm_as_interrupt
from textclf.s3uri import split_s3_uri
from textclf.serving.server import JSONLINES
from textclf.text import normalise

Log = Callable[[str], None]
TERMINAL = {"Completed", "Failed", "Stopped"}
# The field of each input record that holds the text (DataProcessing.InputFilter selects it).
TEXT_FIELD = "inputs"
# Where SageMaker puts the container's answer in a joined JSON record (JoinSource: Input).
JOINED_FIELD = "SageMakerOutput"
MB = 1024 * 1024


class BatchError(Exception):
    """A batch job that cannot start or did not complete, with what to do."""


@dataclass(frozen=True)
class InputCheck:
    objects: list[str]  # s3:// URIs of the input files
    rows: int
    largest_batch: int  # most records one MultiRecord mini-batch of this input can hold


# ---------------------------------------------------------------------------------------------
# The input, checked line by line


class _NotJson(ValueError):
    """What Python's json module reads but JSON is not, said plainly."""


def _no_constant(name: str) -> None:
    # NaN, Infinity and -Infinity: "Numeric values that cannot be represented in the grammar below
    # (such as Infinity and NaN) are not permitted" (RFC 8259 section 6); Python reads them.
    raise _NotJson(f"{name} is not a JSON number (JSON has no NaN or Infinity); write a number or a string")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999: Python reads it as inf
        raise _NotJson(f"{literal[:40]} is a number too large to read; write it as a JSON string")
    return value


def _bounded_int(literal: str) -> int:
    try:
        return int(literal)
    except ValueError:  # Python's message sends the user to sys.set_int_max_str_digits()
        raise _NotJson(
            f"a number of {len(literal.lstrip('-')):,} digits, longer than can be read "
            f"({sys.get_int_max_str_digits():,} at most); write a long id as a JSON string"
        ) from None


def check_record(line: str, where: str, serve: ServeParams, max_payload_bytes: int) -> int:
    """Validate one input line; return the size of what the container receives for it (the
    filtered record: the text as a JSON string, one line)."""
    if not line.strip():
        raise BatchError(f"{where}: empty line; write one JSON object per line, no blank lines")
    try:
        # A key given twice is ambiguous (the job's InputFilter may read one, a reader the other).
        record = json.loads(
            line,
            object_pairs_hook=unique_keys,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except DuplicateKey as duplicate:
        raise BatchError(
            f"{where}: key {duplicate.key!r} is given twice in one object: give it once"
        ) from None
    except _NotJson as error:
        raise BatchError(f"{where}: {error}") from None
    except RecursionError:
        raise BatchError(f"{where}: JSON nested too deeply") from None
    except ValueError as error:
        ends = f"; {CR_ENDS}" if "\r" in line.rstrip("\r") else ""
        raise BatchError(f"{where}: not JSON ({error}){ends}") from None
    if not isinstance(record, dict) or not isinstance(record.get(TEXT_FIELD), str):
        raise BatchError(
            f'{where}: expected a JSON object with the text in "{TEXT_FIELD}", e.g. '
            f'{{"id": 7, "{TEXT_FIELD}": "Where is my parcel?"}}'
        )
    if JOINED_FIELD in record:
        raise BatchError(f'{where}: the field "{JOINED_FIELD}" is where the prediction goes; rename it')
    text = record[TEXT_FIELD]
    try:  # JSON's \ud800 escapes decode to lone surrogates, which the serving image refuses
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BatchError(
            f"{where}: the text holds a lone surrogate (U+{ord(text[error.start]):04X}, written as a "
            "\\u escape): the serving image refuses it; write the character itself or drop it"
        ) from None
    if not normalise(text):
        raise BatchError(
            f"{where}: the text is empty once normalised (whitespace or control characters only)"
        )
    if len(text) > serve.max_text_chars and serve.long_text == "reject":
        raise BatchError(
            f"{where}: the text has {len(text)} characters; the serving image refuses more than "
            f"{serve.max_text_chars} (deploy.serve.max_text_chars with long_text: reject)"
        )
    if len(text) > serve.max_text_chars and not normalise(text[: serve.max_text_chars]):
        # The serving image cuts a long text to its first max_text_chars characters and refuses it
        # when they show nothing (textclf.serving.server): the job would fail on this record.
        raise BatchError(
            f"{where}: the text is empty once cut to its first {serve.max_text_chars} characters "
            "(deploy.serve.max_text_chars) and normalised: they show nothing (whitespace, control, format "
            "or combining characters only); remove the leading blank characters"
        )
    size = len(json.dumps(text).encode("utf-8")) + 1
    if size > max_payload_bytes:
        raise BatchError(
            f"{where}: the record is {size} bytes, more than one request may carry "
            f"(batch.max_payload_mb = {max_payload_bytes // MB}); shorten it or raise max_payload_mb"
        )
    return size


def check_lines(
    lines: Iterable[str], source: str, serve: ServeParams, max_payload_bytes: int
) -> tuple[int, int]:
    """(rows, largest MultiRecord mini-batch) of one input file; BatchError names the bad line.
    Mini-batches are packed as SageMaker packs them: records in order while they fit the payload."""
    rows = largest = in_batch = batch_bytes = 0
    pending_blank: int | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            pending_blank = pending_blank or number  # a blank last line is just the file's end
            continue
        if pending_blank is not None:
            check_record("", f"{source} line {pending_blank}", serve, max_payload_bytes)
        size = check_record(line, f"{source} line {number}", serve, max_payload_bytes)
        rows += 1
        if batch_bytes + size > max_payload_bytes:
            in_batch = batch_bytes = 0
        in_batch += 1
        batch_bytes += size
        largest = max(largest, in_batch)
    if not rows:
        raise BatchError(f"{source}: no records; write one JSON object per line")
    return rows, largest


# A file with CR-only line ends is one line to SageMaker.
CR_ENDS = (
    "the line holds carriage returns (CR) where lines end: SplitType Line splits records on \\n only, "
    "so save the file with \\n (or \\r\\n) line ends"
)


class _LineTooLong(Exception):
    """A line longer than the caller's bound: refused before the rest of it is read."""

    def __init__(self, carriage_return: bool) -> None:
        super().__init__()
        self.carriage_return = carriage_return


def _split_lines(body, max_bytes: int | None = None) -> Iterator[bytes]:
    """The object's lines, split on \n only, as SplitType Line splits (streamed, not loaded whole).
    A line's chunks are gathered in a list and joined once (joining them one by one costs the square
    of the line's length), and a line over `max_bytes` stops the reading there (_LineTooLong)."""
    parts: list[bytes] = []
    held = 0
    for chunk in body.iter_chunks(1 << 20):
        *lines, rest = chunk.split(b"\n")
        if lines:
            parts.append(lines[0])
            lines[0] = b"".join(parts)
            parts, held = [], 0
        for line in lines:
            if max_bytes is not None and len(line) > max_bytes:
                raise _LineTooLong(b"\r" in line.rstrip(b"\r"))
            yield line
        if rest:
            parts.append(rest)
            held += len(rest)
            if max_bytes is not None and held > max_bytes:
                raise _LineTooLong(any(b"\r" in part for part in parts))
    if parts:
        yield b"".join(parts)


def _object_lines(body, max_bytes: int, source: str) -> Iterator[str]:
    number = 0
    lines = _split_lines(body, max_bytes)
    while True:
        number += 1
        try:
            raw = next(lines)
        except StopIteration:
            return
        except _LineTooLong as error:
            # "The value in MaxPayloadInMB must be greater than, or equal to, the size of a single
            # record" (CreateTransformJob API reference, MaxPayloadInMB).
            remedy = CR_ENDS if error.carriage_return else "shorten the record or raise batch.max_payload_mb"
            raise BatchError(
                f"{source} line {number}: longer than {max_bytes // MB} MB (batch.max_payload_mb), more than "
                f"one request may carry: {remedy} (the rest of the object was not read)"
            ) from None
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BatchError(
                f"{source} line {number}: not UTF-8 ({error.reason}); save the file as UTF-8"
            ) from None


def list_input(s3, input_uri: str) -> list[tuple[str, str]]:
    bucket, prefix = split_s3_uri(input_uri)
    keys = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    except s3.exceptions.NoSuchBucket:
        raise BatchError(f"{input_uri}: no such bucket") from None
    if not keys:
        raise BatchError(f"{input_uri}: no objects under this prefix; upload the JSON lines file first")
    return [(bucket, key) for key in keys]


def check_input(s3, input_uri: str, serve: ServeParams, settings: BatchParams) -> InputCheck:
    objects, rows, largest = [], 0, 0
    for bucket, key in list_input(s3, input_uri):
        uri = f"s3://{bucket}/{key}"
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            count, biggest = check_lines(
                _object_lines(body, settings.max_payload_mb * MB, uri),
                uri,
                serve,
                settings.max_payload_mb * MB,
            )
        except BatchError as error:
            message = str(error)
            raise BatchError(message if message.startswith(uri) else f"{uri}: {message}") from None
        objects.append(uri)
        rows += count
        largest = max(largest, biggest)
    return InputCheck(objects, rows, largest)


# ---------------------------------------------------------------------------------------------
# The job


def production_model(sm, endpoint: str) -> str:
    """The model the endpoint's live config serves: the released artifact in the serving image."""
    try:
        described = sm.describe_endpoint(EndpointName=endpoint)
    except sm.exceptions.ClientError as error:
        raise BatchError(
            f"endpoint {endpoint}: {error}; release a model first (the release workflow, or "
            "`make promote`) or pass the endpoint that serves it (--endpoint, TEXTCLF_ENDPOINT_NAME)"
        ) from None
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    return config["ProductionVariants"][0]["ModelName"]


def job_name(prefix: str, now: datetime) -> str:
    return f"{prefix}-batch-{now:%Y%m%d-%H%M%S}"


def plan_request(
    name: str, model: str, input_uri: str, output_uri: str, settings: BatchParams, strategy: str
) -> dict[str, Any]:
    """CreateTransformJob's request
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html)."""
    return {
        "TransformJobName": name,
        "ModelName": model,
        # MultiRecord needs SplitType Line: as many records a request as fit in MaxPayloadInMB.
        "BatchStrategy": strategy,
        "MaxPayloadInMB": settings.max_payload_mb,
        "MaxConcurrentTransforms": settings.max_concurrent_transforms,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": settings.invocations_timeout_seconds,
            "InvocationsMaxRetries": settings.invocations_max_retries,
        },
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": JSONLINES,
            "SplitType": "Line",
        },
        # AssembleWith Line and Accept JSON lines: the container answers one prediction a line,
        # which SageMaker joins to its record (docs/serving.md, the container contract).
        "TransformOutput": {"S3OutputPath": output_uri, "Accept": JSONLINES, "AssembleWith": "Line"},
        "TransformResources": {
            "InstanceType": settings.instance_type,
            "InstanceCount": settings.instance_count,
        },
        # JSON lines joined with the input: the answer goes into the record as "SageMakerOutput"
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html).
        "DataProcessing": {
            "InputFilter": f"$.{TEXT_FIELD}",
            "JoinSource": "Input",
            "OutputFilter": settings.output_filter,
        },
        "Tags": [{"Key": "project", "Value": settings.job_name_prefix}],
    }


def wait(sm, name: str, log: Log, poll_seconds: tuple[float, float], sleep=time.sleep) -> dict[str, Any]:
    """Poll DescribeTransformJob with backoff until the job ends; log each status change."""
    first, last = poll_seconds
    delay, seen = first, ""
    while True:
        described = sm.describe_transform_job(TransformJobName=name)
        status = described["TransformJobStatus"]
        if status != seen:
            log(f"job {status}")
            seen, delay = status, first
        if status in TERMINAL:
            return described
        sleep(delay)
        delay = min(delay * 1.5, last)


def stop(sm, name: str, log: Log) -> None:
    try:
        sm.stop_transform_job(TransformJobName=name)
        log(f"asked SageMaker to stop {name}")
    except Exception as error:  # the interrupt must still end the command
        log(f"could not stop {name} ({error}): aws sagemaker stop-transform-job --transform-job-name {name}")


def stop_recorded(job_file: Path, aws: AwsParams, log: Log) -> str:
    """Stop the job `run` recorded in `job_file` (a cancelled workflow's step: GitHub kills the
    process tree, so the client never sees an interrupt). Stopping a finished job changes nothing."""
    if not job_file.exists() and not job_file.is_symlink():
        # It cannot tell "never started" from a mistyped path, which would leave a job running unseen.
        raise BatchError(
            f"no job file at {job_file} (batch-predict writes it, --job-file or make's BATCH_JOB_FILE, "
            "once the job has started): nothing was stopped. If a job runs, pass the path batch-predict "
            "wrote, or stop it by name: aws sagemaker stop-transform-job --transform-job-name NAME"
        )
    if not job_file.is_file():  # a folder, a dangling link: not "nothing started", a wrong path
        raise BatchError(
            f"{job_file}: not a file; pass the file batch-predict --job-file wrote: nothing was stopped"
        )
    try:
        name = job_file.read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as error:
        raise BatchError(
            f"{job_file}: cannot be read ({error}); it is the file batch-predict --job-file wrote"
        ) from None
    if not JOB_NAME.fullmatch(name):
        raise BatchError(
            f"{job_file}: does not hold a transform job name (it holds {name[:60]!r}); it is the file "
            "batch-predict --job-file writes once the job started: nothing was stopped"
        )
    with aws_errors(f"stopping transform job {name}"):
        sm = awsclient.aws_client("sagemaker", aws.region)
        if sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "InProgress":
            stop(sm, name, log)
        else:
            log(f"{name} is not in progress")
    return name


# CreateTransformJob's TransformJobName pattern.
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@contextlib.contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """AWS refusals, missing credentials and an AWS setting of the environment boto3 cannot use
    (textclf.awsclient names it) as one BatchError saying what was being done."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except awsclient.AwsSettingError as error:
        raise BatchError(f"{what}: {error}") from None
    except ClientError as error:
        raise BatchError(f"{what}: AWS refused: {error}") from None
    except BotoCoreError as error:  # no credentials, no region, endpoint unreachable
        raise BatchError(
            f"{what}: {error}; configure AWS credentials and region (aws configure, AWS_PROFILE, or the "
            "workflow's role) or point AWS_ENDPOINT_URL at the local cloud"
        ) from None


def output_uris(objects: list[str], input_uri: str, output_uri: str) -> list[str]:
    """SageMaker writes each input object's results to <output>/<its key below the prefix>.out."""
    _, prefix = split_s3_uri(input_uri)
    base = output_uri.rstrip("/")
    results = []
    for uri in objects:
        _, key = split_s3_uri(uri)
        relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        results.append(f"{base}/{relative}.out")
    return results


def count_outputs(s3, uris: list[str]) -> tuple[int, int]:
    """(predictions, truncated texts) in the output files."""
    predictions = truncated = 0
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for raw in _split_lines(body):
            if not raw.strip():
                continue
            predictions += 1
            with contextlib.suppress(ValueError, AttributeError):
                truncated += bool(json.loads(raw).get(JOINED_FIELD, {}).get("truncated"))
    return predictions, truncated


def facts(
    described: dict[str, Any], settings: BatchParams, rows: int | None, counted: tuple[int, int] | None
) -> dict[str, Any]:
    resources = described.get("TransformResources") or {}
    instance_type = resources.get("InstanceType", settings.instance_type)
    count = int(resources.get("InstanceCount", settings.instance_count))
    start, end = described.get("TransformStartTime"), described.get("TransformEndTime")
    seconds = round((end - start).total_seconds(), 1) if start and end else None
    price = settings.prices_usd_per_hour.get(instance_type)
    cost = round(seconds * count * price / 3600, 4) if seconds is not None and price is not None else None
    predictions, truncated = counted if counted else (0, 0)
    return {
        "job_name": described["TransformJobName"],
        "job_arn": described.get("TransformJobArn"),
        "status": described["TransformJobStatus"],
        "failure_reason": described.get("FailureReason") or None,
        "model_name": described.get("ModelName"),
        "batch_strategy": described.get("BatchStrategy"),
        "instance_type": instance_type,
        "instance_count": count,
        "rows": rows,
        "predictions": predictions,
        # Records without a prediction: all of them when the job did not complete.
        "failures": None if rows is None else rows - predictions,
        "truncated": truncated,
        "transform_seconds": seconds,
        "price_usd_per_hour": price,
        "estimated_cost_usd": cost,
    }


def _check_uris(input_uri: str, output_uri: str, aws: AwsParams, settings: BatchParams) -> None:
    """INPUT and OUTPUT are where the job may read and write, before anything is read or paid for."""
    buckets = {}
    for name, uri in (("INPUT", input_uri), ("OUTPUT", output_uri)):
        try:
            bucket, _ = split_s3_uri(uri)
        except ValueError:
            bucket = ""
        if not bucket:
            raise BatchError(f"{name} {uri!r} is not an s3://bucket/prefix URI")
        buckets[name] = bucket
    # The artifacts bucket holds what the release wrote once and verifies by digest (models/<commit>/,
    # the production record, the champion): batch results have no place there, and the job's role
    # may write the data bucket's batch prefix only (terraform/batch.tf).
    release = {aws.artifacts_bucket: "aws.artifacts_bucket"}
    if aws.models_bucket:
        release[aws.models_bucket] = "aws.models_bucket"
    setting = release.get(buckets["OUTPUT"])
    if setting:
        raise BatchError(
            f"OUTPUT {output_uri} is in the release's bucket ({setting} in params.yaml: released models "
            "and records, written once); write batch results to the data bucket's batch prefix instead, "
            f"e.g. s3://{aws.data_bucket}/{settings.output_prefix} (nothing was started)"
        )
    _check_batch_prefixes(input_uri, output_uri, aws, settings)
    # INPUT is a key prefix matched as a string, not a folder: ListObjectsV2's Prefix "limits the
    # response to keys that begin with the specified prefix"
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html), and a transform job's
    # S3Prefix input takes every object whose key starts with it
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformS3DataSource.html).
    # So s3://b/in takes s3://b/in-results/x.out too: the next run would read the results as input.
    (_, input_key), (_, output_key) = split_s3_uri(input_uri), split_s3_uri(output_uri)
    same_place = input_key.rstrip("/") == output_key.rstrip("/")
    if buckets["INPUT"] == buckets["OUTPUT"] and (output_key.startswith(input_key) or same_place):
        folder = input_key and not same_place and not output_key.startswith(input_key.rstrip("/") + "/")
        hint = f", or end INPUT with / ({input_uri}/) if it is a folder" if folder else ""
        raise BatchError(
            f"OUTPUT {output_uri} is inside INPUT {input_uri} as S3 lists it (every key that starts with "
            f"{input_key!r}): the next run would read the results as input; choose an output prefix that "
            f"does not start with {input_key!r}{hint} (nothing was started)"
        )


def _check_batch_prefixes(input_uri: str, output_uri: str, aws: AwsParams, settings: BatchParams) -> None:
    """The job runs as the model's role, which may read the data bucket's batch.input_prefix and
    write its batch.output_prefix only (terraform/batch.tf: batch_input_prefix, batch_output_prefix):
    a job given other URIs starts, is billed for its instances, and then fails on AccessDenied."""
    (in_bucket, in_key), (out_bucket, out_key) = split_s3_uri(input_uri), split_s3_uri(output_uri)
    # SageMaker writes each result to S3OutputPath/<name>.out (output_uris), so OUTPUT with or
    # without its last slash writes the same keys; INPUT is a key prefix matched as a string.
    places = (
        ("INPUT", input_uri, in_bucket, in_key, "input_prefix", "reads its input"),
        ("OUTPUT", output_uri, out_bucket, out_key.rstrip("/") + "/", "output_prefix", "writes its results"),
    )
    for name, uri, bucket, key, field, does in places:
        allowed = getattr(settings, field)
        if bucket == aws.data_bucket and key.startswith(allowed):
            continue
        if bucket != aws.data_bucket:
            where = (
                f"is not in the data bucket {aws.data_bucket} (aws.data_bucket in params.yaml, or "
                "TEXTCLF_DATA_BUCKET)"
            )
        else:
            where = f"is outside the batch {field.replace('_', ' ')}"
        hint = (
            f"; end INPUT with / ({uri}/) if it is a folder"
            if name == "INPUT" and key + "/" == allowed
            else ""
        )
        raise BatchError(
            f"{name} {uri} {where}: the job's role {does} under s3://{aws.data_bucket}/{allowed} only "
            f"(batch.{field} in params.yaml, and Terraform's batch_{field} in terraform/batch.tf){hint}; "
            "use a URI under it, or change both settings to another prefix (nothing was started)"
        )


def run(
    settings: BatchParams,
    serve: ServeParams,
    aws: AwsParams,
    input_uri: str,
    output_uri: str,
    endpoint: str,
    log: Log,
    check: bool = True,
    report: Path | None = None,
    job_file: Path | None = None,
    sleep=time.sleep,
) -> dict[str, Any]:
    """Run one transform job and return its facts; BatchError when it cannot start or fails."""
    _check_uris(input_uri, output_uri, aws, settings)
    for flag, path in (("--report", report), ("--job-file", job_file)):
        _check_writable(flag, path)
    if not endpoint:
        raise BatchError("name the endpoint whose model to use: --endpoint or TEXTCLF_ENDPOINT_NAME")
    with aws_errors(f"reading the model endpoint {endpoint} serves"):
        sm, s3 = awsclient.aws_client("sagemaker", aws.region), awsclient.aws_client("s3", aws.region)
        model = production_model(sm, endpoint)
    log(f"production model: {model} (served by {endpoint})")

    strategy, rows, objects = settings.batch_strategy, None, None
    if check:
        with aws_errors(f"reading the input {input_uri}"):
            checked = check_input(s3, input_uri, serve, settings)
        rows, objects = checked.rows, checked.objects
        log(f"input: {rows} records in {len(objects)} object(s), checked")
        if strategy == "MultiRecord" and checked.largest_batch > serve.max_batch_size:
            # The serving image answers 413 to a request with more texts than its limit: such a
            # job would fail on its first mini-batch.
            strategy = "SingleRecord"
            log(
                f"MultiRecord would send up to {checked.largest_batch} records a request within "
                f"{settings.max_payload_mb} MB; the serving image takes {serve.max_batch_size} "
                "(deploy.serve.max_batch_size): running SingleRecord"
            )

    name = job_name(settings.job_name_prefix, datetime.now(UTC))
    request = plan_request(name, model, input_uri, output_uri, settings, strategy)
    started = time.monotonic()
    try:
        with sigterm_as_interrupt():
            with aws_errors(f"creating transform job {name}"):
                sm.create_transform_job(**request)
            if job_file is not None:  # for `textclf batch-stop` when this process is killed
                try:
                    write_text(job_file, name + "\n")
                except OSError as error:  # a job nobody could stop must not run on unseen
                    stop(sm, name, log)
                    raise BatchError(
                        f"--job-file {job_file}: cannot be written ({error.strerror}); stopped {name}"
                    ) from None
            log(f"started {name} on {settings.instance_count} x {settings.instance_type} ({strategy})")
            with aws_errors(f"following transform job {name} (it may still run: textclf batch-stop)"):
                described = wait(sm, name, log, settings.poll_seconds, sleep)
    except KeyboardInterrupt:
        stop(sm, name, log)
        raise
    counted = None
    if described["TransformJobStatus"] == "Completed":
        with aws_errors(f"counting the outputs under {output_uri}"):
            if objects is None:
                objects = [f"s3://{b}/{k}" for b, k in list_input(s3, input_uri)]
            counted = count_outputs(s3, output_uris(objects, input_uri, output_uri))
    result = facts(described, settings, rows, counted)
    result.update(
        input=input_uri,
        output=output_uri,
        endpoint=endpoint,
        wall_seconds=round(time.monotonic() - started, 1),
    )
    if report is not None:
        write_json(report, result)
    if described["TransformJobStatus"] != "Completed":
        reason = described.get("FailureReason") or "no reason given"
        raise BatchError(f"transform job {name} {described['TransformJobStatus']}: {reason}")
    log(summary(result))
    return result


def _check_writable(flag: str, path: Path | None) -> None:
    """A file the command writes once the job has run (or started) can be written: checked before
    anything is paid for, so a job never runs for a report or a record that cannot be kept."""
    if path is None:
        return
    if path.exists() and not path.is_dir() and not _written_by_batch_predict(flag, path):
        # No --force: a path that names someone's file (README.md, params.yaml, the raw data) is a
        # mistake, and replacing it would destroy that file; a previous run's own file is replaced.
        raise BatchError(
            f"{flag} {path}: exists and is not a file batch-predict wrote ({OWN_FILES[flag][0]}); "
            f"choose another path (make: {OWN_FILES[flag][1]}) or remove the file (nothing was started)"
        )
    folder = next((parent for parent in (path.parent, *path.parent.parents) if parent.exists()), Path("."))
    problem = None
    if path.is_dir():
        problem = "is a folder; pass a file name"
    elif not folder.is_dir():
        problem = f"{folder} is a file where a folder must be"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"{folder} is not writable"
    if problem:
        raise BatchError(f"{flag} {path}: {problem} (nothing was started)")


# What each of batch-predict's own files holds, and the make variable that names it (mk/batch.mk).
OWN_FILES = {
    "--job-file": ("a transform job name", "BATCH_JOB_FILE"),
    "--report": ("a JSON object with the job's facts", "BATCH_REPORT"),
}
# Its own files are a line or a small JSON object; anything larger is not one of them (and a device
# or pipe in their place is not read at all).
MAX_OWN_FILE_BYTES = 64 * 1024
REPORT_KEYS = {"job_name", "status", "input", "output", "endpoint"}
OWN_NAME_END = re.compile(r"-batch-[0-9]{8}-[0-9]{6}\Z")


def _own_job_name(name: object) -> bool:
    """A name `job_name` makes: <prefix>-batch-YYYYMMDD-HHMMSS."""
    return isinstance(name, str) and bool(JOB_NAME.fullmatch(name)) and bool(OWN_NAME_END.search(name))


def _written_by_batch_predict(flag: str, path: Path) -> bool:
    """Whether `path` holds what `run` writes there: a job name and a newline (--job-file), or the
    facts object (--report). Recognised by content, so a previous run's file is replaced and any
    other file is kept, wherever it is."""
    try:
        text = read_regular(path, MAX_OWN_FILE_BYTES).decode("utf-8")
        if flag == "--job-file":
            return text.endswith("\n") and _own_job_name(text[:-1])
        payload = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(payload, dict) and payload.keys() >= REPORT_KEYS and _own_job_name(payload["job_name"])


def summary(result: dict[str, Any]) -> str:
    parts = [f"{result['job_name']}: {result['predictions']} predictions"]
    if result["rows"] is not None:
        parts.append(f"{result['rows']} rows, {result['failures']} failures")
    parts.append(f"{result['truncated']} truncated")
    if result["transform_seconds"] is not None:
        parts.append(f"{result['transform_seconds']} s")
    if result["estimated_cost_usd"] is not None:
        parts.append(f"about ${result['estimated_cost_usd']:.4f}")
    return ", ".join(parts)
