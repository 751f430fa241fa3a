"""CloudWatch metric alarms that change state from their metrics, as CloudWatch evaluates them.

moto stores alarms and metric data but never evaluates an alarm: its state stays what it was
created with or what SetAlarmState wrote. Here an alarm is evaluated when it is read
(DescribeAlarms), from the data points of its metric, the way the CloudWatch user guide's "Using
Amazon CloudWatch alarms" describes it:

- the last `EvaluationPeriods` periods of `Period` seconds, ending now; each period's statistic
  (Sum, Average, Minimum, Maximum, SampleCount, or a percentile `pNN`) compared with the threshold
  by the alarm's comparison operator;
- ALARM when at least `DatapointsToAlarm` (default: all `EvaluationPeriods`) periods breach; a
  period without data is treated as `TreatMissingData` says (missing, the default, and ignore keep
  the state when no period has data; notBreaching counts it as good; breaching as bad);
- a state written by SetAlarmState stands until the next evaluation: CloudWatch evaluates alarms
  about once a minute ("SetAlarmState": "the alarm state returns to its actual state ... the next
  time the alarm is evaluated"), so a state younger than `EVALUATION_INTERVAL_S` is kept;
- a change of state publishes the alarm's actions (SNS topics) with the alarm's JSON;
- DescribeAlarms returns `StateTransitionedTimestamp`, "the date and time that the alarm's
  StateValue most recently changed" (MetricAlarm, CloudWatch API reference,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html), which moto
  lacks: `StateUpdatedTimestamp` also moves when SetAlarmState writes the state the alarm is already
  in, so only the transition time tells an alarm that fired again from one still in ALARM.

Not modelled: metric math alarms, anomaly detection, composite alarms, M-of-N across
non-consecutive evaluations, and `EvaluateLowSampleCountPercentile`.

moto also takes what CloudWatch refuses, so a setting that fails on AWS applied here (issue 27,
R13B-6); refused here as CloudWatch does, before moto stores anything (`refuse_alarm`,
`refuse_metric_data`): an alarm's Period other than 10, 20, 30 or a multiple of 60, a total
evaluation period (Period x EvaluationPeriods) over seven days, or over one day with a Period under
an hour, DatapointsToAlarm above EvaluationPeriods; metric data in a namespace beginning with
`AWS/`, a value that is not finite or outside -2^360..2^360, a time stamp more than two weeks back
or two hours ahead. The data the local cloud publishes itself (SageMaker's invocation metrics,
metric filters, EventBridge) goes to the backend directly, as AWS's services do.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

EVALUATION_INTERVAL_S = 60.0

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"p(\d{1,2}(\.\d{1,10})?|100)")


def statistic(values: list[float], name: str) -> float:
    """One period's statistic over its data points (percentiles by nearest rank)."""
    if name == "Sum":
        return sum(values)
    if name == "Average":
        return sum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    if name == "SampleCount":
        return float(len(values))
    if name.startswith("p"):
        ordered = sorted(values)
        return ordered[max(0, math.ceil(float(name[1:]) / 100 * len(ordered)) - 1)]
    raise ValueError(f"statistic {name!r} is not evaluated by the local cloud")


def _matches(datum: Any, alarm: Any) -> bool:
    if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
        return False
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    return {(d.name, d.value) for d in datum.dimensions} == wanted


def _values(datum: Any) -> list[float]:
    value = getattr(datum, "value", None)
    return [float(value)] if isinstance(value, int | float) else []


def evaluate(alarm: Any, data: list[Any], now: datetime) -> tuple[str, str] | None:
    """The state (and its reason) the alarm's metric data says, or None to keep the current one."""
    if alarm.rule is not None or not alarm.metric_name or alarm.metric_data_queries:
        return None
    name = alarm.extended_statistic or alarm.statistic
    if alarm.comparison_operator not in _COMPARE or not (
        name in STATISTICS or PERCENTILE.fullmatch(str(name))
    ):
        return None  # an anomaly band or a statistic not modelled: the state stays what it was
    period = timedelta(seconds=int(alarm.period))
    periods: list[list[float]] = []
    for index in range(int(alarm.evaluation_periods)):
        end = now - index * period
        start = end - period
        periods.append(
            [v for d in data if _matches(d, alarm) and start <= _aware(d.timestamp) < end for v in _values(d)]
        )
    compare = _COMPARE[alarm.comparison_operator]
    breaching = [compare(statistic(values, name), float(alarm.threshold)) for values in periods if values]
    missing = len(periods) - len(breaching)
    treat = alarm.treat_missing_data or "missing"
    if not breaching and treat in ("missing", "ignore"):
        return None
    bad = sum(breaching) + (missing if treat == "breaching" else 0)
    needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
    figures = [round(statistic(values, name), 3) for values in periods if values]
    if bad >= needed:
        return "ALARM", f"Threshold Crossed: {bad} of {len(periods)} periods breaching ({name} {figures})"
    return "OK", f"Threshold not crossed: {bad} of {len(periods)} periods breaching ({name} {figures})"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def refresh(backend: Any, alarms: list[Any]) -> None:
    """Evaluate these alarms now; publish the actions of those whose state changed."""
    now = datetime.now(UTC)
    data = backend.get_all_metrics()
    for alarm in alarms:
        if (now - _aware(alarm.state_updated_timestamp)).total_seconds() < EVALUATION_INTERVAL_S:
            continue
        found = evaluate(alarm, data, now)
        if found is None or found[0] == alarm.state_value:
            continue
        state, reason = found
        alarm.update_state(reason, json.dumps({"evaluatedAt": now.isoformat()}), state)
        _notify(backend, alarm)


def _notify(backend: Any, alarm: Any) -> None:
    from moto.sns.models import sns_backends

    actions = alarm.alarm_actions if alarm.state_value == "ALARM" else alarm.ok_actions
    if not alarm.actions_enabled:
        return
    message = json.dumps(
        {
            "AlarmName": alarm.name,
            "NewStateValue": alarm.state_value,
            "NewStateReason": alarm.state_reason,
        }
    )
    for arn in actions or []:
        if not arn.startswith("arn:aws:sns:"):
            continue
        region = arn.split(":")[3]
        try:
            sns_backends[backend.account_id][region].publish(message, arn=arn, subject="ALARM")
        except Exception:  # a missing topic loses the notification, as in AWS
            continue


# PutMetricAlarm, Period: "Valid values are 10, 20, 30, and any multiple of 60 ... An alarm's total
# current evaluation period can be no longer than seven days, so Period multiplied by
# EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than one
# hour (3,600 seconds), the total evaluation period can't be longer than one day (86,400 seconds)"
# (CloudWatch API reference, PutMetricAlarm,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
MAX_EVALUATION_S = 7 * 86_400
MAX_EVALUATION_SHORT_PERIOD_S = 86_400
# PutMetricData: "Values must be in the range of -2^360 to 2^360. In addition, special values (for
# example, NaN, +Infinity, -Infinity) are not supported"; "time stamps that are as much as two weeks
# before the current date, and as much as 2 hours after the current day and time" (CloudWatch API
# reference, PutMetricData, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html);
# Namespace: "You cannot specify a namespace that begins with "AWS/". Namespaces that begin with
# "AWS/" are reserved for other Amazon Web Services products" (its earlier text; today's says "you
# should not"): refused here, so a metric the project publishes never lands among AWS's own.
MAX_METRIC_VALUE = 2.0**360
MAX_DATUM_AGE = timedelta(days=14)
MAX_DATUM_AHEAD = timedelta(hours=2)
# PutMetricData's other rules (CloudWatch API reference, PutMetricData, MetricDatum and Dimension,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html): Namespace
# "Length Constraints: Minimum length of 1. Maximum length of 255. Pattern: [^:].*"; "Each request is
# also limited to no more than 1000 different metrics"; MetricName 1-255 characters; Dimensions
# "Maximum number of 30 items", a Dimension's Name 1-255 and Value 1-1024 characters (one value per
# name); Unit "Valid Values: Seconds | Microseconds | ... | None"; StorageResolution "Valid values are
# 1 and 60"; Values "up to 150 values per metric", Counts as many as Values; Value and
# StatisticValues not together; a StatisticSet's Minimum not above its Maximum, its SampleCount above 0.
MAX_NAME_CHARS = 255
MAX_METRICS_PER_REQUEST = 1000
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE_CHARS = 1024
MAX_VALUES = 150
STORAGE_RESOLUTIONS = (1, 60)
UNITS = frozenset(
    """Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits
    Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second
    Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second
    Terabits/Second Count/Second None""".split()  # noqa: SIM905  (the reference's list, as it reads)
)


def refuse_alarm(period: Any, evaluation_periods: Any, datapoints_to_alarm: Any) -> None:
    """Raise CloudWatch's ValidationError for an alarm CloudWatch would not create."""
    from moto.cloudwatch.exceptions import ValidationError

    try:
        period, evaluations = int(period), int(evaluation_periods)
    except (TypeError, ValueError):
        return  # absent (a metric math alarm sets its periods in Metrics): moto checks what is required
    if period not in HIGH_RESOLUTION_PERIODS and (period <= 0 or period % 60):
        raise ValidationError(f"Period {period} is not valid: use 10, 20, 30 or a multiple of 60 seconds")
    total = period * evaluations
    if total > MAX_EVALUATION_S:
        raise ValidationError(
            f"Period x EvaluationPeriods is {total} s: an alarm evaluates at most seven days "
            f"({MAX_EVALUATION_S} s)"
        )
    if period < 3600 and total > MAX_EVALUATION_SHORT_PERIOD_S:
        raise ValidationError(
            f"Period x EvaluationPeriods is {total} s: with a Period under an hour an alarm evaluates at "
            f"most one day ({MAX_EVALUATION_SHORT_PERIOD_S} s)"
        )
    if isinstance(datapoints_to_alarm, int) and datapoints_to_alarm > evaluations:
        raise ValidationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods")


# PutMetricAlarm's other rules (CloudWatch API reference, PutMetricAlarm,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html):
# ComparisonOperator "Valid Values: GreaterThanOrEqualToThreshold | GreaterThanThreshold |
# LessThanThreshold | LessThanOrEqualToThreshold | LessThanLowerOrGreaterThanUpperThreshold |
# LessThanLowerThreshold | GreaterThanUpperThreshold" (the last three "used only for alarms based on
# anomaly detection models", with ThresholdMetricId); Statistic "Valid Values: SampleCount | Average |
# Sum | Minimum | Maximum"; a metric alarm gives exactly one of Statistic and ExtendedStatistic, a
# metric math alarm Metrics instead of MetricName, Namespace, Statistic and ExtendedStatistic;
# TreatMissingData "Valid Values: breaching | notBreaching | ignore | missing" (user guide, "Configuring
# how CloudWatch alarms treat missing data"); AlarmActions, OKActions and InsufficientDataActions
# "Maximum number of 5 items", each the ARN of an SNS topic, a Lambda function, an EC2 action
# (automate, swf), an Auto Scaling policy or a Systems Manager OpsItem / Incident Manager plan.
ANOMALY_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
MAX_ACTIONS = 5
ACTION_ARN = re.compile(r"arn:aws[a-z-]*:(sns|lambda|automate|swf|autoscaling|ssm|ssm-incidents):[^\s]*:.+")


def _expression_problem(expression: str) -> str | None:
    """Why a metric math expression cannot parse (balanced parentheses and quotes), or None."""
    depth, quoted = 0, False
    for character in expression:
        if character == '"':
            quoted = not quoted
        elif not quoted and character == "(":
            depth += 1
        elif not quoted and character == ")":
            depth -= 1
            if depth < 0:
                break
    if not expression.strip() or depth or quoted:
        return f"the expression {expression!r} does not parse (unbalanced parentheses or quotes)"
    return None


def metrics_problem(metrics: Any) -> str | None:
    """Why CloudWatch refuses a metric math alarm's Metrics (ValidationError), or None: "Exactly one
    element of the metrics list should return data" (PutMetricAlarm, Metrics: "You designate this
    expression by setting ReturnData to true for this object in the array ... For all other metrics and
    expressions in the same PutMetricAlarm operation, specify ReturnData as False"); each element one
    of MetricStat and Expression, its Id as GetMetricData's, its expression one that parses."""
    if not isinstance(metrics, list):
        return None
    returning = [m for m in metrics if isinstance(m, dict) and m.get("ReturnData") is not False]
    if len(returning) != 1:
        return f"Exactly one element of the metrics list should return data (got {len(returning)})"
    for number, metric in enumerate(metrics, start=1):
        if not isinstance(metric, dict):
            continue
        metric_id = metric.get("Id")
        if not (isinstance(metric_id, str) and QUERY_ID.fullmatch(metric_id)):
            return f"Metrics.member.{number}.Id {metric_id!r} is invalid: begin with a lowercase letter"
        if ("MetricStat" in metric) == ("Expression" in metric):
            return f"Metrics.member.{number} must give exactly one of MetricStat and Expression"
        if isinstance(metric.get("Expression"), str):
            problem = _expression_problem(metric["Expression"])
            if problem:
                return f"Metrics.member.{number}: {problem}"
    return None


def alarm_problem(params: dict[str, Any]) -> str | None:
    """Why CloudWatch refuses a PutMetricAlarm request (ValidationError), beyond its periods, or None."""
    operator = params.get("ComparisonOperator")
    if operator is not None and operator not in (*_COMPARE, *ANOMALY_OPERATORS):
        known = ", ".join((*_COMPARE, *ANOMALY_OPERATORS))
        return f"ComparisonOperator {operator!r} is invalid: use one of {known}"
    if operator in ANOMALY_OPERATORS and not params.get("ThresholdMetricId"):
        return f"ComparisonOperator {operator} is for anomaly detection: give ThresholdMetricId and Metrics"
    statistic_name, extended = params.get("Statistic"), params.get("ExtendedStatistic")
    if statistic_name is not None and statistic_name not in STATISTICS:
        return f"Statistic {statistic_name!r} is invalid: use {', '.join(STATISTICS)} (or ExtendedStatistic)"
    if params.get("Metrics"):
        for key in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic"):
            if params.get(key) is not None:
                return f"{key} cannot be given with Metrics: a metric math alarm sets them in Metrics"
        problem = metrics_problem(params["Metrics"])
        if problem:
            return problem
    elif (statistic_name is None) == (extended is None):
        return "A metric alarm gives exactly one of Statistic and ExtendedStatistic (or Metrics)"
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING_DATA:
        return f"TreatMissingData {treat!r} is invalid: use one of {', '.join(TREAT_MISSING_DATA)}"
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        actions = params.get(key) or []
        if not isinstance(actions, list):
            continue
        if len(actions) > MAX_ACTIONS:
            return f"{key} has {len(actions)} actions: at most {MAX_ACTIONS}"
        for action in actions:
            if not (isinstance(action, str) and ACTION_ARN.fullmatch(action)):
                return (
                    f"Invalid {key} {action!r}: an action is the ARN of an SNS topic, a Lambda function, an "
                    "EC2 action, an Auto Scaling policy or a Systems Manager OpsItem or response plan"
                )
    return None


# DescribeAlarms (CloudWatch API reference,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html): AlarmNames
# "Maximum number of 100 items", each "Minimum length of 1. Maximum length of 255"; AlarmNamePrefix
# 1-255 characters; StateValue "Valid Values: OK | ALARM | INSUFFICIENT_DATA"; MaxRecords 1-100.
# Past them CloudWatch answers ValidationError; moto answered "no such alarm", so `bake --alarms` with
# 200 names or a name of 300 characters looked like alarms that do not exist.
MAX_ALARM_NAMES = 100
STATE_VALUES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def describe_alarms_problem(params: dict[str, Any]) -> str | None:
    """Why CloudWatch refuses a DescribeAlarms request (ValidationError), or None."""
    names = params.get("AlarmNames") or []
    if isinstance(names, list):
        if len(names) > MAX_ALARM_NAMES:
            return f"AlarmNames has {len(names)} names: DescribeAlarms takes at most {MAX_ALARM_NAMES}"
        for name in names:
            if not (isinstance(name, str) and 1 <= len(name) <= MAX_NAME_CHARS):
                return (
                    f"AlarmNames: each name is 1 to {MAX_NAME_CHARS} characters (got {str(name)[:60]!r}...)"
                )
    prefix = params.get("AlarmNamePrefix")
    if prefix is not None and not (isinstance(prefix, str) and 1 <= len(prefix) <= MAX_NAME_CHARS):
        return f"AlarmNamePrefix must be 1 to {MAX_NAME_CHARS} characters"
    state = params.get("StateValue")
    if state is not None and state not in STATE_VALUES:
        return f"StateValue {state!r} is invalid: use one of {', '.join(STATE_VALUES)}"
    records = params.get("MaxRecords")
    if records is not None and not (isinstance(records, int) and 1 <= records <= 100):
        return f"MaxRecords {records!r} is invalid: 1 to 100"
    return None


# Reading metrics (CloudWatch API reference, GetMetricStatistics,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html, and
# GetMetricData / MetricDataQuery / MetricStat,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html): a
# Period of 1, 5, 10, 20, 30, 60 or a multiple of 60 seconds; Statistics "Minimum number of 1 item.
# Maximum number of 5 items" of SampleCount | Average | Sum | Minimum | Maximum, ExtendedStatistics
# at most 10; "A single request can include up to 1,440 data points"; a query Id "Valid characters are
# letters, numbers, and underscore. The first character must be a lowercase letter", at most 500
# queries, a Stat that is a statistic or an extended statistic (pNN, tmNN, ...). moto answered them all
# with empty results, so a query that fails on AWS read "no data" here.
READ_PERIODS = (1, 5, 10, 20, 30)
MAX_DATAPOINTS = 1440
MAX_QUERIES = 500
QUERY_ID = re.compile(r"[a-z][A-Za-z0-9_]{0,254}")
EXTENDED_STATISTIC = re.compile(
    r"(p|tm|wm|tc|ts)(\d{1,2}(\.\d{1,10})?|100)|(TM|WM|TC|TS|PR)\([^()]*\)|IQM", re.IGNORECASE
)


def _period_problem(where: str, period: Any) -> str | None:
    if not isinstance(period, int) or isinstance(period, bool):
        return None  # absent: moto's checks answer
    if period in READ_PERIODS or (period > 0 and period % 60 == 0):
        return None
    return f"The parameter {where} {period} is invalid: use 1, 5, 10, 20, 30 or a multiple of 60 seconds"


def metric_statistics_problem(params: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, message) CloudWatch answers a GetMetricStatistics request with, or None."""
    problem = _period_problem("Period", params.get("Period"))
    if problem:
        return "InvalidParameterValue", problem
    statistics = params.get("Statistics") or []
    if len(statistics) > 5 or any(name not in STATISTICS for name in statistics):
        return "InvalidParameterValue", f"Statistics {statistics!r}: at most 5 of {', '.join(STATISTICS)}"
    extended = params.get("ExtendedStatistics") or []
    if len(extended) > 10 or not all(
        isinstance(e, str) and EXTENDED_STATISTIC.fullmatch(e) for e in extended
    ):
        return "InvalidParameterValue", f"ExtendedStatistics {extended!r}: at most 10 percentiles such as p99"
    start, end, period = (
        _moment(params.get("StartTime")),
        _moment(params.get("EndTime")),
        params.get("Period"),
    )
    if start and end and isinstance(period, int) and period > 0:
        points = math.ceil((end - start).total_seconds() / period)
        if points > MAX_DATAPOINTS:
            return (
                "InvalidParameterCombination",
                f"You have requested up to {points} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
                "Increase Period or shorten the time range.",
            )
    return None


def metric_data_problem(queries: Any) -> str | None:
    """Why CloudWatch refuses GetMetricData's MetricDataQueries (InvalidParameterValue), or None."""
    if not isinstance(queries, list):
        return None
    if len(queries) > MAX_QUERIES:
        return f"MetricDataQueries has {len(queries)} queries: at most {MAX_QUERIES}"
    for number, query in enumerate(queries, start=1):
        if not isinstance(query, dict):
            continue
        where = f"MetricDataQueries.member.{number}"
        query_id = query.get("Id")
        if not (isinstance(query_id, str) and QUERY_ID.fullmatch(query_id)):
            return (
                f"The value {query_id!r} for parameter {where}.Id is invalid: letters, digits and '_', "
                "beginning with a lowercase letter"
            )
        stat = query.get("MetricStat")
        if isinstance(stat, dict):
            problem = _period_problem(f"{where}.MetricStat.Period", stat.get("Period"))
            if problem:
                return problem
            name = stat.get("Stat")
            if not (name in STATISTICS or (isinstance(name, str) and EXTENDED_STATISTIC.fullmatch(name))):
                return f"The value {name!r} for parameter {where}.MetricStat.Stat is invalid: Sum, p99, ..."
    return None


# PutDashboard (CloudWatch API reference,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html, and "Dashboard
# Body Structure and Syntax", https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
# DashboardName "can contain only alphanumerics, dash (-) and underscore (_)", up to 255; the body a
# JSON object whose widgets each have a type of metric, text, log, alarm, explorer or custom, a width
# of 1 to 24 and a height of 1 to 1000 grid units. Refused: DashboardInvalidInputError
# (InvalidParameterInput, 400).
DASHBOARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")


def dashboard_problem(name: Any, body: Any) -> str | None:
    """Why CloudWatch refuses a PutDashboard request, or None."""
    if not (isinstance(name, str) and DASHBOARD_NAME.fullmatch(name)):
        return f"DashboardName {str(name)[:80]!r} is invalid: letters, digits, '-' and '_' (at most 255)"
    try:
        document = json.loads(body) if isinstance(body, str) else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return "The dashboard body is not a JSON object"
    widgets = document.get("widgets", [])
    if not isinstance(widgets, list):
        return "The dashboard body's widgets must be a list"
    for number, widget in enumerate(widgets):
        if not isinstance(widget, dict) or widget.get("type") not in WIDGET_TYPES:
            kind = widget.get("type") if isinstance(widget, dict) else widget
            return f"widgets[{number}].type {kind!r} is invalid: one of {', '.join(WIDGET_TYPES)}"
        for key, low, high in (("width", 1, 24), ("height", 1, 1000), ("x", 0, 23), ("y", 0, None)):
            value = widget.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or value < low or (high is not None and value > high):
                return f"widgets[{number}].{key} {value!r} is invalid: {low} to {high or 'any'}"
    return None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _dimensions_problem(dimensions: Any) -> str | None:
    dimensions = dimensions if isinstance(dimensions, list) else []
    if len(dimensions) > MAX_DIMENSIONS:
        return f"Dimensions has {len(dimensions)} dimensions: a metric takes at most {MAX_DIMENSIONS}"
    names: set[str] = set()
    for index, dimension in enumerate(dimensions, start=1):
        name = dimension.get("Name") if isinstance(dimension, dict) else None
        value = dimension.get("Value") if isinstance(dimension, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
            return f"Dimensions.member.{index}.Name must be 1 to {MAX_NAME_CHARS} characters"
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_DIMENSION_VALUE_CHARS:
            return f"Dimensions.member.{index}.Value must be 1 to {MAX_DIMENSION_VALUE_CHARS} characters"
        if name in names:
            return f"Dimensions names the dimension {name} twice: give each dimension one value"
        names.add(name)
    return None


def _statistics_problem(statistics: Any) -> str | None:
    if not isinstance(statistics, dict):
        return None
    missing = [
        key for key in ("SampleCount", "Sum", "Minimum", "Maximum") if _number(statistics.get(key)) is None
    ]
    if missing:
        return f"StatisticValues.{missing[0]} is required in a statistic set"
    if _number(statistics["SampleCount"]) <= 0:  # type: ignore[operator]
        return "StatisticValues.SampleCount must be greater than 0"
    if _number(statistics["Minimum"]) > _number(statistics["Maximum"]):  # type: ignore[operator]
        return "StatisticValues.Minimum must not be greater than StatisticValues.Maximum"
    return None


def datum_problem(datum: dict[str, Any]) -> str | None:
    """What CloudWatch refuses in one MetricDatum (after `MetricData.member.N.`), or None."""
    name = datum.get("MetricName")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
        return f"MetricName must be 1 to {MAX_NAME_CHARS} characters"
    problem = _dimensions_problem(datum.get("Dimensions"))
    if problem:
        return problem
    unit = datum.get("Unit")
    if unit is not None and unit not in UNITS:
        return f"Unit {unit!r} is not a CloudWatch unit (Seconds, Bytes, Count, Percent, ..., None)"
    resolution = datum.get("StorageResolution")
    if resolution is not None and _number(resolution) not in STORAGE_RESOLUTIONS:
        return f"StorageResolution {resolution!r} is invalid: use 1 (high resolution) or 60"
    values, counts = datum.get("Values"), datum.get("Counts")
    if isinstance(values, list) and len(values) > MAX_VALUES:
        return f"Values has {len(values)} values: at most {MAX_VALUES}"
    if isinstance(counts, list) and (not isinstance(values, list) or len(counts) != len(values)):
        return "Counts must have as many items as Values"
    if datum.get("Value") is not None and datum.get("StatisticValues") is not None:
        return "Value and StatisticValues cannot be given together"
    return _statistics_problem(datum.get("StatisticValues"))


def refuse_metric_data(namespace: Any, metric_data: list[Any], now: datetime) -> None:
    """Raise CloudWatch's InvalidParameterValue for data CloudWatch would not take."""
    from moto.cloudwatch.exceptions import InvalidParameterValue

    if isinstance(namespace, str) and namespace.startswith("AWS/"):
        raise InvalidParameterValue(
            f"The value {namespace} for parameter Namespace is invalid: namespaces beginning with AWS/ "
            "are reserved for AWS services"
        )
    if isinstance(namespace, str) and (
        namespace.startswith(":") or not 1 <= len(namespace) <= MAX_NAME_CHARS
    ):
        raise InvalidParameterValue(
            f"The value {namespace[:300]} for parameter Namespace is invalid: 1 to {MAX_NAME_CHARS} "
            "characters, not beginning with ':'"
        )
    if len(metric_data) > MAX_METRICS_PER_REQUEST:
        raise InvalidParameterValue(
            f"The collection MetricData has {len(metric_data)} items: a PutMetricData request takes at most "
            f"{MAX_METRICS_PER_REQUEST} (send the rest in another request)"
        )
    for number, datum in enumerate(metric_data, start=1):
        if not isinstance(datum, dict):
            continue
        problem = datum_problem(datum)
        if problem:
            raise InvalidParameterValue(f"The parameter MetricData.member.{number}.{problem}")
        named = {"Value": [datum.get("Value")], "Values": list(datum.get("Values") or [])}
        statistics = datum.get("StatisticValues") or {}
        for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
            named[f"StatisticValues.{key}"] = [statistics.get(key)] if isinstance(statistics, dict) else []
        for field, values in named.items():
            for value in values:
                try:
                    number_value = float(value)
                except (TypeError, ValueError, OverflowError):
                    continue  # absent, or not a number: moto's own checks answer
                if not math.isfinite(number_value) or abs(number_value) > MAX_METRIC_VALUE:
                    raise InvalidParameterValue(
                        f"The value {value} for parameter MetricData.member.{number}.{field} is invalid: "
                        "CloudWatch takes finite values from -2^360 to 2^360"
                    )
        moment = _moment(datum.get("Timestamp"))
        if moment is not None and moment < now - MAX_DATUM_AGE:
            raise InvalidParameterValue(
                f"The parameter MetricData.member.{number}.Timestamp must specify a time within the past "
                f"two weeks (got {moment.isoformat()})"
            )
        if moment is not None and moment > now + MAX_DATUM_AHEAD:
            raise InvalidParameterValue(
                f"The parameter MetricData.member.{number}.Timestamp must specify a time no more than two "
                f"hours in the future (got {moment.isoformat()})"
            )


def _validated_requests() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    put_metric_alarm, put_metric_data = (
        CloudWatchResponse.put_metric_alarm,
        CloudWatchResponse.put_metric_data,
    )

    def checked_alarm(self: Any) -> Any:
        from moto.cloudwatch.exceptions import ValidationError

        refuse_alarm(
            self._get_param("Period"),
            self._get_param("EvaluationPeriods"),
            self._get_param("DatapointsToAlarm"),
        )
        keys = ("ComparisonOperator", "ThresholdMetricId", "Statistic", "ExtendedStatistic", "Metrics")
        keys += ("MetricName", "Namespace", "TreatMissingData", "AlarmActions", "OKActions")
        problem = alarm_problem({key: self._get_param(key) for key in (*keys, "InsufficientDataActions")})
        if problem:
            raise ValidationError(problem)
        return put_metric_alarm(self)

    def checked_data(self: Any) -> Any:
        refuse_metric_data(self._get_param("Namespace"), self._get_param("MetricData", []), datetime.now(UTC))
        return put_metric_data(self)

    describe_alarms = CloudWatchResponse.describe_alarms
    get_metric_statistics, get_metric_data = (
        CloudWatchResponse.get_metric_statistics,
        CloudWatchResponse.get_metric_data,
    )

    def checked_statistics(self: Any) -> Any:
        from moto.cloudwatch.exceptions import InvalidParameterCombination, InvalidParameterValue

        keys = ("Period", "Statistics", "ExtendedStatistics", "StartTime", "EndTime")
        found = metric_statistics_problem({key: self._get_param(key) for key in keys})
        if found:
            code, message = found
            raise (
                InvalidParameterCombination
                if code == "InvalidParameterCombination"
                else InvalidParameterValue
            )(message)
        return get_metric_statistics(self)

    def checked_metric_data(self: Any) -> Any:
        from moto.cloudwatch.exceptions import InvalidParameterValue

        problem = metric_data_problem(self._get_param("MetricDataQueries"))
        if problem:
            raise InvalidParameterValue(problem)
        return get_metric_data(self)

    put_dashboard = CloudWatchResponse.put_dashboard

    def checked_dashboard(self: Any) -> Any:
        from moto.cloudwatch.exceptions import DashboardInvalidInputError

        problem = dashboard_problem(self._get_param("DashboardName"), self._get_param("DashboardBody"))
        if problem:
            raise DashboardInvalidInputError(problem)
        return put_dashboard(self)

    CloudWatchResponse.put_dashboard = checked_dashboard
    CloudWatchResponse.get_metric_statistics = checked_statistics
    CloudWatchResponse.get_metric_data = checked_metric_data

    def checked_describe(self: Any) -> Any:
        from moto.cloudwatch.exceptions import ValidationError

        keys = ("AlarmNames", "AlarmNamePrefix", "StateValue", "MaxRecords")
        problem = describe_alarms_problem({key: self._get_param(key) for key in keys})
        if problem:
            raise ValidationError(problem)
        return describe_alarms(self)

    CloudWatchResponse.put_metric_alarm = checked_alarm
    CloudWatchResponse.put_metric_data = checked_data
    CloudWatchResponse.describe_alarms = checked_describe


def install() -> None:
    """Patch moto's CloudWatch alarm reads and writes; called once before the local cloud starts."""
    from moto.cloudwatch.models import Alarm, CloudWatchBackend

    _validated_requests()

    original_init, original_update = Alarm.__init__, Alarm.update_state

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.state_transitioned_timestamp = self.state_updated_timestamp

    def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
        before = self.state_value
        original_update(self, reason, reason_data, state_value)
        if state_value != before:
            self.state_transitioned_timestamp = self.state_updated_timestamp

    Alarm.__init__ = init
    Alarm.update_state = update_state

    for method in (
        "describe_alarms",
        "get_alarms_by_alarm_names",
        "get_alarms_by_alarm_name_prefix",
        "get_alarms_by_action_prefix",
        "get_alarms_by_state_value",
    ):
        original = getattr(CloudWatchBackend, method)

        def evaluated(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if _original.__name__ == "get_alarms_by_state_value":  # evaluate before filtering
                refresh(self, list(self.alarms.values()))
                return _original(self, *args, **kwargs)
            alarms = _original(self, *args, **kwargs)
            refresh(self, list(alarms))
            return alarms

        setattr(CloudWatchBackend, method, evaluated)
