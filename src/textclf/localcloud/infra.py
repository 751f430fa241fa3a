"""What Terraform needs from the local cloud that moto lacks.

- Settings moto accepts but does not return: without them a second `terraform plan` would want to
  change (or replace) resources that are exactly as configured. Each patch stores what the request
  sent and adds it to the matching describe response, as AWS does.
- DeleteModelPackageGroup, which `terraform destroy` calls.
"""

from __future__ import annotations

import functools
from typing import Any


def install() -> None:
    """Patch moto's Lambda, S3 and SageMaker backends; called once before the local cloud starts."""
    _lambda_dead_letter_config()
    _s3_eventbridge_notification()
    _sagemaker_model_network_isolation()
    _sagemaker_delete_model_package_group()


def _lambda_dead_letter_config() -> None:
    """CreateFunction/UpdateFunctionConfiguration `DeadLetterConfig`, returned by GetFunction."""
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_get = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    @functools.wraps(original_init)
    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.dead_letter_config = spec.get("DeadLetterConfig") or None

    @functools.wraps(original_get)
    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        target = (getattr(self, "dead_letter_config", None) or {}).get("TargetArn")
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    @functools.wraps(original_update)
    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or None
        return original_update(self, config_updates)

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def _s3_eventbridge_notification() -> None:
    """PutBucketNotificationConfiguration keeps `EventBridgeConfiguration`; Get now returns it."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    @functools.wraps(original)
    def get_bucket_notification(self: S3Response) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return original(self)
        serialized = self.serialized

        def with_eventbridge(action_result: Any) -> Any:
            action_result.result["EventBridgeConfiguration"] = {}
            return serialized(action_result)

        # Only for this request: the response object is created per request.
        self.serialized = with_eventbridge  # type: ignore[method-assign]
        try:
            return original(self)
        finally:
            del self.serialized

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def _sagemaker_model_network_isolation() -> None:
    """CreateModel `EnableNetworkIsolation`, returned by DescribeModel (moto always says false)."""
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.create_model

    @functools.wraps(original)
    def create_model(self: SageMakerResponse) -> Any:
        result = original(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerResponse.create_model = create_model  # type: ignore[method-assign]


def _sagemaker_delete_model_package_group() -> None:
    """DeleteModelPackageGroup: refused while the group holds model packages, as on AWS."""
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ConflictException
    from moto.sagemaker.responses import SageMakerResponse

    def delete_model_package_group(self: SageMakerResponse) -> Any:
        name = self._get_param("ModelPackageGroupName")
        backend = self.sagemaker_backend
        group = backend.describe_model_package_group(name)  # ValidationException when unknown
        packages = backend.model_packages.values()
        if any(package.model_package_group_name == name for package in packages):
            raise ConflictException(f"{group.arn} still has model packages: delete those first.")
        del backend.model_package_groups[name]
        return EmptyResult()

    SageMakerResponse.delete_model_package_group = delete_model_package_group  # type: ignore[attr-defined]
