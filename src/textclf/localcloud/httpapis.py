"""The API Gateway v2 control plane refuses the HTTP API settings API Gateway refuses, before moto
stores them: BadRequestException (400), or ConflictException (409) for a name or route key taken.

moto stored any route, integration and stage of an HTTP API (issue 27, R14B-30): a route key
`POST predict`, the same key twice, an AuthorizationType `MAGIC` (then served by the local cloud
without authentication), a target naming no integration, two stages of one name, negative
throttling limits, a PayloadFormatVersion 3.0, an access log format API Gateway refuses. The
Terraform that made them passed here and failed on AWS.

The rules (HTTP APIs only; WebSocket APIs keep moto's behaviour):
- Routes: "A route key consists of an HTTP method and a resource path", or `$default`; methods
  ANY, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT; a path variable in braces, a greedy one
  (`{proxy+}`) only as the last segment (API Gateway developer guide, "Create routes for HTTP APIs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html); a route
  key is unique in its API (ConflictException). AuthorizationType: "For HTTP APIs, valid values are
  NONE for open access, JWT for using JSON Web Tokens, AWS_IAM for using AWS IAM permissions, and
  CUSTOM for using a Lambda authorizer"; JWT and CUSTOM name an authorizer of the API; Target
  `integrations/<id>` of an integration of the API (API Gateway v2 API reference, CreateRoute,
  https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-routes.html).
- Integrations: IntegrationType AWS_PROXY or HTTP_PROXY for an HTTP API; PayloadFormatVersion
  "Supported values for Lambda proxy integrations are 1.0 and 2.0"; TimeoutInMillis "between 50
  and 30,000 milliseconds for HTTP APIs" (API reference, CreateIntegration,
  https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-integrations.html).
- Stages: "Stage names can only contain alphanumeric characters, hyphens, and underscores. Maximum
  length is 128 characters", or `$default`; one stage of a name per API (ConflictException);
  ThrottlingBurstLimit and ThrottlingRateLimit not negative; an access log format "must include at
  least $context.requestId or $context.extendedRequestId" (developer guide, "Configure logging for
  HTTP APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html,
  and "Access logging", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html),
  a destination that is a CloudWatch Logs log group ARN (API reference, CreateStage,
  https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages.html).
"""

from __future__ import annotations

import re
import sys
from typing import Any

METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM", "JWT")
INTEGRATION_TYPES = ("AWS_PROXY", "HTTP_PROXY")
PAYLOAD_FORMAT_VERSIONS = ("1.0", "2.0")
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 50, 30_000
STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A path segment: text, a variable `{name}`, or (last only) a greedy variable `{name+}`.
SEGMENT = re.compile(r"[^{}/\s]+|\{[A-Za-z0-9._-]+\}")
GREEDY = re.compile(r"\{[A-Za-z0-9._-]+\+\}")
LOG_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\.\-_/#A-Za-z0-9]{1,512}(:\*)?")
ACCESS_LOG_ID = re.compile(r"\$context\.(requestId|extendedRequestId)(?![A-Za-z0-9_])")


def _bad_request(message: str) -> Exception:
    from moto.apigatewayv2.exceptions import BadRequestException

    print(f"[local cloud] REFUSED (API Gateway BadRequestException): {message}", file=sys.stderr)
    return BadRequestException(message)


def _conflict(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    print(f"[local cloud] REFUSED (API Gateway ConflictException): {message}", file=sys.stderr)
    error = JsonRESTError("ConflictException", message)
    error.code = 409
    return error


def route_key_problem(route_key: Any) -> str | None:
    """Why API Gateway refuses `route_key` for an HTTP API, or None."""
    if route_key == "$default":
        return None
    method, _, path = str(route_key or "").partition(" ")
    if method not in METHODS:
        return (
            f"Invalid route key {route_key!r}: it is '$default' or '<METHOD> /<path>' with METHOD one of "
            f"{', '.join(METHODS)}"
        )
    if path == "/":
        return None
    segments = path.split("/")
    if not path.startswith("/") or not path[1:]:
        return f"Invalid route key {route_key!r}: the path must start with '/'"
    if len(segments) > 2 and segments[-1] == "":
        segments.pop()  # a trailing slash
    for number, segment in enumerate(segments[1:], start=1):
        last = number == len(segments) - 1
        if SEGMENT.fullmatch(segment) or (last and GREEDY.fullmatch(segment)):
            continue
        return (
            f"Invalid route key {route_key!r}: segment {segment!r} is not a path part, a {{variable}} "
            "or, as the last segment only, a greedy {variable+}"
        )
    return None


def _check_route(api: Any, route_id: str | None, settings: dict[str, Any]) -> None:
    route_key = settings.get("route_key")
    if route_key is not None or route_id is None:
        problem = route_key_problem(route_key)
        if problem:
            raise _bad_request(problem)
        taken = [r for r in api.routes.values() if r.route_key == route_key and r.route_id != route_id]
        if taken:
            raise _conflict(f"Route with key {route_key} already exists for this API")
    current = api.routes.get(route_id) if route_id else None
    authorization = settings.get("authorization_type")
    if authorization is not None and authorization not in AUTHORIZATION_TYPES:
        raise _bad_request(
            f"Invalid authorization type {authorization!r}: use one of {', '.join(AUTHORIZATION_TYPES)}"
        )
    authorization = authorization or (current.authorization_type if current else None) or "NONE"
    authorizer = settings.get("authorizer_id") or (current.authorizer_id if current else None)
    if authorization in ("JWT", "CUSTOM") and authorizer not in api.authorizers:
        raise _bad_request(
            f"AuthorizationType {authorization} needs the AuthorizerId of an authorizer of this API "
            f"(got {authorizer!r})"
        )
    target = settings.get("target")
    if target:
        integration = str(target).removeprefix("integrations/")
        if not str(target).startswith("integrations/") or integration not in api.integrations:
            raise _bad_request(
                f"Invalid target {target!r}: use 'integrations/<IntegrationId>' of an integration of this API"
            )


def _check_integration(settings: dict[str, Any]) -> None:
    kind = settings.get("integration_type")
    if kind is not None and kind not in INTEGRATION_TYPES:
        raise _bad_request(
            f"Invalid integration type {kind!r}: an HTTP API takes {' or '.join(INTEGRATION_TYPES)}"
        )
    version = settings.get("payload_format_version")
    if version is not None and version not in PAYLOAD_FORMAT_VERSIONS:
        raise _bad_request(f"Invalid PayloadFormatVersion {version!r}: use 1.0 or 2.0")
    timeout = settings.get("timeout_in_millis")
    if timeout is not None:
        try:
            within = MIN_TIMEOUT_MS <= int(timeout) <= MAX_TIMEOUT_MS
        except (TypeError, ValueError):
            within = False
        if not within:
            raise _bad_request(
                f"Invalid TimeoutInMillis {timeout!r}: an HTTP API integration waits {MIN_TIMEOUT_MS} to "
                f"{MAX_TIMEOUT_MS} milliseconds"
            )


def _check_route_settings(where: str, settings: Any) -> None:
    if not isinstance(settings, dict):
        return
    for key in ("throttlingBurstLimit", "throttlingRateLimit"):
        value = settings.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _bad_request(
                f"{where}: {key[0].upper()}{key[1:]} must be a number of 0 or more (got {value!r})"
            )


def _check_stage(api: Any, config: dict[str, Any], new: bool = True) -> None:
    name = config.get("stageName")
    if name != "$default" and not (isinstance(name, str) and STAGE_NAME.fullmatch(name)):
        raise _bad_request(
            f"Invalid stage name {name!r}: use letters, digits, '-' and '_' (at most 128), or $default"
        )
    if new and name in api.stages:
        raise _conflict(f"Stage {name} already exists")
    _check_route_settings("DefaultRouteSettings", config.get("defaultRouteSettings"))
    for route_key, settings in (config.get("routeSettings") or {}).items():
        _check_route_settings(f"RouteSettings[{route_key}]", settings)
    access_log = config.get("accessLogSettings")
    if access_log:
        destination, template = access_log.get("destinationArn"), access_log.get("format")
        if not (isinstance(destination, str) and LOG_GROUP_ARN.fullmatch(destination)):
            raise _bad_request(
                f"Invalid AccessLogSettings.DestinationArn {destination!r}: use a log group's ARN"
            )
        if not (isinstance(template, str) and ACCESS_LOG_ID.search(template)):
            raise _bad_request(
                "Invalid AccessLogSettings.Format: the access log format must include $context.requestId or "
                "$context.extendedRequestId"
            )


# UpdateStage, which moto lacks (an HTML 500, so a second `terraform apply` that changes a stage's
# throttling or access log failed here and not on AWS): the given settings replace the stage's,
# checked as CreateStage checks them; RouteSettings are merged by route key (API reference,
# UpdateStage, https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html).
UPDATABLE_STAGE_SETTINGS = {
    "accessLogSettings": "access_log_settings",
    "autoDeploy": "auto_deploy",
    "clientCertificateId": "client_certificate_id",
    "defaultRouteSettings": "default_route_settings",
    "description": "description",
    "stageVariables": "stage_variables",
}


def update_stage(self: Any) -> tuple[int, dict[str, str], str]:
    """The UpdateStage handler of moto's API Gateway v2 responses."""
    import json
    from datetime import datetime
    from urllib.parse import unquote

    api_id, stage_name = self.path.split("/")[-3], unquote(self.path.split("/")[-1])
    api = self.apigatewayv2_backend.get_api(api_id)
    stage = api.get_stage(stage_name)  # NotFoundException first
    try:
        changes = json.loads(self.body or "{}")
    except ValueError:
        raise _bad_request("The UpdateStage body is not JSON") from None
    if not isinstance(changes, dict):
        raise _bad_request("The UpdateStage body is not a JSON object")
    if api.protocol_type == "HTTP":
        _check_stage(api, {**changes, "stageName": stage.name}, new=False)
    for key, attribute in UPDATABLE_STAGE_SETTINGS.items():
        if key in changes:
            setattr(stage, attribute, changes[key])
    if isinstance(changes.get("routeSettings"), dict):
        stage.route_settings = {**(stage.route_settings or {}), **changes["routeSettings"]}
    stage.updated = datetime.now()
    return 200, {}, json.dumps(stage.to_json())


def install() -> None:
    """Check HTTP API routes, integrations and stages before moto stores them, and add UpdateStage;
    called once before the local cloud starts."""
    from moto.apigatewayv2.models import Api
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    ApiGatewayV2Response.update_stage = update_stage

    create_route, update_route = Api.create_route, Api.update_route
    create_integration, update_integration = Api.create_integration, Api.update_integration
    create_stage = Api.create_stage

    def checked_create_route(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol_type == "HTTP":
            _check_route(self, None, kwargs)
        return create_route(self, *args, **kwargs)

    def checked_update_route(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol_type == "HTTP":
            route_id = kwargs["route_id"]
            self.get_route(route_id)  # NotFoundException first
            _check_route(self, route_id, kwargs)
        return update_route(self, *args, **kwargs)

    def checked_create_integration(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol_type == "HTTP":
            _check_integration(kwargs)
        return create_integration(self, *args, **kwargs)

    def checked_update_integration(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol_type == "HTTP":
            _check_integration(kwargs)
        return update_integration(self, *args, **kwargs)

    def checked_create_stage(self: Any, config: dict[str, Any]) -> Any:
        if self.protocol_type == "HTTP":
            _check_stage(self, config)
        return create_stage(self, config)

    Api.create_route, Api.update_route = checked_create_route, checked_update_route
    Api.create_integration, Api.update_integration = checked_create_integration, checked_update_integration
    Api.create_stage = checked_create_stage
