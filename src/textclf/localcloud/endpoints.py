"""SageMaker endpoint behaviour moto lacks: UpdateEndpoint, and status changes that take time.

moto makes an endpoint InService at once and has no UpdateEndpoint. With this extension, as on AWS:

- CreateEndpoint: `Creating`, then `InService`, or `Failed` with a FailureReason when the model would
  not start. Creating an endpoint whose name exists is a ValidationException.
- UpdateEndpoint: `Updating`, then `InService` on the new config. When the new model would not start,
  SageMaker's own rollback happens: the endpoint is `InService` on the previous config again, with a
  FailureReason. With the `update_failure` setting `failed`, it ends `Failed` on the new config
  instead (the case a deploy must repair itself); with `rollback-failed` it ends
  `UpdateRollbackFailed` (still serving). Updating an endpoint that is in progress or Failed, or to a
  config that does not exist, is a ValidationException: DeleteEndpoint is all a Failed one accepts.
- CreateEndpointConfig refuses what Serverless endpoints exclude (one variant, no data capture, no
  network isolation or VPC on the model).
- The model's container reads its data as the model's execution role: a role SageMaker cannot
  assume, or one that may not read the object (or decrypt it), fails the endpoint.
- The account's quota for the total concurrency of its Serverless endpoints ("The total concurrency
  you can share between all serverless endpoints per Region in your account", Serverless Inference,
  https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html; some accounts get 10,
  not the documented 200): CreateEndpoint or UpdateEndpoint whose config would take the sum of the
  endpoints' MaxConcurrency past it fails with ResourceLimitExceeded, and the endpoint keeps what
  it had. Staging and production in one account each ask their own MaxConcurrency.

"Would not start" means the container's health check would fail: the model data URL does not name
a readable gzip tar in the local S3 holding config.json, labels.json and the weights (the layout the
train stage writes). So a deploy fails locally for the reason it fails on AWS: a bad artifact.

Settings, per server: `transition_seconds` (how long Creating/Updating last; env
TEXTCLF_LOCALCLOUD_ENDPOINT_SECONDS, default 1), `update_failure` (`rollback` or `failed`; env
TEXTCLF_LOCALCLOUD_UPDATE_FAILURE, default rollback) and `serverless_concurrency_quota` (env
TEXTCLF_LOCALCLOUD_SERVERLESS_CONCURRENCY_QUOTA, default 200). Read or change them while the server runs with
GET or POST of JSON at /moto-api/textclf/sagemaker-endpoints; moto's reset restores the defaults.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tarfile
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

CONTROL_PATH = "/moto-api/textclf/sagemaker-endpoints"
IN_PROGRESS = {"Creating", "Updating", "Deleting"}
REQUIRED_FILES = ("config.json", "labels.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def _defaults() -> dict[str, Any]:
    return {
        "transition_seconds": float(os.environ.get("TEXTCLF_LOCALCLOUD_ENDPOINT_SECONDS", "1")),
        "update_failure": os.environ.get("TEXTCLF_LOCALCLOUD_UPDATE_FAILURE", "rollback"),
        "serverless_concurrency_quota": int(
            os.environ.get("TEXTCLF_LOCALCLOUD_SERVERLESS_CONCURRENCY_QUOTA", "200")
        ),
    }


SERVERLESS_QUOTA_NAME = "Maximum total concurrency that can be allocated across all serverless endpoints"


SETTINGS: dict[str, Any] = _defaults()


@dataclass(frozen=True)
class Transition:
    """Where an endpoint is heading and when it gets there."""

    kind: str  # "create" | "update"
    config_name: str
    problem: str | None  # why the new model would not start, or None
    ready_at: float


# Pending transitions, keyed by moto's endpoint object (attributes on it would leak into responses).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------
# Would the model start?


def artifact_problem(account_id: str, url: str) -> str | None:
    """Why a container given this model data would fail its health check, or None."""
    from moto.s3.models import s3_backends

    if not url.startswith("s3://") or "/" not in url[5:]:
        return f"ModelDataUrl {url!r} is not an s3:// URL"
    bucket, key = url[5:].split("/", 1)
    try:
        blob = s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception:  # moto raises MissingBucket for an unknown bucket
        blob = None
    if blob is None:
        return f"Could not find model data at {url}"
    try:
        with tarfile.open(fileobj=io.BytesIO(blob.value), mode="r:gz") as archive:
            names = {name.removeprefix("./") for name in archive.getnames()}
    except (tarfile.TarError, OSError, EOFError) as error:
        return f"Failed to extract model data archive from URL {url}: {error}"
    missing = [name for name in REQUIRED_FILES if name not in names]
    if not any(name.endswith(WEIGHT_SUFFIXES) for name in names):
        missing.append("model weights")
    if missing:
        return (
            "The primary container for production variant AllTraffic did not pass the ping health "
            f"check: {url} lacks {', '.join(missing)}"
        )
    return None


def access_problem(model: Any, url: str) -> str | None:
    """The model's container reads its data as the model's execution role: a role that cannot
    be assumed by SageMaker or may not read the object fails the endpoint, as on AWS."""
    from textclf.localcloud import iam

    role = model.execution_role_arn
    region = model.arn.split(":")[3]
    try:
        session = iam.service_session(role, "sagemaker.amazonaws.com", f"endpoint-{model.model_name}")
        principal = iam.session_principal(session)
        bucket, key = url[5:].split("/", 1)
        iam.check(principal, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", region)
        encrypted_with = iam.object_kms_key(bucket, key, region)
        if encrypted_with:
            through_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}  # S3 decrypts for it
            iam.check(principal, "kms:Decrypt", encrypted_with, region, **through_s3)
    except iam.LocalCloudAccessDenied as error:
        # SageMaker's FailureReason for model data its role cannot read.
        return (
            f'Could not access model data at {url}. Please ensure that the role "{role}" exists and '
            'that its trust relationship policy allows the action "sts:AssumeRole" for the service '
            f'principal "sagemaker.amazonaws.com". Also ensure that the role has "s3:GetObject" '
            f"permissions ({error})"
        )
    return None


def config_problem(backend: Any, config_name: str) -> str | None:
    config = backend.endpoint_configs[config_name]
    for variant in config.production_variants:
        model = backend._models.get(variant["ModelName"])
        if model is None:
            return f"Could not find model {variant['ModelName']}"
        url = (model.primary_container or {}).get("ModelDataUrl")
        if not url:
            return f"model {model.model_name} has no ModelDataUrl"
        problem = artifact_problem(backend.account_id, url) or access_problem(model, url)
        if problem:
            return problem
    return None


# The names SageMaker takes for models, endpoint configurations, endpoints and model package groups
# (the API reference's EndpointName, EndpointConfigName, ModelName, EntityName: botocore's model).
NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def name_problem(member: str, name: Any) -> str | None:
    """SageMaker's ValidationException message for a resource name outside its pattern, or None."""
    if isinstance(name, str) and NAME.fullmatch(name):
        return None
    return (
        f"1 validation error detected: Value {str(name)[:80]!r} at '{member}' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: ^{NAME.pattern}$"
    )


# ContainerDefinition's constraints (SageMaker API reference, ContainerDefinition:
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html).
IMAGE = re.compile(r"[\S]+")
MODEL_DATA_URL = re.compile(r"(https|s3)://([^/]+)/?(.*)")
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def container_problem(container: dict[str, Any], member: str) -> str | None:
    """SageMaker's ValidationException message for a container definition it refuses, or None."""
    image, url = container.get("Image"), container.get("ModelDataUrl")
    if image is not None and (len(str(image)) > 255 or not IMAGE.fullmatch(str(image))):
        return _violation(
            image, f"{member}.image", "Member must satisfy regular expression pattern: [\\S]+ (at most 255)"
        )
    if url is not None and (len(str(url)) > 1024 or not MODEL_DATA_URL.fullmatch(str(url))):
        return _violation(
            url,
            f"{member}.modelDataUrl",
            f"Member must satisfy regular expression pattern: {MODEL_DATA_URL.pattern}",
        )
    environment = container.get("Environment") or {}
    if len(environment) > 100:
        return _violation(
            f"{len(environment)} entries",
            f"{member}.environment",
            "Map must have length less than or equal to 100",
        )
    for key, value in environment.items():
        if len(key) > 1024 or not ENVIRONMENT_KEY.fullmatch(key):
            return _violation(
                key,
                f"{member}.environment.key",
                f"Member must satisfy regular expression pattern: {ENVIRONMENT_KEY.pattern}",
            )
        if len(str(value)) > 1024:
            return _violation(
                f"{len(str(value))} characters",
                f"{member}.environment.{key}",
                "Member must have length less than or equal to 1024",
            )
    return None


def _violation(value: Any, member: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {str(value)[:80]!r} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def variants_problem(variants: list[dict[str, Any]]) -> str | None:
    """What SageMaker refuses in the production variants themselves: a VariantName given twice, and
    a ServerlessConfig's MaxConcurrency outside 1-200 or a ProvisionedConcurrency outside 1 to
    MaxConcurrency (ProductionVariantServerlessConfig, SageMaker API reference,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html)."""
    names = [str(variant.get("VariantName")) for variant in variants]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        return f"Variant names must be unique: {twice!r} is given {names.count(twice)} times."
    for variant in variants:
        config = variant.get("ServerlessConfig") or {}
        if not config:
            continue
        most, provisioned = config.get("MaxConcurrency"), config.get("ProvisionedConcurrency")
        if not isinstance(most, int) or not 1 <= most <= 200:
            return (
                f"1 validation error detected: Value {most!r} at 'serverlessConfig.maxConcurrency' failed to "
                "satisfy constraint: Member must have value between 1 and 200"
            )
        if provisioned is not None and (not isinstance(provisioned, int) or not 1 <= provisioned <= most):
            return (
                f"Invalid ServerlessConfig of variant {variant.get('VariantName')!r}: ProvisionedConcurrency "
                f"{provisioned!r} must be from 1 to MaxConcurrency ({most})."
            )
    return None


def serverless_problem(backend: Any, variants: list[dict[str, Any]], data_capture: Any) -> str | None:
    """What SageMaker refuses in a Serverless endpoint configuration ("Serverless Inference feature
    exclusions", https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html): more
    than one production variant, data capture, models with network isolation or a VPC."""
    if not any(variant.get("ServerlessConfig") for variant in variants):
        return None
    if len(variants) > 1:
        return "Serverless endpoint configurations support one production variant only."
    if data_capture:
        return "DataCaptureConfig is not supported for serverless endpoint configurations."
    model = backend._models.get(variants[0].get("ModelName"))
    if model is not None and getattr(model, "enable_network_isolation", False):
        return (
            f"Model {model.model_name} has network isolation enabled, which serverless endpoints "
            "do not support."
        )
    if model is not None and (model.vpc_config or {}).get("Subnets"):
        return f"Model {model.model_name} has a VpcConfig, which serverless endpoints do not support."
    return None


def _serverless_concurrency(backend: Any, config_name: str | None) -> int:
    config = backend.endpoint_configs.get(config_name) if config_name else None
    variants = config.production_variants if config is not None else []
    return sum(int((v.get("ServerlessConfig") or {}).get("MaxConcurrency", 0)) for v in variants)


def quota_problem(backend: Any, endpoint_name: str, config_name: str) -> str | None:
    """Why the account's Serverless concurrency quota refuses `endpoint_name` on `config_name`."""
    wanted = _serverless_concurrency(backend, config_name)
    if not wanted:
        return None
    used = 0
    for name, endpoint in backend.endpoints.items():
        if name == endpoint_name:
            continue
        with _lock:
            pending = _pending.get(endpoint)
        # An update in progress holds the larger of its two configs until it settles.
        used += max(
            _serverless_concurrency(backend, endpoint.endpoint_config_name),
            _serverless_concurrency(backend, pending.config_name) if pending else 0,
        )
    quota = int(SETTINGS["serverless_concurrency_quota"])
    if used + wanted <= quota:
        return None
    return (
        f"The account-level service limit '{SERVERLESS_QUOTA_NAME}' is {quota}, with current utilization "
        f"of {used} and a request delta of {wanted}. Please use AWS Service Quotas to request an "
        "increase for this quota."
    )


# ---------------------------------------------------------------------------------------------
# State changes


def _switch_config(backend: Any, endpoint: Any, config_name: str) -> None:
    config = backend.endpoint_configs.get(config_name)
    endpoint.endpoint_config_name = config_name
    if config is not None:
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)


def advance(backend: Any, endpoint: Any) -> None:
    """Apply a pending transition whose time has come."""
    from moto.core.utils import utcnow

    with _lock:
        transition = _pending.get(endpoint)
        if transition is None or time.monotonic() < transition.ready_at:
            return
        del _pending[endpoint]
    endpoint.last_modified_time = utcnow()
    if transition.problem is None:
        _switch_config(backend, endpoint, transition.config_name)
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = None
    elif transition.kind == "update" and SETTINGS["update_failure"] == "rollback":
        endpoint.endpoint_status = "InService"  # still on the previous config, which never stopped
        endpoint.failure_reason = transition.problem
    elif transition.kind == "update" and SETTINGS["update_failure"] == "rollback-failed":
        # The rollback itself failed: the endpoint still serves (some capacity on each config) and
        # DescribeEndpoint says UpdateRollbackFailed (DescribeEndpoint API reference, EndpointStatus).
        endpoint.endpoint_status = "UpdateRollbackFailed"
        endpoint.failure_reason = transition.problem
    else:
        _switch_config(backend, endpoint, transition.config_name)
        endpoint.endpoint_status = "Failed"
        endpoint.failure_reason = transition.problem


def _schedule(backend: Any, endpoint: Any, kind: str, config_name: str) -> None:
    from moto.core.utils import utcnow

    problem = config_problem(backend, config_name)
    endpoint.endpoint_status = "Creating" if kind == "create" else "Updating"
    endpoint.last_modified_time = utcnow()
    with _lock:
        _pending[endpoint] = Transition(
            kind, config_name, problem, time.monotonic() + float(SETTINGS["transition_seconds"])
        )


# ---------------------------------------------------------------------------------------------
# The patches


def install() -> None:
    """Patch moto's SageMaker backend; called once before the local cloud starts."""
    from moto.moto_api._internal import urls as moto_api_urls
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemaker.exceptions import SagemakerClientError, ValidationError
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend

    class ResourceLimitExceeded(SagemakerClientError):
        code = "ResourceLimitExceeded"

    def within_quota(backend: Any, endpoint_name: str, config_name: str) -> None:
        problem = quota_problem(backend, endpoint_name, config_name)
        if problem:
            raise ResourceLimitExceeded(problem)

    from moto.sagemaker.responses import SageMakerResponse

    original_create = SageMakerModelBackend.create_endpoint
    original_describe = SageMakerModelBackend.describe_endpoint
    original_list = SageMakerModelBackend.list_endpoints

    def endpoint_named(backend: Any, name: str) -> Any:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        advance(backend, endpoint)
        return endpoint

    def refuse(problem: str | None) -> None:
        if problem:
            raise ValidationError(message=problem)

    def create_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
        refuse(name_problem("endpointName", endpoint_name))
        if endpoint_name in self.endpoints:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(message=f'Cannot create already existing endpoint "{arn}".')
        within_quota(self, endpoint_name, endpoint_config_name)
        endpoint = original_create(self, endpoint_name, endpoint_config_name, tags)
        _schedule(self, endpoint, "create", endpoint_config_name)
        return endpoint

    def update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> str:
        endpoint = endpoint_named(self, endpoint_name)
        if endpoint.endpoint_status in IN_PROGRESS:
            raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
        if endpoint.endpoint_status == "Failed":
            raise ValidationError(
                message=f'Cannot update endpoint "{endpoint.arn}" in status Failed: delete and recreate it.'
            )
        self.describe_endpoint_config(endpoint_config_name)  # ValidationException when missing
        within_quota(self, endpoint_name, endpoint_config_name)
        _schedule(self, endpoint, "update", endpoint_config_name)
        return endpoint.arn

    def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
        if endpoint_name in self.endpoints:
            advance(self, self.endpoints[endpoint_name])
        return original_describe(self, endpoint_name)

    def list_endpoints(self: Any, *args: Any, **kwargs: Any) -> Any:
        for endpoint in list(self.endpoints.values()):
            advance(self, endpoint)
        return original_list(self, *args, **kwargs)

    original_create_config = SageMakerModelBackend.create_endpoint_config

    def create_endpoint_config(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("endpoint_config_name")
        refuse(name_problem("endpointConfigName", name))
        if name in self.endpoint_configs:  # moto replaced it: configurations are immutable
            arn = self.endpoint_configs[name].endpoint_config_arn
            refuse(f'Cannot create already existing endpoint configuration "{arn}".')
        variants = kwargs.get("production_variants") or []
        refuse(variants_problem(variants))
        refuse(serverless_problem(self, variants, kwargs.get("data_capture_config")))
        return original_create_config(self, *args, **kwargs)

    original_create_model = SageMakerModelBackend.create_model

    def create_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("model_name")
        refuse(name_problem("modelName", name))
        if name in self._models:  # moto replaced it
            refuse(f'Cannot create already existing model "{self._models[name].arn}".')
        if kwargs.get("primary_container"):
            refuse(container_problem(kwargs["primary_container"], "primaryContainer"))
        for number, container in enumerate(kwargs.get("containers") or [], 1):
            refuse(container_problem(container, f"containers.{number}.member"))
        return original_create_model(self, *args, **kwargs)

    original_create_group = SageMakerModelBackend.create_model_package_group

    def create_model_package_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        refuse(name_problem("modelPackageGroupName", kwargs.get("model_package_group_name")))
        return original_create_group(self, *args, **kwargs)

    def respond_update_endpoint(self: Any) -> Any:
        from moto.core.responses import ActionResult

        arn = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
        )
        return ActionResult({"EndpointArn": arn})

    SageMakerModelBackend.create_endpoint = create_endpoint
    original_add_tags = SageMakerResponse.add_tags

    def add_tags(self: Any) -> Any:
        # AddTags (SageMaker API reference): "Each resource can have a maximum of 50 tags", and tag
        # keys beginning with aws: are reserved for AWS ("Tagging your AWS resources").
        tags = self._get_param("Tags") or []
        if len(tags) > 50:
            refuse(f"Invalid Tags: {len(tags)} tags; a resource takes at most 50.")
        for tag in tags:
            if str(tag.get("Key", "")).lower().startswith("aws:"):
                refuse(
                    f"Invalid Tag Key {str(tag.get('Key'))[:60]!r}: the aws: prefix is reserved for AWS use."
                )
        return original_add_tags(self)

    SageMakerResponse.add_tags = add_tags
    SageMakerModelBackend.create_endpoint_config = create_endpoint_config
    SageMakerModelBackend.create_model = create_model
    SageMakerModelBackend.create_model_package_group = create_model_package_group
    SageMakerModelBackend.update_endpoint = update_endpoint
    SageMakerModelBackend.describe_endpoint = describe_endpoint
    SageMakerModelBackend.list_endpoints = list_endpoints  # moto's paginated original does the rest
    SageMakerResponse.update_endpoint = respond_update_endpoint

    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        original_reset(self)
        SETTINGS.update(_defaults())

    MotoAPIBackend.reset = reset
    moto_api_urls.url_paths["{0}" + CONTROL_PATH] = control


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET: the settings. POST a JSON object to change some of them."""
    if request.method == "POST":
        try:
            changes = json.loads(request.data or b"{}")
            if not isinstance(changes, dict):
                raise ValueError('send a JSON object of settings, e.g. {"transition_seconds": 0.2}')
            unknown = set(changes) - set(SETTINGS)
            if unknown:
                raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
            if changes.get("update_failure", "rollback") not in {"rollback", "failed", "rollback-failed"}:
                raise ValueError("update_failure must be 'rollback', 'failed' or 'rollback-failed'")
            seconds = changes.get("transition_seconds", 0)
            # A number of seconds as a number (a string stayed stored as is), finite and at most a day:
            # NaN or an infinity left every create and update waiting for ever.
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
            ):
                raise ValueError("transition_seconds must be a number of seconds from 0 to 86400")
            if not 0 <= seconds <= 86400:
                raise ValueError("transition_seconds must be a number of seconds from 0 to 86400")
            quota = changes.get("serverless_concurrency_quota", 1)
            if isinstance(quota, bool) or not isinstance(quota, int) or not 1 <= quota <= 100_000:
                raise ValueError("serverless_concurrency_quota must be a whole number from 1 to 100000")
        except (ValueError, TypeError, RecursionError) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)})
        SETTINGS.update(changes)
    return 200, {"Content-Type": "application/json"}, json.dumps(SETTINGS)
