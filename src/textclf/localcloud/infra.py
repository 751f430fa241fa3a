"""What Terraform needs from the local cloud that moto lacks.

- Settings moto accepts but does not return: without them a second `terraform plan` would want to
  change (or replace) resources that are exactly as configured. Each patch stores what the request
  sent and adds it to the matching describe response, as AWS does.
- DeleteModelPackageGroup, which `terraform destroy` calls.
- RegisterTaskDefinition's names as ECS checks them (a family, container name or image moto took and
  ECS refuses would pass here and fail on AWS).
"""

from __future__ import annotations

import functools
import re
from typing import Any


def install() -> None:
    """Patch moto's Lambda, S3 and SageMaker backends; called once before the local cloud starts."""
    _lambda_dead_letter_config()
    _s3_eventbridge_notification()
    _sagemaker_model_network_isolation()
    _sagemaker_delete_model_package_group()
    _ecs_task_definition_names()


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


# RegisterTaskDefinition (ECS API reference, RegisterTaskDefinition and ContainerDefinition,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html): family and
# container name "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens";
# image "For images using tags (repository-url/image:tag), up to 255 characters total are allowed,
# including letters (uppercase and lowercase), numbers, hyphens, underscores, colons, periods,
# forward slashes, and number signs (#). For images using digests (repository-url/image@digest), the
# 255 character limit applies only to the repository URL and image name ... the hash value after
# sha256: must be exactly 64 characters (only letters A-F, a-f, and numbers 0-9 are allowed)". The
# messages are ECS's ("Container.image contains invalid characters.", "Container.image should be 255
# characters or less", "Family contains invalid characters.").
ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
ECS_IMAGE_CHARACTERS = re.compile(r"[A-Za-z0-9_\-:./#]+")
ECS_IMAGE_DIGEST = re.compile(r"sha256:[A-Fa-f0-9]{64}")


def ecs_definition_problem(family: Any, containers: Any) -> str | None:
    """ECS's message for a task definition it refuses by its names, or None."""
    if isinstance(family, str) and not ECS_NAME.fullmatch(family):
        return "Family contains invalid characters."
    for container in containers if isinstance(containers, list) else []:
        if not isinstance(container, dict):
            continue
        name, image = container.get("name"), container.get("image")
        if isinstance(name, str) and not ECS_NAME.fullmatch(name):
            return "Container.name contains invalid characters."
        if not isinstance(image, str):
            continue
        repository, at, digest = image.partition("@")
        if at and not ECS_IMAGE_DIGEST.fullmatch(digest):
            return "Container.image contains invalid characters."
        if not ECS_IMAGE_CHARACTERS.fullmatch(repository):
            return "Container.image contains invalid characters."
        if len(repository) > 255:
            return "Container.image should be 255 characters or less"
    return None


def _ecs_task_definition_names() -> None:
    """RegisterTaskDefinition refuses (ClientException) a family, container name or image outside
    ECS's rules; moto registered `repo:x y` as the serving image and the service moved to it."""
    from moto.ecs.exceptions import EcsClientException
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = EC2ContainerServiceResponse.register_task_definition

    @functools.wraps(original)
    def register_task_definition(self: EC2ContainerServiceResponse) -> Any:
        problem = ecs_definition_problem(self._get_param("family"), self._get_param("containerDefinitions"))
        if problem:
            raise EcsClientException(problem)
        return original(self)

    EC2ContainerServiceResponse.register_task_definition = register_task_definition  # type: ignore[method-assign]
