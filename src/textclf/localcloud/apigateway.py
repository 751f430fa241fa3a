"""API Gateway HTTP APIs executed: the invoke URL of an API (created through moto's apigatewayv2
control plane, e.g. by Terraform) answers requests as API Gateway does.

moto stores HTTP APIs, routes, integrations and stages but does not execute them. Here a request to
`<local cloud>/_aws/execute-api/<api-id>/<stage>/<path>` (the stage segment is left out for the
`$default` stage, as in AWS's `https://<api-id>.execute-api.<region>.amazonaws.com/<path>`) goes:

1. Route: `METHOD /path`, then `ANY /path`, then `$default`; no route is 404 `{"message":"Not Found"}`.
2. IAM authorization (`AWS_IAM` routes): the SigV4 signature is verified with the caller's secret
   key (an unsigned request, an unknown key or a wrong signature is 403), the caller is the IAM user
   or role session the key belongs to, and `execute-api:Invoke` on
   `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>` is evaluated by the
   local cloud's IAM engine (`iam.decide`: identity policies, permissions boundary); a refusal is 403
   with IAM's message ("Control access to HTTP APIs with IAM authorization",
   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
3. Throttling: the stage's route settings for the route (else its default route settings), a token
   bucket of `ThrottlingBurstLimit` tokens refilled at `ThrottlingRateLimit` a second; an empty
   bucket is 429 `{"message":"Too Many Requests"}`
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
4. The Lambda integration (`AWS_PROXY`): API Gateway may invoke the function only if the function's
   resource policy allows `apigateway.amazonaws.com` for this request's execute-api ARN
   (`aws:SourceArn`); then the handler runs (`lambdas.run_function`, as its own role) on the payload
   format 2.0 event and its answer is mapped back (statusCode, headers, body). A refused or failed
   invocation is 500 `{"message":"Internal Server Error"}`
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
5. An access log line, in the stage's format with its `$context` variables filled, to the stage's
   destination log group (when it exists), every request included, refused ones too.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from textclf.localcloud import iam
from textclf.localcloud.policy import Request, UnknownConditionKey, authorize

PREFIX = "/_aws/execute-api/"
# "Payload size: 10 MB" for HTTP APIs (API Gateway developer guide, "Quotas for configuring and
# running an HTTP API", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
# a larger request is 413 {"message":"Request Entity Too Large"} and reaches no integration. A Lambda
# integration then takes at most Lambda's synchronous payload, 6 MB ("Invocation payload (request
# and response): 6 MB each for request and response (synchronous)", Lambda quotas,
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): an event over it is not
# invoked, and the caller gets 500 {"message":"Internal Server Error"} (issue 27, R14B-40).
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
MAX_LAMBDA_EVENT_BYTES = 6 * 1024 * 1024
DRAIN_BYTES = 64 * 1024 * 1024  # what of a refused body is still read (and dropped) before closing
DEFAULT_REGION = "us-east-1"  # of an unsigned request (the local cloud's region)
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/jsonlines")
_FUNCTION_ARN = re.compile(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+")


# --- throttling ------------------------------------------------------------------------------------


@dataclass
class _Bucket:
    burst: float
    rate: float
    tokens: float
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


_buckets: dict[tuple[str, str, str], _Bucket] = {}
_buckets_lock = threading.Lock()


def _throttled(api_id: str, stage: Any, route_key: str) -> bool:
    settings = (stage.route_settings or {}).get(route_key) or stage.default_route_settings or {}
    burst, rate = settings.get("throttlingBurstLimit"), settings.get("throttlingRateLimit")
    if burst is None and rate is None:
        return False  # the account's quotas: far above anything a test sends
    burst, rate = float(burst if burst is not None else 5000), float(rate if rate is not None else 10000)
    with _buckets_lock:
        key = (api_id, stage.name, route_key)
        bucket = _buckets.get(key)
        if bucket is None or (bucket.burst, bucket.rate) != (burst, rate):  # new or changed settings
            bucket = _buckets[key] = _Bucket(burst, rate, burst)
        return not bucket.take()


# --- the request -----------------------------------------------------------------------------------


@dataclass
class Call:
    """One request to an API and what became of it (the access log's $context)."""

    api_id: str
    region: str
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    source_ip: str
    host: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    stage: str = "-"
    route_key: str = "-"
    caller: str = "-"
    access_key: str = "-"
    status: int = 500
    error: str = "-"
    integration_status: str = "-"
    integration_latency_ms: str = "-"


def _answer(status: int, payload: Any, call: Call, headers: dict[str, str] | None = None) -> tuple:
    call.status = status
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return status, {"Content-Type": "application/json", **(headers or {})}, body


def _message(status: int, message: str, call: Call) -> tuple:
    call.error = message
    return _answer(status, {"message": message}, call)


def _backend(call: Call) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[iam.ACCOUNT][call.region]


def _select(api: Any, rest: str) -> tuple[Any, str] | None:
    """(stage, path) for the URL part after the API id: a named stage first, else `$default`."""
    first, _, remainder = rest.partition("/")
    if first and first != "$default" and first in api.stages:
        return api.stages[first], "/" + remainder
    if "$default" in api.stages:
        return api.stages["$default"], "/" + rest
    return None


def _route(api: Any, method: str, path: str) -> Any:
    by_key = {route.route_key: route for route in api.routes.values()}
    return by_key.get(f"{method} {path}") or by_key.get(f"ANY {path}") or by_key.get("$default")


def _authenticate(call: Call, environ_path: str) -> str:
    """The signer's principal ARN, or raise PermissionError with API Gateway's message."""
    from moto.iam.access_control import IAMRequest

    authorization = call.headers.get("Authorization") or call.headers.get("authorization") or ""
    if "Credential=" not in authorization:
        raise PermissionError("Forbidden")
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    if len(scope) != 5 or scope[3] != "execute-api":
        raise PermissionError("Forbidden")
    try:
        signed = IAMRequest(
            account_id=iam.ACCOUNT,
            method=call.method,
            path=environ_path,
            data={},
            body=call.body,
            headers=call.headers,
            action="Invoke",
        )
        signed.check_signature()
    except Exception as error:  # moto's InvalidClientTokenId, SignatureDoesNotMatch
        detail = getattr(error, "message", None) or type(error).__name__
        raise PermissionError(f"Forbidden: {detail}") from None
    call.access_key = scope[0]
    # An expired session and a stale or future date are refused as every other call is (iam.py):
    # "After temporary credentials expire, any calls that you make with those credentials will
    # fail" (IAM User Guide, "Use temporary credentials with AWS resources").
    if iam.session_expired(scope[0]):
        raise PermissionError("The security token included in the request is expired")
    stale = iam.request_time_problem(call.headers)
    if stale:
        raise PermissionError(f"Signature expired: {stale}")
    return signed._access_key.arn


def _authorize(call: Call, principal: str, resource: str) -> None:
    context = iam._global_context(principal, call.region)
    request = Request(principal, "execute-api:Invoke", resource, context, iam.GLOBAL_KEYS | iam.SERVICE_KEYS)
    try:
        verdict = iam.decide(request, call.region)
    except UnknownConditionKey as error:
        raise PermissionError(str(error)) from None
    if not verdict.allowed:
        raise PermissionError(iam._denied_message(principal, "execute-api:Invoke", resource, verdict))


def _event(call: Call, api: Any, stage: str, route_key: str, principal: str, path: str) -> dict[str, Any]:
    """The HTTP API payload format 2.0 event."""
    content_type = call.headers.get("Content-Type", call.headers.get("content-type", ""))
    text = content_type.lower().startswith(TEXT_TYPES) or not call.body
    if text:
        try:
            call.body.decode("utf-8")
        except UnicodeDecodeError:
            text = False  # not UTF-8 whatever its type says: handed on base64-encoded, as binary is
    headers: dict[str, str] = {}
    for key, value in call.headers.items():
        lowered = key.lower()
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    identity = None
    if principal != "-":
        identity = {
            "iam": {
                "accessKey": call.access_key,
                "accountId": iam.ACCOUNT,
                "callerId": principal.rsplit("/", 1)[-1],
                "principalOrgId": None,
                "userArn": principal,
                "userId": principal.rsplit("/", 1)[-1],
            }
        }
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": call.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": iam.ACCOUNT,
            "apiId": api.api_id,
            **({"authorizer": identity} if identity else {}),
            "domainName": f"{api.api_id}.execute-api.{call.region}.amazonaws.com",
            "domainPrefix": api.api_id,
            "http": {
                "method": call.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": call.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": call.request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": call.body.decode("utf-8") if text else base64.b64encode(call.body).decode("ascii"),
        "isBase64Encoded": not text,
    }


def _may_invoke(function: Any, source_arn: str) -> bool:
    """The function's resource policy lets API Gateway invoke it for this source ARN."""
    try:
        document = function.policy.get_policy()["Policy"]
    except Exception:  # no statement at all
        return False
    context = {"aws:sourcearn": [source_arn], "aws:sourceaccount": [iam.ACCOUNT]}
    service = "apigateway.amazonaws.com"
    request = Request(service, "lambda:InvokeFunction", function.function_arn, context, frozenset(context))
    try:
        return authorize(request, iam.ACCOUNT, [], None, document, "resource-based policy").allowed
    except UnknownConditionKey:
        return False


def _integrate(call: Call, api: Any, route: Any, event: dict[str, Any], source_arn: str) -> tuple:
    from moto.awslambda.models import lambda_backends

    from textclf.localcloud import lambdas

    integration_id = str(route.target or "").removeprefix("integrations/")
    integration = api.integrations.get(integration_id)
    if integration is None or integration.integration_type != "AWS_PROXY":
        return _message(500, "Internal Server Error", call)  # the local cloud runs Lambda proxies only
    found = _FUNCTION_ARN.search(str(integration.integration_uri or ""))
    try:
        function = lambda_backends[iam.ACCOUNT][call.region].get_function(found.group(0) if found else "-")
    except Exception:
        return _message(500, "Internal Server Error", call)
    if not _may_invoke(function, source_arn):
        print(
            f"[local cloud] API Gateway may not invoke {function.function_arn} for {source_arn}: "
            "no statement of its resource policy allows it",
            file=sys.stderr,
        )
        call.integration_status = "403"
        return _message(500, "Internal Server Error", call)
    if len(json.dumps(event).encode("utf-8")) > MAX_LAMBDA_EVENT_BYTES:
        print(
            f"[local cloud] the event for {function.function_arn} is over Lambda's 6 MB: not invoked",
            file=sys.stderr,
        )
        call.integration_status = "413"
        return _message(500, "Internal Server Error", call)
    started = time.perf_counter()
    outcome = lambdas.run_function(function, event, f"http://{call.host}")
    call.integration_latency_ms = str(round((time.perf_counter() - started) * 1000))
    function.logs_backend.ensure_log_group(function.logs_group_name)
    function.save_logs(outcome.logs or "(no output)")
    if outcome.failed:
        call.integration_status = "200"
        return _message(500, "Internal Server Error", call)
    call.integration_status = "200"
    result = json.loads(outcome.payload) if outcome.payload else None
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return _answer(int(result["statusCode"]), raw, call, headers)
    # Format 2.0 without a statusCode: API Gateway takes the value as a JSON body with status 200.
    return _answer(200, json.dumps(result).encode("utf-8"), call)


def handle(call: Call, environ_path: str) -> tuple:
    """(status, headers, body) of one request to the invoke URL."""
    api_id, _, rest = call.path.removeprefix(PREFIX).partition("/")
    try:
        api = _backend(call).get_api(api_id)
    except Exception:
        return _message(404, "Not Found", call)
    call.api_id = api.api_id
    selected = _select(api, rest)
    if selected is None:
        return _message(404, "Not Found", call)
    stage, path = selected
    call.stage = stage.name
    route = _route(api, call.method, path)
    if route is None:
        return _message(404, "Not Found", call)
    call.route_key = route.route_key
    resource = iam.execute_api_arn(call.region, api.api_id, stage.name, call.method, path)
    principal = "-"
    authorization = route.authorization_type or "NONE"
    if authorization not in ("NONE", "AWS_IAM"):
        # JWT and Lambda (CUSTOM) authorizers are not evaluated here: such a route is refused as an
        # authorizer refuses a request, never served unauthenticated (issue 27, R14B-30); 401
        # {"message":"Unauthorized"} ("Control access to HTTP APIs with JWT authorizers",
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
        print(
            f"[local cloud] route {route.route_key} of API {api.api_id} uses a {authorization} authorizer, "
            "which the local cloud does not evaluate: refused",
            file=sys.stderr,
        )
        return _message(401, "Unauthorized", call)
    if authorization == "AWS_IAM":
        try:
            principal = _authenticate(call, environ_path)
            call.caller = principal
            if iam.STATE.enforcing:
                _authorize(call, principal, resource)
        except PermissionError as refused:
            return _message(403, str(refused), call)
    if _throttled(api.api_id, stage, route.route_key):
        return _message(429, "Too Many Requests", call)
    event = _event(call, api, stage.name, route.route_key, principal, path)
    return _integrate(call, api, route, event, resource)


# --- the access log ----------------------------------------------------------------------------------


def _context_values(call: Call, response_length: int) -> dict[str, str]:
    latency = str(round((time.time() - call.started) * 1000))
    return {
        "requestId": call.request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(call.started)),
        "requestTimeEpoch": str(int(call.started * 1000)),
        "apiId": call.api_id,
        "stage": call.stage,
        "routeKey": call.route_key,
        "httpMethod": call.method,
        "path": call.path,
        "protocol": "HTTP/1.1",
        "status": str(call.status),
        "responseLength": str(response_length),
        "responseLatency": latency,
        "integrationStatus": call.integration_status,
        "integrationLatency": call.integration_latency_ms,
        "identity.sourceIp": call.source_ip,
        "identity.userArn": call.caller,
        "identity.caller": call.caller.rsplit("/", 1)[-1] if call.caller != "-" else "-",
        "identity.accountId": iam.ACCOUNT if call.caller != "-" else "-",
        "identity.userAgent": call.headers.get("User-Agent", "-"),
        "error.message": call.error,
        "domainName": f"{call.api_id}.execute-api.{call.region}.amazonaws.com",
    }


def access_log_line(template: str, values: dict[str, str]) -> str:
    """The stage's format with every `$context.name` replaced (JSON-escaped; "-" when unknown)."""

    def value(match: re.Match) -> str:
        return json.dumps(values.get(match.group(1), "-"))[1:-1]

    return re.sub(r"\$context\.([A-Za-z0-9_.]*[A-Za-z0-9_])", value, template)


def _write_access_log(call: Call, response_length: int) -> None:
    from moto.logs.models import logs_backends

    try:
        stage = _backend(call).get_api(call.api_id).stages.get(call.stage)
    except Exception:
        return
    settings = (getattr(stage, "access_log_settings", None) or {}) if stage is not None else {}
    destination, template = settings.get("destinationArn"), settings.get("format")
    if not destination or not template:
        return
    group = destination.split(":log-group:", 1)[-1].removesuffix(":*")
    backend = logs_backends[iam.ACCOUNT][call.region]
    if group not in backend.groups:
        print(f"[local cloud] access log group {group} does not exist: the line is lost", file=sys.stderr)
        return
    stream = f"{call.api_id}_{call.stage}"
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    line = access_log_line(template, _context_values(call, response_length))
    backend.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": line}])


# --- the hook into the local cloud's HTTP server ---------------------------------------------------


def _read_body(request: Any) -> tuple[bytes, bool]:
    """The request's body, and whether it is over MAX_PAYLOAD_BYTES. A body over it is never held:
    what follows the limit is read and dropped in pieces (up to DRAIN_BYTES), so that the client,
    still sending, reads the 413 instead of a reset connection."""
    body = request.stream.read(MAX_PAYLOAD_BYTES + 1)
    if len(body) <= MAX_PAYLOAD_BYTES:
        return body, False
    drained = len(body)
    while drained < DRAIN_BYTES:
        piece = request.stream.read(1024 * 1024)
        if not piece:
            break
        drained += len(piece)
    return b"", True


def _wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    from werkzeug.wrappers import Request as WsgiRequest

    request = WsgiRequest(environ)
    body, too_large = _read_body(request)
    headers = {key: value for key, value in request.headers.items()}
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
    scope = iam._credential_scope(headers)
    call = Call(
        api_id=request.path.removeprefix(PREFIX).split("/", 1)[0],
        region=scope[1] if scope else DEFAULT_REGION,
        method=request.method,
        path=request.path,
        raw_query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        source_ip=request.remote_addr or "127.0.0.1",
        host=request.host,
    )
    try:
        if too_large:
            status, response_headers, payload = _message(413, "Request Entity Too Large", call)
        else:
            status, response_headers, payload = handle(call, raw_uri)
    except Exception as error:  # a bug here must not look like the API's answer
        print(f"[local cloud] execute-api failed: {error!r}", file=sys.stderr)
        status, response_headers, payload = _message(500, "Internal Server Error", call)
    response_headers["apigw-requestid"] = call.request_id
    response_headers["Content-Length"] = str(len(payload))
    _write_access_log(call, len(payload))
    reason = {
        200: "OK",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        413: "Request Entity Too Large",
        429: "Too Many Requests",
    }.get(status, "Status")
    start_response(f"{status} {reason}", list(response_headers.items()))
    return [payload]


def install() -> None:
    """Answer `/_aws/execute-api/...` before moto's dispatcher picks a backend for the request."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if str(environ.get("PATH_INFO", "")).startswith(PREFIX):
            return _wsgi(environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch
