"""CloudWatch Logs metric filters that publish metrics, as CloudWatch Logs does.

moto stores metric filters (PutMetricFilter) but never applies them, and appends a second filter
of the same name instead of updating it. With this extension, as on AWS:

- PutMetricFilter creates or updates the filter of that name on the log group ("Creates or updates
  a metric filter", PutMetricFilter API reference), and refuses a pattern this double cannot
  evaluate (rather than publishing nothing, or everything, for it);
- every log event accepted by PutLogEvents is matched against the group's metric filters; a match
  publishes one datum to CloudWatch per filter: the metric value (a number, or a `$.field` of the
  JSON event), the unit, the dimensions (`$.field` values of the event), at the event's timestamp.
  An event whose value field is not a number, or that lacks a dimension field, publishes nothing;
  a filter with a default value publishes it for events that do not match.

The filter pattern syntax implemented ("Filter pattern syntax for metric filters",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html): the empty
pattern (every event); terms and quoted phrases, all of which must occur; JSON patterns
`{ <selector> <op> <value> }` joined by `&&` and `||` with parentheses, where the selector is
`$.a.b` or `$.a[0]`, the operators `=`, `!=`, `>`, `<`, `>=`, `<=` (numbers), `=`/`!=` with a
quoted string (`*` a wildcard), and `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`. Not
implemented (refused at PutMetricFilter): space-delimited `[...]` patterns, `?term` alternatives,
`-term` exclusions and regular expressions.

The CloudWatch Logs user guide, "Creating metrics from log events using filters":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html; the
MetricFilter API reference: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricFilter.html
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Predicate = Callable[[str], bool]
_MISSING = object()


class PatternError(ValueError):
    """A filter pattern this double does not evaluate (or that is malformed)."""


# ---------------------------------------------------------------------------------------------
# Patterns

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<logic>&&|\|\|)
      | (?P<selector>\$(?:\.[A-Za-z_][\w-]*|\[\d+\])+)
      | (?P<op>>=|<=|!=|=|>|<)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<word>IS\s+TRUE|IS\s+FALSE|IS\s+NULL|NOT\s+EXISTS|\*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise PatternError(f"cannot read the JSON filter pattern at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return out


def select(document: Any, selector: str) -> Any:
    """The value at `$.a.b[0]` in a JSON document, or _MISSING."""
    value = document
    for name, index in re.findall(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]", selector):
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparison(selector: str, op: str, kind: str, literal: str) -> Callable[[Any], bool]:
    if kind == "word":  # IS TRUE / IS FALSE / IS NULL / NOT EXISTS (no operator)
        word = " ".join(literal.split())
        checks = {
            "IS TRUE": lambda v: v is True,
            "IS FALSE": lambda v: v is False,
            "IS NULL": lambda v: v is None,
            "NOT EXISTS": lambda v: v is _MISSING,
        }
        check = checks[word]
        return lambda doc: check(select(doc, selector))
    if kind == "string":
        wanted = json.loads(literal)
        if op not in ("=", "!="):
            raise PatternError(f"{selector} {op} {literal}: strings compare with = or != only")

        def string_match(doc: Any) -> bool:
            value = select(doc, selector)
            if value is _MISSING or isinstance(value, dict | list) or value is None:
                return False
            text = json.dumps(value) if not isinstance(value, str) else value
            found = fnmatch.fnmatchcase(text, wanted) if "*" in wanted else text == wanted
            return found if op == "=" else not found

        return string_match
    if kind == "star":  # `= *`: the field exists
        return lambda doc: select(doc, selector) is not _MISSING
    number = float(literal)
    compare = {
        "=": lambda a: a == number,
        "!=": lambda a: a != number,
        ">": lambda a: a > number,
        "<": lambda a: a < number,
        ">=": lambda a: a >= number,
        "<=": lambda a: a <= number,
    }[op]

    def number_match(doc: Any) -> bool:
        value = select(doc, selector)
        return _is_number(value) and compare(value)

    return number_match


def _json_predicate(body: str) -> Predicate:
    tokens = _tokens(body)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise PatternError(f"the JSON filter pattern {{{body}}} ends too early")
        position += 1
        return tokens[position - 1]

    def expression() -> Callable[[Any], bool]:  # or-terms
        terms = [conjunction()]
        while peek() == ("logic", "||"):
            take()
            terms.append(conjunction())
        return terms[0] if len(terms) == 1 else (lambda doc: any(term(doc) for term in terms))

    def conjunction() -> Callable[[Any], bool]:
        terms = [atom()]
        while peek() == ("logic", "&&"):
            take()
            terms.append(atom())
        return terms[0] if len(terms) == 1 else (lambda doc: all(term(doc) for term in terms))

    def atom() -> Callable[[Any], bool]:
        kind, text = take()
        if (kind, text) == ("paren", "("):
            inner = expression()
            if take() != ("paren", ")"):
                raise PatternError(f"unbalanced parentheses in {{{body}}}")
            return inner
        if kind != "selector":
            raise PatternError(f"expected a $.field in {{{body}}}, found {text!r}")
        following = take()
        if following[0] == "word" and following[1] != "*":
            return _comparison(text, "", "word", following[1])
        if following[0] != "op":
            raise PatternError(f"expected an operator after {text} in {{{body}}}")
        value_kind, value = take()
        if value_kind == "word" and value == "*":
            if following[1] != "=":
                raise PatternError(f"{text} {following[1]} *: only = * tests that a field exists")
            return _comparison(text, "=", "star", value)
        if value_kind not in ("string", "number"):
            raise PatternError(f"expected a string or a number after {text} {following[1]} in {{{body}}}")
        return _comparison(text, following[1], value_kind, value)

    predicate = expression()
    if position != len(tokens):
        raise PatternError(f"unexpected {tokens[position][1]!r} in {{{body}}}")

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False  # a JSON pattern matches JSON events only
        return isinstance(document, dict) and bool(predicate(document))

    return matches


def compile_pattern(pattern: str) -> Predicate:
    """A predicate on a log event's message, or PatternError for what is not implemented."""
    text = pattern.strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError(f"filter pattern {pattern!r}: a JSON pattern ends with }}")
        return _json_predicate(text[1:-1])
    if text.startswith("[") or text.startswith("%") or re.search(r"(^|\s)[?-]\S", text):
        raise PatternError(
            f"filter pattern {pattern!r}: space-delimited, regular-expression, ?alternative and "
            "-exclusion patterns are not implemented by the local cloud"
        )
    terms = [json.loads(t) if t.startswith('"') else t for t in re.findall(r'"(?:[^"\\]|\\.)*"|\S+', text)]
    return lambda message: all(term in message for term in terms)


# ---------------------------------------------------------------------------------------------
# Events -> metric data


def datum_for(transformation: dict[str, Any], matched: bool, message: str, timestamp_ms: int) -> dict | None:
    """The MetricData entry one filter publishes for one event, or None."""
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC).replace(tzinfo=None)  # moto: naive UTC
    base = {"MetricName": transformation["metricName"], "Timestamp": when}
    if transformation.get("unit"):
        base["Unit"] = transformation["unit"]
    if not matched:
        default = transformation.get("defaultValue")
        return None if default is None else {**base, "Value": float(default)}
    raw = str(transformation["metricValue"])
    document: Any = None
    if raw.startswith("$"):
        try:
            document = json.loads(message)
        except ValueError:
            return None
        value = select(document, raw)
        if not _is_number(value):
            return None
    else:
        value = float(raw)
    dimensions = []
    for name, selector in sorted((transformation.get("dimensions") or {}).items()):
        if document is None:
            try:
                document = json.loads(message)
            except ValueError:
                return None
        found = select(document, selector)
        if found is _MISSING or found is None or isinstance(found, dict | list):
            return None
        dimensions.append({"Name": name, "Value": found if isinstance(found, str) else json.dumps(found)})
    return {**base, "Value": float(value), **({"Dimensions": dimensions} if dimensions else {})}


def apply(
    account_id: str, region: str, group: str, filters: list[dict[str, Any]], events: list[dict]
) -> None:
    """Publish what the group's metric filters extract from these (accepted) events."""
    from moto.cloudwatch.models import cloudwatch_backends

    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for metric_filter in filters:
        matches = compile_pattern(metric_filter.get("filterPattern") or "")
        for event in events:
            matched = matches(event["message"])
            for transformation in metric_filter["metricTransformations"]:
                datum = datum_for(transformation, matched, event["message"], int(event["timestamp"]))
                if datum is not None:
                    by_namespace.setdefault(transformation["metricNamespace"], []).append(datum)
    backend = cloudwatch_backends[account_id][region]
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), 1000):  # PutMetricData takes at most 1000 entries
            backend.put_metric_data(namespace, data[start : start + 1000])


# ---------------------------------------------------------------------------------------------
# Metric transformations

# MetricTransformation (CloudWatch Logs API reference,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html):
# metricName and metricNamespace "Maximum length of 255. Pattern: [^:*$]*", metricValue "Maximum
# length of 100", dimensions "One metric filter can include as many as three dimensions", unit one of
# CloudWatch's; a default value cannot be given with dimensions ("Publishing dimensions with metrics
# from values in JSON or space-delimited log events", CloudWatch Logs user guide,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html: "you can't
# specify a default value" for a metric filter with dimensions). Refused with InvalidParameterException.
MAX_DIMENSIONS = 3
METRIC_NAME = re.compile(r"[^:*$]{1,255}")
MAX_METRIC_VALUE_CHARS = 100


def transformation_problem(transformation: Any) -> str | None:
    """Why CloudWatch Logs refuses one metric transformation, or None."""
    from textclf.localcloud.alarms import UNITS

    if not isinstance(transformation, dict):
        return "a metric transformation must be an object"
    for key in ("metricName", "metricNamespace"):
        value = transformation.get(key)
        if not (isinstance(value, str) and METRIC_NAME.fullmatch(value)):
            return f"{key} {value!r} is invalid: 1 to 255 characters, none of ':', '*' or '$'"
    value = transformation.get("metricValue")
    if not (isinstance(value, str) and 1 <= len(value) <= MAX_METRIC_VALUE_CHARS):
        return f"metricValue must be 1 to {MAX_METRIC_VALUE_CHARS} characters (a number or a $.field)"
    unit = transformation.get("unit")
    if unit is not None and unit not in UNITS:
        return f"unit {unit!r} is not a CloudWatch unit (Seconds, Bytes, Count, Percent, ..., None)"
    dimensions = transformation.get("dimensions") or {}
    if not isinstance(dimensions, dict):
        return "dimensions must map dimension names to $.fields of the log event"
    if len(dimensions) > MAX_DIMENSIONS:
        return (
            f"the metric transformation has {len(dimensions)} dimensions: one metric filter can include as "
            f"many as {MAX_DIMENSIONS}"
        )
    if dimensions and transformation.get("defaultValue") is not None:
        return "a metric filter with dimensions cannot have a defaultValue: remove one of them"
    return None


# ---------------------------------------------------------------------------------------------
# The patches


def install() -> None:
    """Patch moto's CloudWatch Logs backend; called once before the local cloud starts."""
    from moto.logs.exceptions import InvalidParameterException
    from moto.logs.models import LogsBackend

    original_put_filter = LogsBackend.put_metric_filter
    original_put_events = LogsBackend.put_log_events

    def put_metric_filter(
        self: Any, filter_name: str, filter_pattern: str, log_group_name: str, metric_transformations: Any
    ) -> None:
        try:
            compile_pattern(filter_pattern or "")
        except PatternError as error:
            raise InvalidParameterException(msg=str(error)) from None
        for transformation in metric_transformations if isinstance(metric_transformations, list) else []:
            problem = transformation_problem(transformation)
            if problem:
                raise InvalidParameterException(msg=f"metric filter {filter_name}: {problem}")
        self.filters.delete_filter(filter_name, log_group_name)  # update in place, as AWS does
        original_put_filter(self, filter_name, filter_pattern, log_group_name, metric_transformations)

    def put_log_events(
        self: Any, log_group_name: str, log_stream_name: str, log_events: list[dict[str, Any]]
    ) -> Any:
        result = original_put_events(self, log_group_name, log_stream_name, log_events)
        filters = self.filters.get_matching_filters(log_group_name=log_group_name)
        if filters:
            now = datetime.now(UTC)
            oldest = (now - timedelta(days=14)).timestamp() * 1000
            newest = (now + timedelta(hours=2)).timestamp() * 1000
            accepted = [event for event in log_events if oldest <= event["timestamp"] <= newest]
            apply(self.account_id, self.region_name, log_group_name, filters, accepted)
        return result

    LogsBackend.put_metric_filter = put_metric_filter  # type: ignore[method-assign]
    LogsBackend.put_log_events = put_log_events  # type: ignore[method-assign]
    _order_dimensions()


def _order_dimensions() -> None:
    """Metrics of two dimensions (Label and ModelVersion), as CloudWatch treats them: GetMetricData
    compares a metric's dimensions with the query's after sorting both, and moto's Dimension orders
    by `name < other.name and value < other.name`, so a query matched only in some orders; and
    ListMetrics lists each metric once."""
    from moto.cloudwatch import models
    from moto.cloudwatch.models import Dimension

    def less_than(self: Any, other: Any) -> bool:
        return (self.name or "", self.value or "") < (other.name or "", other.value or "")

    def same_dimensions(first: list[Any], second: list[Any]) -> bool:
        """moto's version compares every dimension with every other one, so two metrics of two
        dimensions were never the same: ListMetrics listed one metric per data point."""
        return sorted((d.name, d.value) for d in first) == sorted((d.name, d.value) for d in second)

    Dimension.__lt__ = less_than  # type: ignore[method-assign]
    models.are_dimensions_same = same_dimensions
