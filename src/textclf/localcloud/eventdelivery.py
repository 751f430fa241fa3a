"""EventBridge what moto lacks: alarm state changes as events, and API destination targets that
really deliver.

- A CloudWatch alarm that changes state (evaluated from its metric by textclf.localcloud.alarms, or
  set with SetAlarmState) puts a "CloudWatch Alarm State Change" event on the default event bus,
  source `aws.cloudwatch`, the alarm's ARN in `resources`, `detail.alarmName`, `detail.state`
  (`value`, `reason`, `timestamp`) and `detail.previousState` ("Alarm events and EventBridge",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
- A rule's target that is an API destination is called as EventBridge calls it: as the target's
  role (trusted by `events.amazonaws.com` and allowed `events:InvokeApiDestination` on the
  destination, checked like every call here), with the connection's API key header and invocation
  HTTP parameters, the destination's method and the body made by the target's input transformer
  (a string placed outside quotes is inserted as a JSON string, inside quotes as its text:
  "Amazon EventBridge input transformation", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
  moto sends no body and no authorization (and only with MOTO_EVENTS_INVOKE_HTTP).
- The local cloud reaches no internet: a destination URL is called only when a prefix of it is
  mapped to a local server (`api_destination_hosts`, e.g. {"https://api.github.com":
  "http://127.0.0.1:PORT"}; env TEXTCLF_LOCALCLOUD_API_DESTINATIONS as JSON, or POST JSON to
  /moto-api/textclf/events). Otherwise, or when the call fails or the role may not make it, the
  invocation counts as failed: `AWS/Events` `FailedInvocations` with the rule's name, as the
  monitoring alarms read it; a delivered one counts in `Invocations`. Every attempt is kept in
  DELIVERIES (newest last) for the tests.

Not modelled: retries with backoff, dead-letter queues of API destination targets, rate limits,
OAuth and Basic connections.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

CONTROL_PATH = "/moto-api/textclf/events"
DELIVERIES: list[dict[str, Any]] = []
ALARM_EVENTS: list[dict[str, Any]] = []  # the state-change events put (or why not), newest last
_lock = threading.Lock()


def _defaults() -> dict[str, Any]:
    return {
        "api_destination_hosts": json.loads(os.environ.get("TEXTCLF_LOCALCLOUD_API_DESTINATIONS") or "{}")
    }


SETTINGS: dict[str, Any] = _defaults()


# ---------------------------------------------------------------------------------------------
# Input transformation


def _lookup(event: Any, path: str) -> Any:
    """A JSON path of the simple form `$.a.b` (what input_paths use), or None."""
    value = event
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def transform(template: str | None, paths: dict[str, str] | None, event: dict[str, Any]) -> str:
    """The body an input transformer makes of an event (no template: the whole event)."""
    if not template:
        return json.dumps(event)
    values = {name: _lookup(event, path) for name, path in (paths or {}).items()}
    out, in_string, index = [], False, 0
    while index < len(template):
        char = template[index]
        if char == "\\" and in_string:
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        if char == "<":
            end = template.find(">", index)
            name = template[index + 1 : end] if end > 0 else ""
            if name in values:
                value = values[name]
                if in_string:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                index = end + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Delivery


def _local_url(url: str) -> str | None:
    for prefix, local in SETTINGS["api_destination_hosts"].items():
        if url.startswith(prefix):
            return local.rstrip("/") + url[len(prefix) :]
    return None


def _count(account_id: str, region: str, rule: str, failed: bool) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    datum = {
        "MetricName": "FailedInvocations" if failed else "Invocations",
        "Value": 1.0,
        "Unit": "Count",
        "Dimensions": [{"Name": "RuleName", "Value": rule}],
    }
    cloudwatch_backends[account_id][region].put_metric_data("AWS/Events", [datum])


def deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Call one API destination target for one event; the record of the attempt."""
    from moto.events.models import events_backends

    from textclf.localcloud import iam

    account_id, region = rule.account_id, rule.region_name
    if isinstance(event.get("time"), int | float):  # moto keeps a number; EventBridge sends ISO 8601
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    backend = events_backends[account_id][region]
    destination_arn = target["Arn"]
    record: dict[str, Any] = {"rule": rule.name, "target": target.get("Id"), "destination": destination_arn}
    try:
        destination = backend.destinations[destination_arn.split(":api-destination/")[1].split("/")[0]]
        role = target.get("RoleArn")
        if not role:
            raise PermissionError("an API destination target needs a role (RoleArn)")
        credentials = iam.service_session(role, "events.amazonaws.com", f"events-{rule.name}")
        iam.check(iam.session_principal(credentials), "events:InvokeApiDestination", destination.arn, region)
        connection = backend.connections[destination.connection_arn.split(":connection/")[1].split("/")[0]]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        parameters = connection.auth_parameters or {}
        for header in (parameters.get("InvocationHttpParameters") or {}).get("HeaderParameters") or []:
            headers[header["Key"]] = header["Value"]
        api_key = parameters.get("ApiKeyAuthParameters") or {}
        if api_key.get("ApiKeyName"):
            headers[api_key["ApiKeyName"]] = api_key.get("ApiKeyValue", "")
        transformer = target.get("InputTransformer") or {}
        body = transform(transformer.get("InputTemplate"), transformer.get("InputPathsMap"), event)
        record |= {"url": destination.invocation_endpoint, "body": body}
        url = _local_url(destination.invocation_endpoint)
        if url is None:
            raise ConnectionError(
                f"{destination.invocation_endpoint} is outside the local cloud: "
                "map it with api_destination_hosts"
            )
        request = urllib.request.Request(
            url, data=body.encode("utf-8"), method=destination.http_method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            record["status"] = response.status
    except urllib.error.HTTPError as error:
        record["status"], record["error"] = error.code, error.read().decode("utf-8", "replace")[:500]
    except Exception as error:  # the invocation fails; EventBridge counts it, the rule goes on
        record["error"] = f"{type(error).__name__}: {error}"
    failed = not (200 <= int(record.get("status") or 0) < 300)
    _count(account_id, region, rule.name, failed)
    with _lock:
        DELIVERIES.append(record)
    return record


# ---------------------------------------------------------------------------------------------
# Alarm state changes -> events


def alarm_event(alarm: Any, previous: tuple[str, str], account_id: str) -> dict[str, Any]:
    """The PutEvents entry of a "CloudWatch Alarm State Change"."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "+0000")
    detail = {
        "alarmName": alarm.name,
        "state": {"value": alarm.state_value, "reason": alarm.state_reason, "timestamp": now},
        "previousState": {"value": previous[0], "reason": previous[1]},
        "configuration": {"description": alarm.description or ""},
    }
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Resources": [alarm.alarm_arn],
        "Detail": json.dumps(detail),
        "EventBusName": "default",
    }


# ---------------------------------------------------------------------------------------------
# The patches


def install() -> None:
    """Patch moto's alarm state updates and EventBridge targets; called before the server starts."""
    from moto.cloudwatch.models import Alarm
    from moto.events.models import Rule, events_backends
    from moto.moto_api._internal import urls as moto_api_urls
    from moto.moto_api._internal.models import MotoAPIBackend

    original_update = Alarm.update_state
    original_send = Rule.send_to_targets

    def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
        previous = (self.state_value, self.state_reason)
        original_update(self, reason, reason_data, state_value)
        if previous[0] == state_value:
            return
        account_id = self.alarm_arn.split(":")[4]
        try:
            entries = events_backends[account_id][self.region_name].put_events(
                [alarm_event(self, previous, account_id)]
            )
            ALARM_EVENTS.append({"alarm": self.name, "state": state_value, "entries": entries})
        except Exception as error:  # an event that cannot be put is lost; the alarm's state stands
            ALARM_EVENTS.append({"alarm": self.name, "state": state_value, "error": repr(error)})

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        # A scheduled rule without a pattern runs on its schedule; it matches no event (moto's empty
        # pattern matches every event).
        if not self.event_pattern.get_pattern() and self.scheduled_expression:
            return
        if self.state != "ENABLED" or not self.event_pattern.matches_event(event):
            return
        for target in self.targets:
            if ":api-destination/" in target["Arn"]:
                deliver(self, target, dict(event))
                continue
            everything = self.targets
            self.targets = [target]  # moto's delivery, one target at a time
            try:
                original_send(self, event, transform_input)
            except NotImplementedError as error:  # a target kind moto does not deliver (Lambda)
                with _lock:
                    DELIVERIES.append({"rule": self.name, "target": target.get("Id"), "error": repr(error)})
            finally:
                self.targets = everything

    Alarm.update_state = update_state  # type: ignore[method-assign]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]

    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        original_reset(self)
        SETTINGS.clear()
        SETTINGS.update(_defaults())
        with _lock:
            DELIVERIES.clear()
            ALARM_EVENTS.clear()

    MotoAPIBackend.reset = reset
    moto_api_urls.url_paths["{0}" + CONTROL_PATH] = control


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET: the settings and the deliveries. POST {"api_destination_hosts": {...}} to change them."""
    if request.method == "POST":
        try:
            changes = json.loads(request.data or b"{}")
            if not isinstance(changes, dict):  # a list or a string: `changes.get` was an HTML 500
                raise ValueError('send a JSON object, e.g. {"api_destination_hosts": {}}')
            unknown = set(changes) - set(SETTINGS)
            hosts = changes.get("api_destination_hosts", {})
            if unknown or not isinstance(hosts, dict):
                raise ValueError(f"known settings: {sorted(SETTINGS)} (api_destination_hosts: an object)")
        except (ValueError, TypeError, RecursionError) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)})
        SETTINGS.update(changes)
    with _lock:
        state = {**SETTINGS, "deliveries": list(DELIVERIES)}
    return 200, {"Content-Type": "application/json"}, json.dumps(state)
