"""The prediction signals become CloudWatch metrics through metric filters on the endpoint's log
group, in the local cloud as on AWS: the pattern language, PutLogEvents -> metrics, and requests
through a local-cloud endpoint (InvokeEndpoint -> the container's stderr -> the log group -> the
metrics). Lines that are not signals publish nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.workflows.conftest import ARTIFACTS
from tests.workflows.test_localcloud_runtime import ENDPOINT, deploy
from textclf.localcloud import metricfilters
from textclf.serving import signals

GROUP = "/aws/sagemaker/Endpoints/textclf-signals"
NAMESPACE = "textclf/Serving/textclf-signals"
VERSION = "c" * 40
READY = json.dumps({"component": "serve", "status": "ready", "score": 0.5, "characters": 3})


def put_filters(group: str = GROUP, namespace: str = NAMESPACE) -> None:
    """The metric filters terraform/monitoring.tf creates (textclf.serving.signals.METRIC_FILTERS)."""
    logs = boto3.client("logs")
    for name, spec in signals.METRIC_FILTERS.items():
        logs.put_metric_filter(
            logGroupName=group,
            filterName=f"textclf-signals-{name}",
            filterPattern=spec["pattern"],
            metricTransformations=[
                {
                    "metricName": name,
                    "metricNamespace": namespace,
                    "metricValue": spec["value"],
                    "unit": spec["unit"],
                    "dimensions": spec["dimensions"],
                }
            ],
        )


def values(metric: str, dimensions: dict[str, str], stat: str = "Sum", namespace: str = NAMESPACE) -> float:
    """One statistic of a metric over the last hour (GetMetricData), 0 when it has no data."""
    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": 3600,
            "Stat": stat,
        },
    }
    now = datetime.now(UTC)
    result = boto3.client("cloudwatch").get_metric_data(
        MetricDataQueries=[query], StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5)
    )
    return sum(result["MetricDataResults"][0]["Values"])


def metric_names(namespace: str = NAMESPACE) -> set[str]:
    return {m["MetricName"] for m in boto3.client("cloudwatch").list_metrics(Namespace=namespace)["Metrics"]}


# ---------------------------------------------------------------------------------------------
# The pattern language


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ('"textclf.prediction"', '{"kind":"textclf.prediction"}', True),
        ("ERROR disk", "ERROR: the disk is full", True),
        ("ERROR disk", "ERROR: full", False),
        ('{ $.kind = "textclf.*" }', '{"kind":"textclf.prediction"}', True),
        ('{ $.kind != "textclf.*" }', '{"kind":"textclf.prediction"}', False),
        ("{ $.latency_ms >= 0 }", '{"latency_ms": 0}', True),
        ("{ $.latency_ms >= 0 }", '{"latency_ms": "0"}', False),  # a string is not a number
        ("{ $.latency_ms >= 0 }", '{"other": 1}', False),
        ('{ ($.a = 1) && ($.b = "x") || $.c IS TRUE }', '{"a": 2, "c": true}', True),
        ('{ ($.a = 1) && ($.b = "x") || $.c IS TRUE }', '{"a": 1, "b": "y", "c": false}', False),
        ("{ $.c NOT EXISTS }", '{"a": 1}', True),
        ("{ $.a.b[1] = 5 }", '{"a": {"b": [4, 5]}}', True),
        ("{ $.a = * }", '{"a": null}', True),
        ('{ $.kind = "x" }', "not json at all", False),
    ],
)
def test_the_filter_pattern_language(pattern, message, expected):
    assert metricfilters.compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize(
    "pattern", ["[ip, user, status]", "?ERROR ?WARN", "%ERR.R%", "{ $.a = }", "{ $.a > 1"]
)
def test_patterns_the_local_cloud_cannot_evaluate_are_refused(pattern):
    with pytest.raises(metricfilters.PatternError):
        metricfilters.compile_pattern(pattern)


def test_only_signal_lines_match_the_signal_filters():
    line = signals.lines([signals.TextSignal("billing", 0.9, 40, 12, False)], 3.2, VERSION)[0]
    for name, spec in signals.METRIC_FILTERS.items():
        matches = metricfilters.compile_pattern(spec["pattern"])
        assert matches(line), name
        assert not matches(READY), name  # the server's own lines, whatever fields they share
        assert not matches("ERROR something broke"), name


# ---------------------------------------------------------------------------------------------
# PutLogEvents -> metrics


def test_log_events_become_metrics_and_other_lines_do_not(aws_env):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="AllTraffic/i-1")
    put_filters()
    put_filters()  # PutMetricFilter updates a filter of the same name: nothing published twice
    assert len(logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]) == len(
        signals.METRIC_FILTERS
    )
    recorded = [
        signals.TextSignal("billing", 0.9, 40, 12, False),
        signals.TextSignal("billing", 0.7, 60, 15, True),
        signals.TextSignal("returns", 0.5, 20, 6, False),
    ]
    messages = [READY, "plain text", *signals.lines(recorded, 8.0, VERSION)]
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": m} for i, m in enumerate(messages)]

    logs.put_log_events(logGroupName=GROUP, logStreamName="AllTraffic/i-1", logEvents=events)

    version = {"ModelVersion": VERSION}
    assert metric_names() == set(signals.METRIC_FILTERS)
    listed = boto3.client("cloudwatch").list_metrics(Namespace=NAMESPACE, MetricName="Predictions")["Metrics"]
    assert len(listed) == 2  # one per label of this version, not one per data point
    assert values("Predictions", {**version, "Label": "billing"}) == 2
    assert values("Predictions", {**version, "Label": "returns"}) == 1
    assert values("Score", version, "SampleCount") == 3  # the READY line's score is not counted
    assert values("Score", version, "Sum") == pytest.approx(2.1)
    assert values("Characters", version, "Maximum") == 60
    assert values("Truncated", version, "Sum") == 1
    assert values("LatencyMs", version, "SampleCount") == 1  # once per request
    assert values("LatencyMs", version, "Maximum") == 8.0


def test_a_log_group_without_filters_publishes_nothing(aws_env):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    line = signals.lines([signals.TextSignal("billing", 0.9, 40, 12, False)], 3.0, VERSION)[0]

    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
    )

    assert metric_names() == set()


def test_an_unsupported_pattern_is_refused_by_put_metric_filter(aws_env):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    transformation = {"metricName": "m", "metricNamespace": "n", "metricValue": "1"}

    with pytest.raises(ClientError, match="not implemented by the local cloud"):
        logs.put_metric_filter(
            logGroupName=GROUP,
            filterName="f",
            filterPattern="[ip, status]",
            metricTransformations=[transformation],
        )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"dimensions": {f"d{i}": "$.a" for i in range(4)}}, "as many as 3"),
        ({"defaultValue": 0.0, "dimensions": {"d": "$.a"}}, "cannot have a defaultValue"),
        ({"unit": "Bogus"}, "unit 'Bogus' is not a CloudWatch unit"),
        ({"metricName": "a:b"}, "metricName 'a:b' is invalid"),
        ({"metricNamespace": "n$"}, "metricNamespace 'n$' is invalid"),
        ({"metricValue": "1" * 101}, "metricValue must be 1 to 100"),
    ],
)
def test_a_metric_transformation_cloudwatch_logs_refuses_is_refused(aws_env, change, expected):
    """R14B-28: a fourth dimension (Label, ModelVersion, ...) added to monitoring.tf's signal filters,
    or a default value beside dimensions, passed here and failed the real apply."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    transformation = {"metricName": "m", "metricNamespace": "n", "metricValue": "1"} | change
    with pytest.raises(ClientError) as caught:
        logs.put_metric_filter(
            logGroupName=GROUP,
            filterName="f",
            filterPattern="{ $.a = 1 }",
            metricTransformations=[transformation],
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert expected in caught.value.response["Error"]["Message"]
    assert logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"] == []
    # monitoring.tf's shape: three dimensions at most, a unit, no default value with them.
    signal = {"dimensions": {"ModelVersion": "$.ModelVersion", "Label": "$.label"}, "unit": "Count"}
    logs.put_metric_filter(
        logGroupName=GROUP,
        filterName="f",
        filterPattern="{ $.a = 1 }",
        metricTransformations=[
            {"metricName": "m", "metricNamespace": "textclf/Serving/ep", "metricValue": "1"} | signal
        ],
    )
    assert len(logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]) == 1


# ---------------------------------------------------------------------------------------------
# Through an endpoint


def serve(tmp_path, model_dir) -> None:
    """An endpoint on the model, InService (the local-cloud runtime test's deploy)."""
    boto3.client("s3").create_bucket(Bucket=ARTIFACTS)
    sm = boto3.client("sagemaker")
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=deploy(tmp_path, model_dir, VERSION))
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_requests_through_an_endpoint_become_metrics(
    aws_env, tiny_model_dir, tmp_path, repo_root, monkeypatch
):
    monkeypatch.setenv("TEXTCLF_PARAMS", str(repo_root / "params.yaml"))  # deploy.serve.signals: true
    group, namespace = f"/aws/sagemaker/Endpoints/{ENDPOINT}", f"textclf/Serving/{ENDPOINT}"
    boto3.client("logs").create_log_group(logGroupName=group)  # Terraform makes it, with the filters
    put_filters(group, namespace)
    serve(tmp_path, tiny_model_dir)
    runtime = boto3.client("sagemaker-runtime")
    answers = []
    for texts in (["where is my parcel?"], ["refund please", "I was charged twice", "cancel my plan"]):
        body = json.dumps({"inputs": texts}).encode()
        response = runtime.invoke_endpoint(EndpointName=ENDPOINT, ContentType="application/json", Body=body)
        answers += json.loads(response["Body"].read())["predictions"]

    version = {"ModelVersion": VERSION}
    assert wait_for(lambda: values("Score", version, "SampleCount", namespace) == 4), values(
        "Score", version, "SampleCount"
    )
    by_label: dict[str, int] = {}
    for answer in answers:
        by_label[answer["label"]] = by_label.get(answer["label"], 0) + 1
    for label, count in by_label.items():
        assert values("Predictions", {**version, "Label": label}, "Sum", namespace) == count
    assert values("Score", version, "Sum", namespace) == pytest.approx(
        sum(a["score"] for a in answers), abs=1e-4
    )
    assert values("LatencyMs", version, "SampleCount", namespace) == 2  # two requests
    # The container's other lines reached the log group too, and published nothing.
    events = boto3.client("logs").filter_log_events(logGroupName=group)["events"]
    assert any('"status": "ready"' in event["message"] for event in events)
    assert metric_names(namespace) - set(signals.METRIC_FILTERS) == set()
    [stream] = boto3.client("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].startswith("AllTraffic/i-")
