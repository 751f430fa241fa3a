"""EventBridge refuses the rules and targets EventBridge refuses (moto took them: issue 27, R14B-18).
The drift check's schedule and its target's input (terraform/drift.tf) are these fields, and the
local cloud never runs schedules, so nothing else checks them here.

PutRule (EventBridge API reference, PutRule, https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html;
"Schedule expressions for rules", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):
- Name "Maximum length of 64. Pattern: [\\.\\-_A-Za-z0-9]+";
- ScheduleExpression `rate(value unit)`: a positive whole value, unit minute(s) / hour(s) / day(s),
  singular for 1; `cron(minutes hours day-of-month month day-of-week year)`: fields in their ranges
  (0-59, 0-23, 1-31, 1-12 or JAN-DEC, 1-7 or SUN-SAT, 1970-2199), `?` in exactly one of day-of-month
  and day-of-week. Else "Parameter ScheduleExpression is not valid." (ValidationException).
PutTargets (PutTargets, Target, RetryPolicy,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html):
- Id "Maximum length of 64. Pattern: [\\.\\-_A-Za-z0-9]+"; Input "must be valid JSON text", at
  most 8192 characters; "You can use only one of Input, InputPath, or InputTransformer";
  RetryPolicy MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400: ValidationException;
- at most 5 targets on a rule ("Targets ... Maximum number of 5 items"; EventBridge quotas):
  LimitExceededException.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
PATTERN_RULE = "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (at most 64 characters)"
MAX_TARGETS = 5
MAX_INPUT_CHARS = 8192
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _error(code: str, message: str, status: int = 400) -> Exception:
    from moto.core.exceptions import JsonRESTError

    print(f"[local cloud] REFUSED (EventBridge {code}): {message}", file=sys.stderr)
    error = JsonRESTError(code, message)
    error.code = status
    return error


def _value(token: str, low: int, high: int, names: list[str] | None = None) -> bool:
    if names and token.upper() in names:
        return True
    return token.isdigit() and low <= int(token) <= high


def _field_ok(field: str, low: int, high: int, names: list[str] | None = None, extra: str = "") -> bool:
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return False
        if base == "*" or (base in extra.split() and base):
            continue
        if "-" in base:
            start, _, end = base.partition("-")
            if not (_value(start, low, high, names) and _value(end, low, high, names)):
                return False
        elif not _value(base, low, high, names):
            return False
    return True


def _day_of_month_ok(field: str) -> bool:
    return (
        field == "?"
        or field in ("L", "LW")
        or re.fullmatch(r"([1-9]|[12]\d|3[01])W", field) is not None
        or _field_ok(field, 1, 31)
    )


def _day_of_week_ok(field: str) -> bool:
    if field in ("?", "L"):
        return True
    if re.fullmatch(r"[1-7]L|[1-7]#[1-5]|(SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5]", field.upper()):
        return True
    return _field_ok(field, 1, 7, DAYS)


def schedule_problem(expression: str) -> str | None:
    """Why EventBridge refuses this ScheduleExpression, or None."""
    rate = RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value >= 1 and (unit.endswith("s") == (value != 1)):
            return None
        return f"rate({value} {unit}): the value must be a positive whole number, with a singular unit for 1"
    cron = re.fullmatch(r"cron\((.*)\)", expression)
    if cron:
        fields = cron.group(1).split()
        if len(fields) == 6:
            minutes, hours, dom, month, dow, year = fields
            ok = (
                _field_ok(minutes, 0, 59)
                and _field_ok(hours, 0, 23)
                and _day_of_month_ok(dom)
                and _field_ok(month, 1, 12, MONTHS)
                and _day_of_week_ok(dow)
                and _field_ok(year, 1970, 2199)
                and (dom == "?") != (dow == "?")
            )
            if ok:
                return None
        return (
            f"{expression}: a cron expression has six fields in their ranges and '?' in exactly one of "
            "day-of-month and day-of-week"
        )
    return f"{expression}: not a rate(...) or cron(...) expression"


def target_problem(target: dict[str, Any]) -> str | None:
    target_id = str(target.get("Id", ""))
    if not NAME.fullmatch(target_id):
        return (
            f"1 validation error detected: Value '{target_id[:100]}' at 'targets.member.id' failed to "
            f"satisfy constraint: {PATTERN_RULE}"
        )
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None]
    if len(given) > 1:
        return (
            f"Target {target_id}: you can use only one of Input, InputPath, or InputTransformer "
            f"(given: {', '.join(given)})"
        )
    if target.get("Input") is not None:
        text = str(target["Input"])
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return f"Target {target_id}: Input is not valid JSON text"
        if len(text) > MAX_INPUT_CHARS:
            return f"Target {target_id}: Input is longer than {MAX_INPUT_CHARS} characters"
    retry = target.get("RetryPolicy") or {}
    attempts, age = retry.get("MaximumRetryAttempts"), retry.get("MaximumEventAgeInSeconds")
    if attempts is not None and not (isinstance(attempts, int) and 0 <= attempts <= 185):
        return f"Target {target_id}: RetryPolicy MaximumRetryAttempts {attempts} is not between 0 and 185"
    if age is not None and not (isinstance(age, int) and 60 <= age <= 86400):
        return f"Target {target_id}: RetryPolicy MaximumEventAgeInSeconds {age} is not between 60 and 86400"
    return None


# CreateConnection / CreateApiDestination and their updates (EventBridge API reference,
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html,
# API_CreateApiDestination.html): Name as a rule's (ValidationException), unique
# (ResourceAlreadyExistsException); AuthorizationType BASIC | OAUTH_CLIENT_CREDENTIALS | API_KEY;
# InvocationEndpoint "must use HTTPS"; HttpMethod POST | GET | HEAD | OPTIONS | PUT | PATCH | DELETE;
# InvocationRateLimitPerSecond at least 1; ConnectionArn an existing connection (ResourceNotFoundException).
# eventdelivery.py sends the connection's credentials to that endpoint: an http:// one leaked them.
AUTHORIZATION_TYPES = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
HTTP_METHODS = ("POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")


def _name_error(name: Any) -> Exception:
    return _error(
        "ValidationException",
        f"1 validation error detected: Value '{str(name)[:100]}' at 'name' failed to satisfy constraint: "
        f"{PATTERN_RULE}",
    )


def _authorization_error(kind: Any) -> Exception:
    return _error(
        "ValidationException",
        f"AuthorizationType {str(kind)[:30]!r} is not one of {', '.join(AUTHORIZATION_TYPES)}",
    )


def destination_problem(backend: Any, updates: dict[str, Any]) -> Exception | None:
    endpoint = updates.get("invocation_endpoint")
    if endpoint is not None and not str(endpoint).startswith("https://"):
        return _error(
            "ValidationException", f"InvocationEndpoint {str(endpoint)[:200]!r} must use HTTPS (https://)"
        )
    method = updates.get("http_method")
    if method is not None and method not in HTTP_METHODS:
        return _error(
            "ValidationException", f"HttpMethod {str(method)[:20]!r} is not one of {', '.join(HTTP_METHODS)}"
        )
    rate = updates.get("invocation_rate_limit_per_second")
    if rate is not None and not (str(rate).isdigit() and int(rate) >= 1):
        return _error("ValidationException", f"InvocationRateLimitPerSecond {rate!r} must be at least 1")
    arn = updates.get("connection_arn")
    if arn is not None and not any(c.arn == arn for c in backend.connections.values()):
        return _error("ResourceNotFoundException", f"Connection {str(arn)[:200]} does not exist.")
    return None


def _checked_connections(backend_cls: Any) -> None:
    create_connection = backend_cls.create_connection

    def checked_create_connection(
        self: Any, name: str, description: str, authorization_type: str, auth_parameters: Any
    ) -> Any:
        if not NAME.fullmatch(str(name or "")):
            raise _name_error(name)
        if name in self.connections:
            raise _error("ResourceAlreadyExistsException", f"Connection {name} already exists.")
        if authorization_type not in AUTHORIZATION_TYPES:
            raise _authorization_error(authorization_type)
        return create_connection(self, name, description, authorization_type, auth_parameters)

    update_connection = backend_cls.update_connection

    def checked_update_connection(self: Any, name: str, **kwargs: Any) -> Any:
        kind = kwargs.get("authorization_type")
        if kind is not None and kind not in AUTHORIZATION_TYPES:
            raise _authorization_error(kind)
        return update_connection(self, name, **kwargs)

    create_destination = backend_cls.create_api_destination

    def checked_create_api_destination(
        self: Any,
        name: str,
        description: str,
        connection_arn: str,
        invocation_endpoint: str,
        invocation_rate_limit_per_second: str,
        http_method: str,
    ) -> Any:
        if not NAME.fullmatch(str(name or "")):
            raise _name_error(name)
        if name in self.destinations:
            raise _error("ResourceAlreadyExistsException", f"An api-destination {name} already exists.")
        problem = destination_problem(
            self,
            {
                "invocation_endpoint": invocation_endpoint,
                "http_method": http_method,
                "invocation_rate_limit_per_second": invocation_rate_limit_per_second,
                "connection_arn": connection_arn,
            },
        )
        if problem:
            raise problem
        return create_destination(
            self,
            name,
            description,
            connection_arn,
            invocation_endpoint,
            invocation_rate_limit_per_second,
            http_method,
        )

    update_destination = backend_cls.update_api_destination

    def checked_update_api_destination(self: Any, name: str, **kwargs: Any) -> Any:
        problem = destination_problem(self, kwargs)
        if problem:
            raise problem
        return update_destination(self, name, **kwargs)

    backend_cls.create_connection = checked_create_connection
    backend_cls.update_connection = checked_update_connection
    backend_cls.create_api_destination = checked_create_api_destination
    backend_cls.update_api_destination = checked_update_api_destination


def install() -> None:
    from moto.events.models import EventsBackend

    put_rule = EventsBackend.put_rule

    def checked_put_rule(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if not NAME.fullmatch(str(name or "")):
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value '{str(name)[:100]}' at 'name' failed to satisfy "
                f"constraint: {PATTERN_RULE}",
            )
        expression = kwargs.get("scheduled_expression")
        if expression:
            problem = schedule_problem(str(expression))
            if problem:
                raise _error("ValidationException", f"Parameter ScheduleExpression is not valid: {problem}")
        return put_rule(self, name, *args, **kwargs)

    put_targets = EventsBackend.put_targets

    def checked_put_targets(
        self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]
    ) -> None:
        for target in targets or []:
            problem = target_problem(target)
            if problem:
                raise _error("ValidationException", problem)
        try:
            bus = self._get_event_bus(self._normalize_event_bus_arn(event_bus_arn))
            rule = bus.rules.get(name)
        except Exception:  # no such bus: moto answers for it
            rule = None
        if rule is not None:
            ids = {t["Id"] for t in rule.targets} | {t.get("Id") for t in targets or []}
            if len(ids) > MAX_TARGETS:
                raise _error(
                    "LimitExceededException",
                    f"The requested resource exceeds the maximum number allowed: rule {name} would have "
                    f"{len(ids)} targets (at most {MAX_TARGETS})",
                )
        return put_targets(self, name, event_bus_arn, targets)

    EventsBackend.put_rule = checked_put_rule
    EventsBackend.put_targets = checked_put_targets
    _checked_connections(EventsBackend)
