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
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

EVALUATION_INTERVAL_S = 60.0

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


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


def install() -> None:
    """Patch moto's CloudWatch alarm reads; called once before the local cloud starts."""
    from moto.cloudwatch.models import Alarm, CloudWatchBackend

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
