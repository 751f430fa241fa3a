"""CloudWatch Logs refuses the names and batches CloudWatch Logs refuses (moto took them: issue 27,
R14B-10). The local cloud's own log shippers (runtime.py's endpoint logs, Lambda's and the API's
access logs) go through these checks too.

CloudWatch Logs API reference: CreateLogGroup, logGroupName "Length Constraints: Minimum length of
1. Maximum length of 512. Pattern: [\\.\\-_/#A-Za-z0-9]+"
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html);
CreateLogStream, "The ':' (colon) and '*' (asterisk) characters are not allowed", 1 to 512
characters (API_CreateLogStream.html); PutLogEvents (API_PutLogEvents.html): "The maximum batch size
is 1,048,576 bytes. This size is calculated as the sum of all event messages in UTF-8, plus 26 bytes
for each log event", "The maximum number of log events in a batch is 10,000", "A batch of log events
in a single request cannot span more than 24 hours", each event at most 1 MB (256 KB before the
quota change; the batch limit bounds it here). All InvalidParameterException, HTTP 400.
"""

from __future__ import annotations

import re
from typing import Any

GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_EVENTS = 10_000
MAX_SPAN_MS = 24 * 3600 * 1000


def _invalid(message: str) -> Exception:
    import sys

    from moto.logs.exceptions import InvalidParameterException

    print(f"[local cloud] REFUSED (CloudWatch Logs InvalidParameterException): {message}", file=sys.stderr)
    return InvalidParameterException(msg=message)


def group_name_problem(name: Any) -> str | None:
    if not GROUP_NAME.fullmatch(str(name or "")):
        return (
            f"1 validation error detected: Value '{str(name)[:100]}' at 'logGroupName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ "
            "(1 to 512 characters)"
        )
    return None


def stream_name_problem(name: Any) -> str | None:
    text = str(name or "")
    if not 1 <= len(text) <= 512 or ":" in text or "*" in text:
        return (
            f"Log stream name {text[:100]!r} is not valid: 1 to 512 characters, and the ':' (colon) and "
            "'*' (asterisk) characters are not allowed"
        )
    return None


def batch_problem(events: list[dict[str, Any]]) -> str | None:
    if len(events) > MAX_BATCH_EVENTS:
        return f"{len(events)} log events in one PutLogEvents request: at most {MAX_BATCH_EVENTS}"
    size = sum(len(str(e.get("message", "")).encode("utf-8")) + EVENT_OVERHEAD_BYTES for e in events)
    if size > MAX_BATCH_BYTES:
        return (
            f"The batch of log events is {size} bytes (messages plus 26 bytes an event): "
            f"at most {MAX_BATCH_BYTES}"
        )
    stamps = [e.get("timestamp") for e in events if isinstance(e.get("timestamp"), int | float)]
    if stamps and max(stamps) - min(stamps) > MAX_SPAN_MS:
        return "The batch of log events in a single PutLogEvents request cannot span more than 24 hours"
    return None


def install() -> None:
    from moto.logs.models import LogsBackend

    create_group = LogsBackend.create_log_group

    def create_log_group(self: Any, log_group_name: str, tags: Any, **kwargs: Any) -> Any:
        problem = group_name_problem(log_group_name)
        if problem:
            raise _invalid(problem)
        return create_group(self, log_group_name, tags, **kwargs)

    create_stream = LogsBackend.create_log_stream

    def create_log_stream(self: Any, log_group_name: str, log_stream_name: str) -> None:
        problem = stream_name_problem(log_stream_name)
        if problem:
            raise _invalid(problem)
        return create_stream(self, log_group_name, log_stream_name)

    put_events = LogsBackend.put_log_events

    def put_log_events(
        self: Any, log_group_name: str, log_stream_name: str, log_events: list[dict[str, Any]]
    ) -> Any:
        problem = batch_problem(log_events or [])
        if problem:
            raise _invalid(problem)
        return put_events(self, log_group_name, log_stream_name, log_events)

    LogsBackend.create_log_group = create_log_group
    LogsBackend.create_log_stream = create_log_stream
    LogsBackend.put_log_events = put_log_events
