"""The endpoint-redeploy Lambda: roll the SageMaker Serverless endpoint to a released model.

Handler: `textclf.release.redeploy.handler(event, context)`. Standard library and boto3 only, and the
project's bucket-name rules (`textclf.s3uri`, standard library too): the Lambda zip holds this file,
`textclf/s3uri.py` and import-free `__init__.py` files (ZIP_FILES); boto3 comes with the Lambda runtime.

Event schema. Two triggers, validated into one release (artifact URL + model version):

1. Direct invocation (the release workflow; `textclf redeploy --event FILE` locally):

       {"model_data_url": "s3://<ARTIFACT_BUCKET>/<ARTIFACT_PREFIX><commit>/model.tar.gz",
        "model_version": "<commit>", "sha256": "<the archive's sha256, 64 lowercase hex>"}

   `sha256` is required: the published manifest's digest of the archive (promote passes it), which
   the Lambda compares with the bytes it reads before it creates anything. `model_version` may be
   left out; when given it must equal the <commit> in the URL. The release
   workflow invokes it asynchronously and adds `"release_id": "<id>"`: the outcome is then written
   to the lock table as item `result/<id>` (see ResultRecord), where `textclf promote` reads it.
   No other keys.

2. EventBridge: a model package approved in the SageMaker Model Registry:

       {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelPackageArn": "arn:...", "ModelApprovalStatus": "Approved",
                   "InferenceSpecification": {"Containers": [{"ModelDataUrl": "s3://..."}]}}}

   Without a ModelDataUrl in the detail, the package is read with DescribeModelPackage. The
   package must carry the archive's sha256 as `CustomerMetadataProperties.sha256` (in the detail, or
   read with DescribeModelPackage, which returns CustomerMetadataProperties: "DescribeModelPackage",
   SageMaker API Reference); a package without it is rejected, naming that field. A status
   other than Approved is rejected: there is nothing to deploy. So is a package of another account
   (the account of SAGEMAKER_ROLE_ARN, which Terraform creates beside this function) or of another
   model package group (MODEL_PACKAGE_GROUP, default ENDPOINT_NAME: Terraform names both alike),
   and any shape other than the one above (a reason, never an exception that Lambda would retry).

The artifact must be `s3://$ARTIFACT_BUCKET/$ARTIFACT_PREFIX<commit>/model.tar.gz`, <commit> being 7 to
40 lowercase hex digits (the git commit that produced the model: the model version), and must exist.
Anything else is rejected with the reason.

Environment (Terraform sets it): ARTIFACT_BUCKET, ARTIFACT_PREFIX (default `models/`), ENDPOINT_NAME,
SERVING_IMAGE_URI, SAGEMAKER_ROLE_ARN, SERVERLESS_MEMORY_MB (1024..6144, step 1024),
SERVERLESS_MAX_CONCURRENCY, SERVERLESS_PROVISIONED_CONCURRENCY (0 = none), KEEP_CONFIGS (default 3),
LOCK_TABLE (DynamoDB, hash key `lock_id` (S)), MODEL_PACKAGE_GROUP (default: ENDPOINT_NAME),
KMS_KEY_ARN (optional: the key of new endpoint configs; the role needs kms:CreateGrant for it).
Each name is checked against the shape AWS accepts for it before any call (ARTIFACT_PREFIX: folder
names of S3's safe characters, each ending with one slash; an empty one, `/`, `..` or `//` is
refused), a wrong one being `misconfigured` with the variable named.
Optional timing: POLL_SECONDS (default 15),
DEPLOY_TIMEOUT_SECONDS (default 720), LOCK_WAIT_SECONDS (default 300); all bounded by the time the
Lambda has left.

What it does, under a DynamoDB lock (conditional put with an expiry, so a crashed run cannot block
forever; a concurrent event waits for it, then sees the new state):
- the artifact already live and InService: nothing (status `already_live`);
- otherwise a SageMaker Model (serving image + artifact, MODEL_VERSION in its environment) and an
  EndpointConfig with ServerlessConfig (KmsKeyId: KMS_KEY_ARN when set), both named
  `<endpoint>-<version[:12]>-<UTC time>`, then
  CreateEndpoint or UpdateEndpoint, then DescribeEndpoint until InService or Failed;
- a failed rollout is rolled back to the previous EndpointConfig (SageMaker itself keeps the old
  one serving when an update fails; when the endpoint ends Failed, it is put back on the previous
  config here) and reported as failed;
- keeps the newest KEEP_CONFIGS endpoint configs of this endpoint (never the live one or the one
  before it) and deletes older ones with their models;
- SageMaker refusing the switch for the account's Serverless concurrency quota (ResourceLimitExceeded:
  staging and production each ask SERVERLESS_MAX_CONCURRENCY of one account-wide total, 10 on some
  accounts) fails with status `quota`, naming the quota and what to do; the endpoint keeps its model.

Result: a JSON object, returned and logged as one line:
    {"ok": true, "status": "deployed", "reason": "...", "endpoint": "...", "model_version": "...",
     "model_data_url": "...", "source": "direct", "previous": {"endpoint_config": ..., ...},
     "new": {"endpoint_config": ..., "model": ...}, "live": {"endpoint_config": ..., "status": ...},
     "rolled_back": false, "deleted_configs": [...], "timings_s": {...}}
`status` is deployed | already_live (ok) or rejected | failed | misconfigured | busy (not ok).
Inside Lambda every outcome that is not ok except `rejected` raises (RedeployFailed with the result
as its message, or DeployBusy), so Lambda retries an asynchronous event and then sends it to the
dead-letter queue; a rerun is harmless (the model already live is `already_live`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from textclf.s3uri import MAX_KEY_BYTES, bucket_name_problem

SCHEMA_DIRECT_KEYS = {"model_data_url", "model_version", "release_id", "sha256"}
SHA256 = re.compile(r"[0-9a-f]{64}")
RELEASE_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
RESULT_TTL_SECONDS = 7 * 24 * 3600  # result items expire (the table's TTL attribute) after a week
EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
COMMIT = re.compile(r"[0-9a-f]{7,40}")
# arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>
PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:(?P<account>\d{12}):model-package/"
    r"(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/\d{1,10}"
)
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}")
# A key prefix of the artifacts bucket: segments of the characters S3's object key naming guidelines
# call safe (letters, digits and ! - _ . * ' ( ), https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html),
# each followed by one slash; `.` and `..` segments are refused too (some tools resolve them).
KEY_PREFIX = re.compile(r"(?:[A-Za-z0-9!_.*'()-]+/)+")
# An object key is at most 1024 bytes: the prefix leaves room for `<40-hex commit>/model.tar.gz`.
MAX_PREFIX_CHARS = 1024 - 40 - len("/model.tar.gz")
# Where the serving container writes sampled texts (textclf.serving.capture.split_uri): a key prefix
# under captured/, of S3's safe characters (as KEY_PREFIX).
CAPTURE_KEY = re.compile(r"captured/(?:[A-Za-z0-9!_.*'()-]+/)*")
KMS_KEY = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]{1,256}")
# DynamoDB table names: 3-255 of letters, digits, _ . - (the Lambda's lock and result table).
TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
# SageMaker's ContainerDefinition.Image: at most 255 characters, no whitespace.
IMAGE = re.compile(r"\S{1,255}")
MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
# UpdateRollbackFailed: "the endpoint is in service with a mix of the old and new endpoint
# configurations" and UpdateEndpoint settles it (DescribeEndpoint API reference, EndpointStatus):
# it serves, so it is updated like InService, never deleted. Failed accepts DeleteEndpoint only.
SERVING = {"InService", "UpdateRollbackFailed"}
BROKEN = {"Failed", "OutOfService"}
VARIANT = "AllTraffic"
VERSION_ENV = "MODEL_VERSION"  # read by the inference server (textclf.serving.server)
NAME_BASE_CHARS = 32  # SageMaker names are at most 63 characters


class ConfigError(ValueError):
    """The Lambda's environment is incomplete or invalid."""


class Rejected(ValueError):
    """The event cannot be deployed; the message says why."""


class DeployBusy(RuntimeError):
    """Another deploy held the lock for longer than this one may wait."""


# The account-wide Service Quotas entry a Serverless endpoint's MaxConcurrency counts against
# (SageMaker, quota code L-96300102).
SERVERLESS_QUOTA = "Maximum total concurrency that can be allocated across all serverless endpoints"


class QuotaExceeded(RuntimeError):
    """SageMaker refused the endpoint for an account quota; the message names it and the fix."""


class RedeployFailed(RuntimeError):
    """Raised by the handler inside Lambda for a result that is not ok (rejections excepted), so
    that Lambda retries an asynchronous event and then sends it to the dead-letter queue. The
    message is the result as JSON: a synchronous caller reads it as the errorMessage."""


# ---------------------------------------------------------------------------------------------
# Configuration and events


@dataclass(frozen=True)
class Settings:
    artifact_bucket: str
    artifact_prefix: str
    endpoint_name: str
    image_uri: str
    role_arn: str
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int
    keep_configs: int
    lock_table: str
    poll_seconds: float
    deploy_timeout_seconds: float
    lock_wait_seconds: float
    model_package_group: str = ""
    # Encrypts the storage of new endpoint configs' instances (KmsKeyId), as Terraform's first one.
    kms_key_arn: str = ""
    # Sampled capture (terraform/capture.tf): where the model's container writes sampled texts;
    # empty when capture is off. Passed to the model as TEXTCLF_CAPTURE_URI.
    capture_uri: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ) -> Settings:
        def text(name: str, default: str | None = None) -> str:
            value = env.get(name, default)
            if not value:
                raise ConfigError(
                    f"environment variable {name} is not set (the Terraform Lambda module sets it)"
                )
            return value

        def number(name: str, default: str | None, low: float, high: float, kind: type = int) -> Any:
            raw = text(name, default)
            try:
                # int() and float() also read `1_0`, `+5` and other scripts' digits (`٥`): Terraform
                # writes plain ASCII digits, so anything else is a hand edit to refuse, not to guess.
                if "_" in raw or not raw.isascii() or (kind is int and not raw.strip().isdigit()):
                    raise ValueError(raw)
                value = kind(raw)
            except ValueError:
                raise ConfigError(
                    f"environment variable {name}={raw!r} is not a number"
                    f"{' (a whole number in ASCII digits)' if kind is int else ''}"
                ) from None
            if not low <= value <= high:
                raise ConfigError(f"environment variable {name}={raw!r} must be between {low} and {high}")
            return value

        settings = cls(
            artifact_bucket=text("ARTIFACT_BUCKET"),
            artifact_prefix=_artifact_prefix(env.get("ARTIFACT_PREFIX")),
            endpoint_name=text("ENDPOINT_NAME"),
            image_uri=text("SERVING_IMAGE_URI"),
            role_arn=text("SAGEMAKER_ROLE_ARN"),
            memory_mb=number("SERVERLESS_MEMORY_MB", "2048", 1024, 6144),
            max_concurrency=number("SERVERLESS_MAX_CONCURRENCY", "5", 1, 200),
            provisioned_concurrency=number("SERVERLESS_PROVISIONED_CONCURRENCY", "0", 0, 200),
            keep_configs=number("KEEP_CONFIGS", "3", 2, 50),
            lock_table=text("LOCK_TABLE"),
            poll_seconds=number("POLL_SECONDS", "15", 0.01, 300, float),
            deploy_timeout_seconds=number("DEPLOY_TIMEOUT_SECONDS", "720", 1, 3600, float),
            lock_wait_seconds=number("LOCK_WAIT_SECONDS", "300", 0, 3600, float),
            model_package_group=env.get("MODEL_PACKAGE_GROUP") or env.get("ENDPOINT_NAME", ""),
            kms_key_arn=env.get("KMS_KEY_ARN", ""),
            capture_uri=env.get("CAPTURE_URI", ""),
        )
        settings._check_names()
        return settings

    def _check_names(self) -> None:
        """The names and ARNs the environment gives, in the shapes AWS accepts (a wrong one would
        otherwise fail halfway through a deploy, after a model was created)."""
        # S3's bucket naming rules, reserved prefixes and suffixes included (textclf.s3uri).
        problem = bucket_name_problem(self.artifact_bucket)
        if problem:
            raise ConfigError(
                f"environment variable ARTIFACT_BUCKET={_short(self.artifact_bucket)} is not an S3 bucket "
                f"name; it must be one{problem}"
            )
        if self.capture_uri:
            # The rule the serving container applies at start (textclf.serving.capture.split_uri, which
            # this zip cannot import): a URI it refuses would make every container of the new model
            # exit, the deploy failing after its model and config were made.
            bucket, _, key = self.capture_uri.removeprefix("s3://").partition("/")
            if (
                not self.capture_uri.startswith("s3://")
                or bucket_name_problem(bucket)
                or not key.startswith("captured/")
                or not CAPTURE_KEY.fullmatch(key.rstrip("/") + "/")
                or "." in key.split("/")
                or ".." in key  # anywhere, as textclf.s3uri.check_prefix refuses it
                or len(key.encode("utf-8")) > MAX_KEY_BYTES
            ):
                raise ConfigError(
                    f"environment variable CAPTURE_URI={_short(self.capture_uri)} must be an s3:// URI "
                    "of a bucket and a key prefix of S3's safe characters under captured/, "
                    "s3://<bucket>/captured/<prefix>/ (Terraform's capture_uri), as the serving "
                    "container takes it; leave it empty for no capture"
                )
        if not ROLE_ARN.fullmatch(self.role_arn):
            raise ConfigError(f"SAGEMAKER_ROLE_ARN={_short(self.role_arn)} is not an IAM role ARN")
        if self.kms_key_arn and not KMS_KEY.fullmatch(self.kms_key_arn):
            raise ConfigError(
                f"environment variable KMS_KEY_ARN={_short(self.kms_key_arn)} is not a KMS key or alias "
                "ARN (arn:aws:kms:<region>:<account>:key/<id>); leave it empty for SageMaker's own key"
            )
        if not TABLE.fullmatch(self.lock_table):
            raise ConfigError(
                f"environment variable LOCK_TABLE={_short(self.lock_table)} is not a DynamoDB table name"
            )
        if not IMAGE.fullmatch(self.image_uri):
            raise ConfigError(
                f"environment variable SERVING_IMAGE_URI={_short(self.image_uri)} is not an image URI "
                "(at most 255 characters, no spaces)"
            )
        if self.memory_mb not in MEMORY_SIZES:
            raise ConfigError(f"environment variable SERVERLESS_MEMORY_MB must be one of {MEMORY_SIZES}")
        if self.provisioned_concurrency > self.max_concurrency:
            raise ConfigError("SERVERLESS_PROVISIONED_CONCURRENCY must not exceed SERVERLESS_MAX_CONCURRENCY")
        if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", self.endpoint_name):
            raise ConfigError(
                f"ENDPOINT_NAME={_short(self.endpoint_name)} is not a valid SageMaker endpoint name"
            )

    def account_id(self) -> str:
        """This deployment's AWS account: the one of its SageMaker role (Terraform makes both)."""
        match = ROLE_ARN.fullmatch(self.role_arn)
        if not match:
            raise ConfigError(f"SAGEMAKER_ROLE_ARN={self.role_arn!r} is not an IAM role ARN")
        return match["account"]


def _artifact_prefix(value: str | None) -> str:
    """ARTIFACT_PREFIX as a safe key prefix ending with a slash (unset: `models/`, what promote
    publishes under); ConfigError for an empty one, `/`, `..`, `//` or characters S3 calls unsafe."""
    if value is None:
        return "models/"
    if not value:
        raise ConfigError(
            "environment variable ARTIFACT_PREFIX is set but empty: the Lambda deploys only "
            "s3://<ARTIFACT_BUCKET>/<ARTIFACT_PREFIX><commit>/model.tar.gz; set it to the prefix the "
            "release publishes under (models/), or unset it for that default"
        )
    prefix = value if value.endswith("/") else value + "/"
    if (
        len(prefix) > MAX_PREFIX_CHARS
        or not KEY_PREFIX.fullmatch(prefix)
        or {".", ".."} & set(prefix.split("/"))
    ):
        raise ConfigError(
            f"environment variable ARTIFACT_PREFIX={_short(value)} is not a safe S3 key prefix: "
            "folder names of letters, digits and ! - _ . * ' ( ) each ending with one slash, such as "
            f"models/ (no leading slash, no empty, `.` or `..` folder, at most {MAX_PREFIX_CHARS} characters)"
        )
    return prefix


@dataclass(frozen=True)
class Release:
    model_data_url: str
    model_version: str
    source: str  # "direct" | "eventbridge"
    model_package_arn: str | None = None
    # The published archive's digest (promote passes the manifest's; a registry package carries it
    # as CustomerMetadataProperties.sha256): checked before anything is created, so the Lambda
    # deploys the reviewed bytes even if the archive were replaced. Every release has one.
    sha256: str = ""


def version_from_url(url: Any, settings: Settings) -> str:
    """The git commit in an artifact URL of the project's bucket and prefix, or Rejected."""
    if not isinstance(url, str):
        raise Rejected(f"model_data_url must be a string, not {type(url).__name__}")
    expected = f"s3://{settings.artifact_bucket}/{settings.artifact_prefix}"
    shape = f"{expected}<git-commit>/model.tar.gz"
    if not url.startswith(expected):
        raise Rejected(
            f"artifact {_short(url)} is outside the artifacts bucket and prefix: only {shape} is deployed"
        )
    commit, slash, rest = url[len(expected) :].partition("/")
    if not slash or rest != "model.tar.gz" or not COMMIT.fullmatch(commit):
        raise Rejected(f"artifact {_short(url)} does not match {shape} (commit: 7-40 lowercase hex digits)")
    return commit


def parse_event(event: Any, settings: Settings, sagemaker: Any = None) -> Release:
    """Validate either trigger into one Release, or raise Rejected with the reason."""
    if not isinstance(event, dict):
        raise Rejected(f"the event must be a JSON object, not {type(event).__name__}")
    if "source" in event or "detail-type" in event or "detail" in event:
        return _parse_eventbridge(event, settings, sagemaker)
    if "model_data_url" in event:
        return _parse_direct(event, settings)
    raise Rejected(
        'unrecognised event: expected {"model_data_url": "s3://...", "model_version": "<commit>"} or an '
        f"EventBridge {EVENT_DETAIL_TYPE!r} event from {EVENT_SOURCE}; "
        f"got keys {_short(sorted(map(str, event)))}"
    )


def _parse_direct(event: dict, settings: Settings) -> Release:
    unknown = sorted(map(str, set(event) - SCHEMA_DIRECT_KEYS))
    if unknown:
        raise Rejected(
            f"unknown keys {_short(unknown)} in the event: only {sorted(SCHEMA_DIRECT_KEYS)} are accepted"
        )
    if "release_id" in event and not (
        isinstance(event["release_id"], str) and RELEASE_ID.fullmatch(event["release_id"])
    ):
        raise Rejected(
            f"release_id {_short(event['release_id'])} must be 1-100 letters, digits, '.', '_' or '-'"
        )
    version = version_from_url(event["model_data_url"], settings)
    given = event.get("model_version", version)
    if not isinstance(given, str):
        raise Rejected(
            f"model_version must be a string (the commit), not {type(given).__name__}: "
            f"{_short(given)} does not match the commit {version!r} in model_data_url"
        )
    if given != version:
        raise Rejected(
            f"model_version {_short(given)} does not match the commit {version!r} in model_data_url"
        )
    if "sha256" not in event:
        raise Rejected(
            "the event has no sha256: a deploy must name the published archive's sha256 (the "
            f"manifest's `sha256`, {settings.artifact_prefix}{version}/manifest.json), which is checked "
            "against the archive's bytes; nothing was deployed"
        )
    digest = event["sha256"]
    if not (isinstance(digest, str) and SHA256.fullmatch(digest)):
        raise Rejected(
            f"sha256 {_short(digest)} must be 64 lowercase hex digits (the published archive's digest, "
            "the manifest's `sha256`)"
        )
    return Release(event["model_data_url"], version, "direct", sha256=digest)


def _parse_eventbridge(event: dict, settings: Settings, sagemaker: Any) -> Release:
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise Rejected(
            f"EventBridge event from {_short(event.get('source'))} of type "
            f"{_short(event.get('detail-type'))}: only {EVENT_DETAIL_TYPE!r} from {EVENT_SOURCE} "
            "triggers a deploy"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("ModelPackageArn"), str):
        raise Rejected("the event's detail has no ModelPackageArn")
    arn = _our_package(event, detail, settings)
    status = detail.get("ModelApprovalStatus")
    if status != "Approved":
        raise Rejected(f"model package {arn} is {_short(status)}, not 'Approved': nothing to deploy")
    url = _model_data_url(detail, "the event's detail")
    digest = _package_digest(detail, "the event's detail")
    if (url is None or digest is None) and sagemaker is not None:
        wanted = " and ".join(
            name
            for name, value in (("ModelDataUrl", url), ("CustomerMetadataProperties.sha256", digest))
            if value is None
        )
        try:
            package = sagemaker.describe_model_package(ModelPackageName=arn)
        except sagemaker.exceptions.ClientError as error:
            raise Rejected(
                f"model package {arn}: the event has no {wanted} and the package cannot be read: {error}"
            ) from None
        url = url if url is not None else _model_data_url(package, f"model package {arn}")
        digest = digest if digest is not None else _package_digest(package, f"model package {arn}")
    if url is None:
        raise Rejected(f"model package {arn} names no ModelDataUrl in InferenceSpecification.Containers")
    version = version_from_url(url, settings)
    if digest is None:
        raise Rejected(
            f"model package {arn} has no CustomerMetadataProperties.sha256: register it with the "
            "published archive's sha256 (the manifest's `sha256`), which is checked against the "
            "archive's bytes; nothing was deployed"
        )
    return Release(url, version, "eventbridge", arn, sha256=digest)


def _package_digest(package: Any, where: str) -> str | None:
    """CustomerMetadataProperties.sha256 of a model package (a map of strings, CreateModelPackage
    API reference); None when it names none; Rejected for another shape."""
    properties = package.get("CustomerMetadataProperties") if isinstance(package, dict) else None
    if properties is None:
        return None
    if not isinstance(properties, dict):
        raise Rejected(
            f"{where}: CustomerMetadataProperties must be an object, not {type(properties).__name__}"
        )
    digest = properties.get("sha256")
    if digest is not None and not (isinstance(digest, str) and SHA256.fullmatch(digest)):
        raise Rejected(
            f"{where}: CustomerMetadataProperties.sha256 {_short(digest)} must be 64 lowercase hex "
            "digits (the published archive's sha256)"
        )
    return digest


def _our_package(event: dict, detail: dict, settings: Settings) -> str:
    """The package ARN, if the package is this deployment's: its account and its group."""
    arn = detail["ModelPackageArn"]
    match = PACKAGE_ARN.fullmatch(arn)
    if not match:
        raise Rejected(
            f"ModelPackageArn {_short(arn)} is not a model package version ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)"
        )
    account = settings.account_id()
    for where, value in (("the ARN", match["account"]), ("the event", event.get("account", account))):
        if value != account:
            raise Rejected(
                f"model package {arn}: {where} names account {_short(value)}, not this one ({account})"
            )
    group = settings.model_package_group
    for where, value in (
        ("the ARN", match["group"]),
        ("the event", detail.get("ModelPackageGroupName", group)),
    ):
        if value != group:
            raise Rejected(f"model package {arn}: {where} names group {_short(value)}, not {group!r}")
    return arn


def _model_data_url(package: Any, where: str) -> str | None:
    """The one container's ModelDataUrl; None when the package names none; Rejected for any other shape."""
    if not isinstance(package, dict) or package.get("InferenceSpecification") is None:
        return None
    spec = package["InferenceSpecification"]
    if not isinstance(spec, dict):
        raise Rejected(f"{where}: InferenceSpecification must be an object, not {type(spec).__name__}")
    containers = spec.get("Containers")
    if containers is None:
        return None
    if not isinstance(containers, list) or not all(isinstance(item, dict) for item in containers):
        raise Rejected(f"{where}: InferenceSpecification.Containers must be a list of objects")
    if len(containers) != 1:
        raise Rejected(
            f"{where}: InferenceSpecification.Containers holds {len(containers)} containers; "
            "the endpoint serves exactly one"
        )
    url = containers[0].get("ModelDataUrl")
    if url is not None and not isinstance(url, str):
        raise Rejected(f"{where}: ModelDataUrl must be a string, not {type(url).__name__}")
    return url


def _short(value: Any, limit: int = 200) -> str:
    """A value from an event for a reason: repr, cut so a hostile event cannot flood the logs (nor a
    deeply nested one exhaust the stack)."""
    try:
        text = repr(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deeply to show>"
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# The deploy lock


class DeployLock:
    """A DynamoDB item per endpoint, put only when absent or expired (a crashed run's lock expires)."""

    def __init__(self, dynamodb: Any, table: str, endpoint: str, holder: str, ttl_seconds: float) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.key = {"lock_id": {"S": f"redeploy/{endpoint}"}}
        self.holder = holder
        self.ttl_seconds = ttl_seconds

    def acquire(self, wait_seconds: float, poll_seconds: float, note: str) -> float:
        """Seconds waited. Raises DeployBusy when the lock stays taken for `wait_seconds`."""
        started = time.monotonic()
        while True:
            now = time.time()
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item={
                        **self.key,
                        "holder": {"S": self.holder},
                        "note": {"S": note},
                        "expires_at": {"N": str(int(now + self.ttl_seconds))},
                    },
                    ConditionExpression="attribute_not_exists(lock_id) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(int(now))}},
                )
                return time.monotonic() - started
            except self.dynamodb.exceptions.ConditionalCheckFailedException:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    holder = self.dynamodb.get_item(TableName=self.table, Key=self.key).get("Item", {})
                    raise DeployBusy(
                        f"another deploy holds the lock ({holder.get('note', {}).get('S', '?')}, expires at "
                        f"{holder.get('expires_at', {}).get('N', '?')}); waited {waited:.0f} s: retry later"
                    ) from None
                time.sleep(min(poll_seconds, max(wait_seconds - waited, 0.01)))

    def release(self) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=self.key,
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": self.holder}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            log("lock_lost", reason="the lock expired and another run took it; nothing to release")


# ---------------------------------------------------------------------------------------------
# The endpoint


@dataclass(frozen=True)
class Live:
    """What the endpoint serves now."""

    status: str
    config: str
    model: str | None
    model_data_url: str | None
    model_version: str | None
    failure_reason: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint_config": self.config,
            "model": self.model,
            "model_version": self.model_version,
            "status": self.status,
            "failure_reason": self.failure_reason,
        }


def _is_missing(error: Exception) -> bool:
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", error))
    return "Could not find" in message or "does not exist" in message


class Endpoint:
    """SageMaker calls for one endpoint, with the waiting that the API leaves to the caller."""

    def __init__(self, sagemaker: Any, name: str, poll_seconds: float) -> None:
        self.sm = sagemaker
        self.name = name
        self.poll_seconds = poll_seconds

    def describe(self) -> dict | None:
        try:
            return self.sm.describe_endpoint(EndpointName=self.name)
        except self.sm.exceptions.ClientError as error:
            if _is_missing(error):
                return None
            raise

    def live(self) -> Live | None:
        described = self.describe()
        if described is None:
            return None
        config = described["EndpointConfigName"]
        model = url = version = None
        try:
            variants = self.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
            model = variants[0]["ModelName"]
            container = self.sm.describe_model(ModelName=model).get("PrimaryContainer", {})
            url = container.get("ModelDataUrl")
            version = container.get("Environment", {}).get(VERSION_ENV)
        except self.sm.exceptions.ClientError as error:
            if not _is_missing(error):
                raise  # a config or model deleted by hand leaves the artifact unknown: deploy anew
        return Live(described["EndpointStatus"], config, model, url, version, described.get("FailureReason"))

    def wait(self, deadline: float) -> dict | None:
        """DescribeEndpoint until the status settles (or the endpoint is gone) or the deadline passes."""
        while True:
            described = self.describe()
            if described is None or described["EndpointStatus"] not in IN_PROGRESS:
                return described
            if time.monotonic() >= deadline:
                return described
            time.sleep(self.poll_seconds)

    def switch_to(self, config: str, exists: bool) -> None:
        if exists:
            self.sm.update_endpoint(EndpointName=self.name, EndpointConfigName=config)
        else:
            self.sm.create_endpoint(EndpointName=self.name, EndpointConfigName=config)

    def replace(self, config: str, deadline: float) -> None:
        """Delete a broken endpoint (it serves nothing) and create it on `config`."""
        try:
            self.sm.delete_endpoint(EndpointName=self.name)
        except self.sm.exceptions.ClientError as error:
            if not _is_missing(error):
                raise
        while self.describe() is not None and time.monotonic() < deadline:
            time.sleep(self.poll_seconds)
        self.sm.create_endpoint(EndpointName=self.name, EndpointConfigName=config)


def resource_name(endpoint: str, version: str, now: datetime) -> str:
    """`<endpoint>-<version[:12]>-<UTC yyyymmddHHMMSSmmm>`: unique, and names the model version."""
    stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
    return f"{endpoint[:NAME_BASE_CHARS].rstrip('-')}-{version[:12]}-{stamp}"


def managed_configs(sagemaker: Any, endpoint: str) -> list[str]:
    """This endpoint's configs made by this Lambda, newest first."""
    base = endpoint[:NAME_BASE_CHARS].rstrip("-")
    pattern = re.compile(rf"{re.escape(base)}-[0-9a-f]{{7,12}}-\d{{17}}")
    names: list[tuple[Any, str]] = []
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=base):
        for item in page["EndpointConfigs"]:
            if pattern.fullmatch(item["EndpointConfigName"]):
                names.append((item["CreationTime"], item["EndpointConfigName"]))
    return [name for _, name in sorted(names, reverse=True)]


# ---------------------------------------------------------------------------------------------
# One deploy


class Deployer:
    def __init__(
        self, settings: Settings, clients: dict[str, Any], release: Release, deadline: float
    ) -> None:
        self.settings = settings
        self.sm = clients["sagemaker"]
        self.release = release
        self.deadline = deadline
        self.endpoint = Endpoint(self.sm, settings.endpoint_name, settings.poll_seconds)
        self.timings: dict[str, float] = {}

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 3)

    def run(self) -> dict[str, Any]:
        live = self.endpoint.live()
        if live is not None and live.status in IN_PROGRESS:
            log("waiting", reason=f"endpoint is {live.status}; waiting for it to settle first")
            self.endpoint.wait(self.deadline)
            live = self.endpoint.live()
        previous = live.summary() if live else None
        if live and live.status == "InService" and live.model_data_url == self.release.model_data_url:
            return {
                "ok": True,
                "status": "already_live",
                "reason": f"{self.release.model_data_url} is already live on {live.config}: nothing to do",
                "previous": previous,
                "live": previous,
            }

        started = time.monotonic()
        new = self._create_model_and_config()
        self._timed("create_resources", started)

        started = time.monotonic()
        working = live.config if live and live.status in SERVING else None
        try:
            if live is not None and live.status in BROKEN:
                log("replace_broken_endpoint", status=live.status, failure_reason=live.failure_reason)
                self.endpoint.replace(new, self.deadline)
            else:
                self.endpoint.switch_to(new, exists=live is not None)
        except self.sm.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceLimitExceeded":
                raise
            raise QuotaExceeded(
                f"SageMaker refused {self.settings.endpoint_name} on {new}: "
                f"{error.response['Error'].get('Message', error)} This endpoint asks MaxConcurrency "
                f"{self.settings.max_concurrency} (SERVERLESS_MAX_CONCURRENCY, params.yaml "
                f"deploy.serverless.max_concurrency), and every Serverless endpoint of the account and "
                f"Region (staging and production alike) counts against the Service Quotas entry "
                f"'{SERVERLESS_QUOTA}' (SageMaker, L-96300102), which is 10 on some accounts: check it "
                "in Service Quotas and request an increase, or lower max_concurrency. The endpoint "
                "keeps the model it had."
            ) from None
        log("rollout_started", endpoint_config=new, previous_config=working)
        final = self.endpoint.wait(self.deadline)
        self._timed("rollout", started)
        result = self._judge(final, new, working)
        result.update(previous=previous, new={"endpoint_config": new, "model": new})
        result["deleted_configs"] = self._clean_up(protect={new, working} - {None})
        return result

    def model_environment(self) -> dict[str, str]:
        """The serving container's environment: the version it answers with, and where sampled
        texts go when capture is on."""
        environment = {VERSION_ENV: self.release.model_version}
        if self.settings.capture_uri:
            environment["TEXTCLF_CAPTURE_URI"] = self.settings.capture_uri
        return environment

    def _create_model_and_config(self) -> str:
        now = datetime.now(UTC)
        name = resource_name(self.settings.endpoint_name, self.release.model_version, now)
        tags = [
            {"Key": "textclf:model-version", "Value": self.release.model_version},
            {"Key": "textclf:endpoint", "Value": self.settings.endpoint_name},
        ]
        self.sm.create_model(
            ModelName=name,
            ExecutionRoleArn=self.settings.role_arn,
            PrimaryContainer={
                "Image": self.settings.image_uri,
                "ModelDataUrl": self.release.model_data_url,
                "Environment": self.model_environment(),
            },
            Tags=tags,
        )
        serverless = {
            "MemorySizeInMB": self.settings.memory_mb,
            "MaxConcurrency": self.settings.max_concurrency,
        }
        if self.settings.provisioned_concurrency:
            serverless["ProvisionedConcurrency"] = self.settings.provisioned_concurrency
        encryption = {"KmsKeyId": self.settings.kms_key_arn} if self.settings.kms_key_arn else {}
        try:
            self.sm.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[
                    {"VariantName": VARIANT, "ModelName": name, "ServerlessConfig": serverless}
                ],
                Tags=tags,
                **encryption,
            )
        except Exception:
            # A model no endpoint config names is never cleaned up (_clean_up goes by config), and each
            # retry of the event made another: deleted here, the config's refusal is what is reported.
            try:
                self.sm.delete_model(ModelName=name)
            except Exception as error:  # the refusal above is the one to report
                log("orphan_model", model=name, error=str(error)[:300])
            raise
        log("created", model=name, endpoint_config=name, serverless=serverless)
        return name

    def _judge(self, final: dict | None, new: str, working: str | None) -> dict[str, Any]:
        """Deployed, or failed (after putting the previous config back when SageMaker did not)."""
        status = final["EndpointStatus"] if final else "Missing"
        config = final["EndpointConfigName"] if final else None
        reason = (final or {}).get("FailureReason")
        if status == "InService" and config == new:
            return self._outcome(True, "deployed", f"{self.release.model_data_url} is live on {new}", False)
        if status in IN_PROGRESS:
            return self._outcome(
                False,
                "failed",
                f"the endpoint is still {status} after the deploy timeout; SageMaker keeps the previous "
                f"config serving until the update settles: check DescribeEndpoint",
                False,
            )
        if status == "InService" and config == working:
            # SageMaker's own behaviour for a failed update: the previous fleet never stopped serving.
            return self._outcome(
                False, "failed", f"the new model did not come up ({reason}); SageMaker kept {working}", True
            )
        if status == "UpdateRollbackFailed" and working is None:
            return self._outcome(
                False, "failed", f"the update failed and so did SageMaker's rollback ({reason})", False
            )
        if status == "InService":  # on a config neither this run nor the previous one set
            return self._outcome(
                False, "failed", f"the endpoint moved to {config} meanwhile (outside this Lambda?)", False
            )
        if working is None:
            return self._outcome(
                False,
                "failed",
                f"the endpoint did not come up ({status}: {reason}); no previous config to roll back to",
                False,
            )
        return self._roll_back(working, f"{status}: {reason}")

    def _roll_back(self, working: str, failure: str) -> dict[str, Any]:
        started = time.monotonic()
        log("rolling_back", to=working, failure=failure)
        described = self.endpoint.describe()
        if described is None or described["EndpointStatus"] in BROKEN:
            self.endpoint.replace(working, self.deadline)
        else:
            self.endpoint.switch_to(working, exists=True)
        final = self.endpoint.wait(self.deadline)
        self._timed("rollback", started)
        if final and final["EndpointStatus"] == "InService" and final["EndpointConfigName"] == working:
            return self._outcome(
                False, "failed", f"the new model did not come up ({failure}); rolled back", True
            )
        state = f"{final['EndpointStatus']} on {final['EndpointConfigName']}" if final else "missing"
        return self._outcome(
            False,
            "failed",
            f"the new model did not come up ({failure}) and the rollback did not finish: {state}",
            False,
        )

    def _outcome(self, ok: bool, status: str, reason: str, rolled_back: bool) -> dict[str, Any]:
        live = self.endpoint.live()
        return {
            "ok": ok,
            "status": status,
            "reason": reason,
            "rolled_back": rolled_back,
            "live": live.summary() if live else None,
        }

    def _clean_up(self, protect: set[str]) -> list[str]:
        """Delete this endpoint's configs (and models) beyond the newest KEEP_CONFIGS."""
        started = time.monotonic()
        live = self.endpoint.describe()
        if live is not None:
            protect = protect | {live["EndpointConfigName"]}
        configs = managed_configs(self.sm, self.settings.endpoint_name)
        doomed = [name for name in configs[self.settings.keep_configs :] if name not in protect]
        for name in doomed:
            for call, key in (
                (self.sm.delete_endpoint_config, "EndpointConfigName"),
                (self.sm.delete_model, "ModelName"),
            ):
                try:
                    call(**{key: name})
                except self.sm.exceptions.ClientError as error:
                    if not _is_missing(error):
                        raise
        self._timed("clean_up", started)
        if doomed:
            log("deleted_old_configs", configs=doomed)
        return doomed


# ---------------------------------------------------------------------------------------------
# The handler


def log(step: str, **fields: Any) -> None:
    """One structured line per step, on stderr (CloudWatch Logs keeps it; the CLI's stdout stays
    the result alone)."""
    print(
        json.dumps({"component": "redeploy", "step": step, **fields}, default=str),
        file=sys.stderr,
        flush=True,
    )


_CLIENTS: dict[tuple[str | None, ...], dict[str, Any]] = {}
_CLIENTS_LOCK = threading.Lock()


def _clients() -> dict[str, Any]:
    """boto3 clients, made once per process and endpoint (a warm Lambda reuses them); clients are
    thread-safe, boto3's default session is not, hence a session of their own."""
    import boto3  # in the Lambda runtime; imported here so the module loads without it

    key = tuple(os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"))
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            session = boto3.session.Session()
            _CLIENTS[key] = {name: session.client(name) for name in ("sagemaker", "s3", "dynamodb")}
        return _CLIENTS[key]


def _check_artifact(s3: Any, url: str, sha256: str) -> None:
    """The archive exists and holds exactly the bytes of its published digest."""
    import hashlib

    if not SHA256.fullmatch(sha256 or ""):  # parse_event never builds one without it
        raise Rejected(f"no sha256 for {url}: nothing is deployed without the published archive's digest")
    bucket, _, key = url[len("s3://") :].partition("/")
    try:
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for block in iter(lambda: body.read(1 << 20), b""):
            digest.update(block)
        if digest.hexdigest() != sha256:
            raise Rejected(
                f"artifact {url} has sha256 {digest.hexdigest()}, not the published {sha256}: "
                "not the reviewed model; nothing was deployed"
            )
    except s3.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"404", "NoSuchKey", "NotFound"}:
            raise Rejected(
                f"artifact {url} does not exist: was it uploaded by the PR's train stage?"
            ) from None
        raise Rejected(
            f"artifact {url} cannot be read ({code}): check the Lambda role's s3:GetObject"
        ) from None


def _deadline(context: Any, budget: float) -> float:
    """monotonic() time by which to stop waiting: the budget, or the Lambda's time left minus a margin."""
    left = budget
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        left = min(left, context.get_remaining_time_in_millis() / 1000 - 20)
    return time.monotonic() + max(left, 1.0)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: see the module docstring for the event schema and the result.

    Inside Lambda (a context is given) a result that is not ok raises RedeployFailed, except a
    rejection (the same event is rejected again, a retry cannot help): Lambda retries an
    asynchronous invocation only when the handler raises, then hands the event to the dead-letter
    queue; a returned {"ok": false} is a success to it ("Error handling and automatic retries in
    Lambda", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
    Called in-process without a context (`textclf redeploy --event`), it returns the result."""
    started = time.monotonic()
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    result: dict[str, Any] = {"request_id": request_id}
    from botocore.exceptions import BotoCoreError, ClientError

    record = None
    try:
        record = ResultRecord.for_event(event)
        if record is not None:
            record.started()
        result.update(_handle(event, context, request_id, result))
    except ConfigError as error:
        result.update(ok=False, status="misconfigured", reason=str(error))
    except Rejected as error:
        result.update(ok=False, status="rejected", reason=str(error))
    except DeployBusy as error:
        result.update(ok=False, status="busy", reason=str(error))
    except QuotaExceeded as error:
        result.update(ok=False, status="quota", reason=str(error))
    except (BotoCoreError, ClientError) as error:
        # SageMaker keeps the previous config serving through a failed or interrupted update.
        result.update(ok=False, status="failed", reason=f"AWS call failed: {error}")
    except Exception as error:  # a defect here: one result (and, inside Lambda, a retry), no traceback
        reason = f"unexpected error: {type(error).__name__}: {_short(str(error), 500)}"
        result.update(ok=False, status="failed", reason=reason)
    result.setdefault("timings_s", {})["total"] = round(time.monotonic() - started, 3)
    log("result", **result)
    if record is not None:
        try:
            record.finished(result)
        except Exception as error:
            if context is not None:
                raise  # inside Lambda: the retry writes it
            # `textclf redeploy --event` (no retry): said in the result, exit 1, not a traceback.
            result["result_record_error"] = (
                f"the result record {record.key['lock_id']['S']} could not be written to LOCK_TABLE "
                f"{record.table}: {type(error).__name__}: {str(error)[:500]}"
            )
            log("result-record", error=result["result_record_error"])
    if context is not None and not result.get("ok") and result.get("status") != "rejected":
        if result.get("status") == "busy":
            raise DeployBusy(result["reason"])
        raise RedeployFailed(json.dumps(result, default=str))
    return result


class ResultRecord:
    """Where the release workflow reads an asynchronous invocation's outcome: an item of the lock
    table, `result/<release_id>`, counting the attempts Lambda made (it retries an event whose
    handler raised) and holding the result of the latest one. Written only for direct events that
    carry a release_id (the workflow's); it expires with the table's TTL."""

    def __init__(self, dynamodb: Any, table: str, release_id: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.key = {"lock_id": {"S": f"result/{release_id}"}}
        self.attempt = 0

    @classmethod
    def for_event(cls, event: Any) -> ResultRecord | None:
        release_id = event.get("release_id") if isinstance(event, dict) else None
        table = os.environ.get("LOCK_TABLE")
        # A table name DynamoDB refuses is the settings' misconfiguration (Settings._check_names), said
        # naming LOCK_TABLE, not a record write failing in botocore's validation before it.
        if not (
            isinstance(release_id, str) and RELEASE_ID.fullmatch(release_id) and TABLE.fullmatch(table or "")
        ):
            return None
        return cls(_clients()["dynamodb"], table, release_id)

    def started(self) -> None:
        answer = self.dynamodb.update_item(
            TableName=self.table,
            Key=self.key,
            UpdateExpression="ADD attempts :one SET expires_at = :expires",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": {"N": str(int(time.time() + RESULT_TTL_SECONDS))},
            },
            ReturnValues="UPDATED_NEW",
        )
        self.attempt = int(answer["Attributes"]["attempts"]["N"])

    def finished(self, result: dict[str, Any]) -> None:
        self.dynamodb.update_item(
            TableName=self.table,
            Key=self.key,
            UpdateExpression="SET #result = :result, result_attempt = :attempt",
            ExpressionAttributeNames={"#result": "result"},
            ExpressionAttributeValues={
                ":result": {"S": json.dumps({**result, "attempt": self.attempt}, default=str)},
                ":attempt": {"N": str(self.attempt)},
            },
        )


def _handle(event: Any, context: Any, request_id: str, result: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.from_env(os.environ)
    result["endpoint"] = settings.endpoint_name
    clients = _clients()
    release = parse_event(event, settings, clients["sagemaker"])
    result.update(
        model_version=release.model_version,
        model_data_url=release.model_data_url,
        source=release.source,
        model_package_arn=release.model_package_arn,
    )
    log("accepted", **result)
    _check_artifact(clients["s3"], release.model_data_url, release.sha256)

    lock_deadline = _deadline(context, settings.lock_wait_seconds) - time.monotonic()
    ttl = (_deadline(context, settings.deploy_timeout_seconds * 2) - time.monotonic()) + 60
    lock = DeployLock(clients["dynamodb"], settings.lock_table, settings.endpoint_name, request_id, ttl)
    waited = lock.acquire(
        lock_deadline, min(settings.poll_seconds, 5), f"{request_id} -> {release.model_version}"
    )
    try:
        deployer = Deployer(settings, clients, release, _deadline(context, settings.deploy_timeout_seconds))
        outcome = deployer.run()
    finally:
        lock.release()
    outcome["timings_s"] = {"lock_wait": round(waited, 3), **deployer.timings}
    return outcome


# An event is a few hundred bytes; Lambda's own limit on an asynchronous invocation's payload is
# 1 MB (Invoke, Lambda API reference: https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
MAX_EVENT_BYTES = 1024 * 1024


def read_event_file(event_file: str, limit: int = MAX_EVENT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else OSError saying what it is (as
    textclf.atomic.read_regular, which the Lambda zip cannot import): /dev/zero would be read without
    end and a FIFO would block the command, so neither is read."""
    import errno
    import stat

    fd = os.open(event_file, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting for a writer
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a device, pipe or socket, not a regular file"
            raise OSError(errno.EINVAL, what, event_file)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes, far more than an event holds", event_file)
    return data


def main_cli(event_file: str) -> int:
    """`textclf redeploy --event FILE`: run the handler here against AWS_ENDPOINT_URL (or AWS)."""
    try:
        event = json.loads(read_event_file(event_file).decode("utf-8"))
    except OSError as error:
        return _refuse_file(f"{event_file}: cannot be read ({error.strerror}); pass a JSON event file")
    except ValueError as error:  # also bytes that are not UTF-8
        return _refuse_file(f"{event_file}: not JSON: {error}")
    except RecursionError:
        return _refuse_file(f"{event_file}: nested too deeply to be an event")
    result = handler(event, None)
    print(json.dumps(result, indent=2, default=str))
    return 0 if result.get("ok") and "result_record_error" not in result else 1


def _refuse_file(reason: str) -> int:
    print(json.dumps({"ok": False, "status": "rejected", "reason": reason}))
    return 2


# ---------------------------------------------------------------------------------------------
# Packaging (`make lambda-zip`, textclf.lambda_zip)

# This module, the bucket-name rules it imports, the import-free `__init__.py` files on the way to
# them, and the stop-training function (textclf.training.stop_job), which Terraform creates from the
# same package: nothing else.
ZIP_FILES = (
    "textclf/__init__.py",
    "textclf/s3uri.py",
    "textclf/release/__init__.py",
    "textclf/release/redeploy.py",
    "textclf/training/__init__.py",
    "textclf/training/stop_job.py",
)
