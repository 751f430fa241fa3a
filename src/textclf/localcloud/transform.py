"""SageMaker Batch Transform jobs that really predict, in the local cloud.

moto records a CreateTransformJob and reports it Completed at once, writing nothing, and it has no
StopTransformJob. With this extension a transform job runs as SageMaker runs it, through the
serving container's contract (`textclf serve`, a child process here, as `runtime.py` starts it for
InvokeEndpoint):

- CreateTransformJob refuses a name in use, a model that does not exist, a role SageMaker cannot
  assume, and settings the API reference refuses (MaxPayloadInMB x MaxConcurrentTransforms over
  100 MB, MultiRecord without SplitType Line, a JSONPath this double cannot apply).
- The job runs as the model's execution role, as on AWS: it lists and reads the input objects,
  reads the model data, and writes the results as that role (the local cloud authorizes each call).
- Each input object is split into records by line (SplitType Line), each record reduced by
  DataProcessing.InputFilter, and the records sent to POST /invocations in mini-batches: as many
  as fit in MaxPayloadInMB (MultiRecord), or one each (SingleRecord), with the job's ContentType
  and Accept. A request that fails is retried InvocationsMaxRetries times.
- Each answer line is joined to its record (JoinSource Input: the record gets "SageMakerOutput"),
  reduced by OutputFilter, and the lines of one object are written to
  `<S3OutputPath>/<key below the input prefix>.out`. Results are written once every object
  succeeded: a failed job leaves no partial output.
- A bad record fails the job with a FailureReason that names the object and the line: an empty
  line, a line the InputFilter cannot apply to, a record larger than MaxPayloadInMB, or a record
  the container refuses (found by sending the failed mini-batch's records one by one).
- DescribeTransformJob: InProgress, then Completed, Failed (FailureReason) or, after
  StopTransformJob, Stopping then Stopped; TransformStartTime and TransformEndTime are real.

Sources: CreateTransformJob and DataProcessing in the SageMaker API reference, "Associate
prediction results with input records"
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html).
"""

from __future__ import annotations

import atexit
import json
import re
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from textclf.localcloud import iam

MB = 1024 * 1024
JOINED_FIELD = "SageMakerOutput"
_running: dict[tuple[str, str, str], _TransformJob] = {}
_lock = threading.Lock()


class JobFailure(Exception):
    """Ends the job as Failed with this FailureReason."""


# ---------------------------------------------------------------------------------------------
# The JSONPath subset DataProcessing filters use here: $, $.field, $['a','b']

_FIELD = re.compile(r"^\$\.([A-Za-z_][A-Za-z0-9_]*)$")
_FIELDS = re.compile(r"^\$\[\s*('[^']+'(\s*,\s*'[^']+')*)\s*\]$")


def path_problem(path: str) -> str | None:
    if path == "$" or _FIELD.match(path) or _FIELDS.match(path):
        return None
    return f"JSONPath {path!r}: the local cloud applies $, $.field and $['a','b'] only"


def apply_path(path: str, value: Any) -> Any:
    """The part of `value` the path selects; LookupError when it selects nothing."""
    if path == "$":
        return value
    if not isinstance(value, dict):
        raise LookupError(f"{path} applies to a JSON object, not {type(value).__name__}")
    single = _FIELD.match(path)
    if single:
        return value[single.group(1)]
    names = re.findall(r"'([^']+)'", path)
    return {name: value[name] for name in names if name in value}


# ---------------------------------------------------------------------------------------------
# One job


def _now() -> datetime:
    return datetime.now(UTC)


class _TransformJob:
    def __init__(
        self, job: Any, backend: Any, endpoint: str, region: str, credentials: dict[str, str]
    ) -> None:
        import boto3

        self.job = job
        self.backend = backend
        # The job reads its input and model and writes its results as the model's execution role.
        session = boto3.Session(
            region_name=region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"transform-{job.transform_job_name}", daemon=True
        )
        self.server = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.backend.account_id, self.backend.region_name, self.job.transform_job_name)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.job.transform_job_status = "Stopping"

    def _gone(self) -> bool:
        """The local cloud was reset: nobody can see this job any more."""
        return self.backend.transform_jobs.get(self.job.transform_job_name) is not self.job

    def _run(self) -> None:
        status, reason = "Completed", None
        try:
            outputs = self._transform()
            if self.stopping.is_set() or outputs is None:
                status = "Stopped"
            else:
                for (bucket, key), body in outputs.items():
                    self._put(bucket, key, body)
        except JobFailure as failure:
            status, reason = "Failed", str(failure)
        except Exception as error:  # a bug here must end the job, not leave it InProgress forever
            status, reason = "Failed", f"InternalServerError: {type(error).__name__}: {error}"
        finally:
            if self.server is not None:
                self.server.stop()
        job = self.job
        job.failure_reason = reason
        job.transform_end_time = job.last_modified_time = _now()
        job.transform_job_status = status
        with _lock:
            _running.pop(self.key, None)

    # -- S3, as the role ---------------------------------------------------------------------------

    def _objects(self, uri: str) -> list[tuple[str, str]]:
        from botocore.exceptions import ClientError

        bucket, _, prefix = uri[len("s3://") :].partition("/")
        keys: list[str] = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        except ClientError as error:
            raise JobFailure(f"ClientError: Failed to list the input {uri}: {error}") from None
        if not keys:
            raise JobFailure(
                f"ClientError: No S3 objects found under S3 URL {uri!r} given in input data source."
            )
        return [(bucket, key) for key in keys]

    def _get(self, bucket: str, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            raise JobFailure(f"ClientError: Failed to download s3://{bucket}/{key}: {error}") from None

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as error:
            raise JobFailure(f"ClientError: Failed to upload s3://{bucket}/{key}: {error}") from None

    # -- the model container -----------------------------------------------------------------------

    def _start_model(self) -> None:
        from textclf.localcloud import endpoints, runtime

        model = self.backend._models[self.job.model_name]
        container = model.primary_container or (model.containers or [{}])[0]
        url = container.get("ModelDataUrl") or ""
        problem = endpoints.artifact_problem(self.backend.account_id, url) or endpoints.access_problem(
            model, url
        )
        if problem:
            raise JobFailure(f"ClientError: {problem}")
        environment = {**(container.get("Environment") or {}), **(self.job.environment or {})}
        try:
            # The serving container's program, started as for InvokeEndpoint (runtime.py).
            self.server = runtime._start(self.backend.account_id, url, environment)
        except runtime.InvokeError as error:
            raise JobFailure(f"ClientError: {error.message}") from None

    def _post(self, records: list[bytes]) -> tuple[int, bytes]:
        job = self.job
        headers = {
            "Content-Type": (job.transform_input or {}).get("ContentType") or "application/octet-stream",
            "Accept": (job.transform_output or {}).get("Accept") or "application/json",
        }
        timeout = (job.model_client_config or {}).get("InvocationsTimeoutInSeconds", 600)
        request = urllib.request.Request(
            f"{self.server.url}/invocations", data=b"".join(records), method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _invoke(self, records: list[bytes]) -> tuple[int, bytes]:
        retries = int((self.job.model_client_config or {}).get("InvocationsMaxRetries", 3))
        for _ in range(retries + 1):
            status, body = self._post(records)
            if status == 200:
                break
        return status, body

    # -- records ---------------------------------------------------------------------------------

    def _records(self, uri: str, data: bytes) -> list[tuple[int, Any, bytes]]:
        """(line number, parsed record or None, what the container gets) for each record."""
        job = self.job
        split = (job.transform_input or {}).get("SplitType") or "None"
        processing = job.data_processing or {}
        input_filter = processing.get("InputFilter") or "$"
        joined = processing.get("JoinSource") == "Input"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JobFailure(f"ClientError: {uri}: not UTF-8 at byte {error.start}") from None
        lines = text.split("\n") if split == "Line" else [text]
        if split == "Line" and lines and lines[-1] == "":
            lines.pop()  # the newline that ends the last record
        records = []
        for number, line in enumerate(lines, start=1):
            where = f"{uri} line {number}"
            if not line.strip():
                raise JobFailure(
                    f"ClientError: {where}: empty record; the input must hold one record per line"
                )
            parsed = None
            if input_filter != "$" or joined:
                try:
                    parsed = json.loads(line)
                    sent = json.dumps(apply_path(input_filter, parsed)).encode("utf-8") + b"\n"
                except (ValueError, LookupError, RecursionError) as error:
                    raise JobFailure(
                        f"ClientError: {where}: the InputFilter {input_filter} cannot be applied to the "
                        f"record ({type(error).__name__}: {error}); each line must be a JSON object"
                    ) from None
            else:
                sent = line.encode("utf-8") + b"\n"
            if joined and not isinstance(parsed, dict):
                raise JobFailure(f"ClientError: {where}: JoinSource Input needs a JSON object a line")
            records.append((number, parsed, sent))
        return records

    def _batches(self, uri: str, records: list[tuple[int, Any, bytes]]) -> list[list[tuple[int, Any, bytes]]]:
        """MultiRecord: records in order while they fit MaxPayloadInMB; SingleRecord: one each."""
        job = self.job
        limit = int(job.max_payload_in_mb if job.max_payload_in_mb is not None else 6) * MB
        multi = job.batch_strategy == "MultiRecord"
        batches: list[list[tuple[int, Any, bytes]]] = []
        size = 0
        for record in records:
            if len(record[2]) > limit:
                raise JobFailure(
                    f"ClientError: {uri} line {record[0]}: the record is {len(record[2])} bytes, more than "
                    f"MaxPayloadInMB ({limit // MB} MB)"
                )
            if not batches or not multi or size + len(record[2]) > limit:
                batches.append([])
                size = 0
            batches[-1].append(record)
            size += len(record[2])
        return batches

    def _answers(self, uri: str, batch: list[tuple[int, Any, bytes]]) -> list[bytes]:
        status, body = self._invoke([sent for _, _, sent in batch])
        if status != 200:
            if len(batch) > 1:
                for record in batch:  # which record does the container refuse?
                    self._answers(uri, [record])
            detail = body.decode("utf-8", "replace")[:500]
            raise JobFailure(
                f"ClientError: {uri} line {batch[0][0]}"
                + (f"-{batch[-1][0]}" if len(batch) > 1 else "")
                + f": the model container answered {status}: {detail}"
            )
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) != len(batch):
            raise JobFailure(
                f"ClientError: {uri} line {batch[0][0]}: the model container answered {len(lines)} "
                f"lines for {len(batch)} records"
            )
        return lines

    def _output(self, record: Any, answer: bytes) -> bytes:
        processing = self.job.data_processing or {}
        if processing.get("JoinSource") != "Input":
            return answer
        joined = {**record, JOINED_FIELD: json.loads(answer)}
        try:
            kept = apply_path(processing.get("OutputFilter") or "$", joined)
        except LookupError as error:
            raise JobFailure(f"ClientError: the OutputFilter selects nothing: {error}") from None
        return json.dumps(kept).encode("utf-8")

    def _transform(self) -> dict[tuple[str, str], bytes] | None:
        job = self.job
        uri = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
        objects = self._objects(uri)
        self._start_model()
        _, _, prefix = uri[len("s3://") :].partition("/")
        out_bucket, _, out_prefix = job.transform_output["S3OutputPath"][len("s3://") :].partition("/")
        outputs: dict[tuple[str, str], bytes] = {}
        for bucket, key in objects:
            source = f"s3://{bucket}/{key}"
            lines = []
            for batch in self._batches(source, self._records(source, self._get(bucket, key))):
                if self.stopping.is_set() or self._gone():
                    return None
                answers = self._answers(source, batch)
                lines += [
                    self._output(record, answer)
                    for (_, record, _), answer in zip(batch, answers, strict=True)
                ]
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            out_key = "/".join(part for part in (out_prefix.rstrip("/"), relative + ".out") if part)
            outputs[(out_bucket, out_key)] = b"".join(line + b"\n" for line in lines)
        return outputs


# ---------------------------------------------------------------------------------------------
# The patched API


def stop_all(timeout: float = 20.0) -> None:
    with _lock:
        jobs = list(_running.values())
    for job in jobs:
        job.stop()
    for job in jobs:
        job.thread.join(timeout=timeout)


def _request_problem(self: Any) -> str | None:
    """What CreateTransformJob refuses (CreateTransformJob API reference)."""
    payload = self._get_param("MaxPayloadInMB")
    concurrent = self._get_param("MaxConcurrentTransforms") or 1
    if payload is not None and not 0 <= int(payload) <= 100:
        return "MaxPayloadInMB must be between 0 and 100"
    if payload is not None and int(payload) * int(concurrent) > 100:
        return "MaxConcurrentTransforms * MaxPayloadInMB must not exceed 100 MB"
    split = (self._get_param("TransformInput") or {}).get("SplitType") or "None"
    if self._get_param("BatchStrategy") == "MultiRecord" and split == "None":
        return "BatchStrategy MultiRecord needs TransformInput.SplitType Line, RecordIO or TFRecord"
    if split not in ("None", "Line"):
        return f"SplitType {split}: the local cloud splits by Line only"
    processing = self._get_param("DataProcessing") or {}
    for field in ("InputFilter", "OutputFilter"):
        problem = path_problem(processing.get(field) or "$")
        if problem:
            return f"DataProcessing.{field}: {problem}"
    return None


def install() -> None:
    """Patch moto's SageMaker API; called once before the local cloud starts."""
    from moto.core.responses import EmptyResult
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
    from moto.sagemaker.models import FakeTransformJob
    from moto.sagemaker.responses import SageMakerResponse

    create = SageMakerResponse.create_transform_job

    def create_transform_job(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("TransformJobName")
        if name in backend.transform_jobs:
            arn = FakeTransformJob.arn_formatter(name, self.current_account, self.region)
            raise ResourceInUseException(
                "Job name must be unique within an AWS account and region, and a job with this name "
                f"already exists ({arn})"
            )
        model = backend._models.get(self._get_param("ModelName"))
        if model is None:
            raise ValidationError(message=f'Could not find model "{self._get_param("ModelName")}".')
        problem = _request_problem(self)
        if problem:
            raise ValidationError(message=problem)
        role = model.execution_role_arn
        try:
            credentials = iam.service_session(role, "sagemaker.amazonaws.com", name)
        except (iam.LocalCloudAccessDenied, LookupError, ValueError):
            raise ValidationError(
                message=f"Could not assume role {role}. Please ensure that the role exists and allows "
                "principal 'sagemaker.amazonaws.com' to assume the role."
            ) from None
        with _lock:  # a StopTransformJob racing this call finds the job's runner
            result = create(self)
            job = backend.transform_jobs[name]
            job.transform_job_status = "InProgress"
            job.failure_reason = None
            job.transform_start_time = _now()
            job.transform_end_time = None
            endpoint = f"http://{self.headers['Host']}"  # the job thread calls this same local cloud
            running = _TransformJob(job, backend, endpoint, self.region, credentials)
            _running[running.key] = running
        running.start()
        return result

    def stop_transform_job(self: Any) -> Any:
        name = self._get_param("TransformJobName")
        job = self.sagemaker_backend.transform_jobs.get(name)
        if job is None:
            arn = FakeTransformJob.arn_formatter(name, self.current_account, self.region)
            raise ValidationError(message=f"Could not find transform job '{arn}'.")
        with _lock:
            running = _running.get((self.current_account, self.region, name))
        if running is None:
            if job.transform_job_status == "InProgress":  # not run by this local cloud
                job.transform_job_status = "Stopped"
            return EmptyResult()  # stopping a finished job changes nothing (StopTransformJob reference)
        running.stop()
        return EmptyResult()

    SageMakerResponse.create_transform_job = create_transform_job
    SageMakerResponse.stop_transform_job = stop_transform_job

    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        stop_all(timeout=5)
        original_reset(self)

    MotoAPIBackend.reset = reset
    atexit.register(stop_all, timeout=5)
