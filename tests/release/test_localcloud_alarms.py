"""The local cloud evaluates CloudWatch metric alarms from their metrics (textclf.localcloud.alarms),
so a bake window can see an alarm fire from real errors, not only from SetAlarmState."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from textclf.localcloud import alarms

DIMENSIONS = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]
STATISTICS = {"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0}  # a valid StatisticSet


def make_alarm(cloudwatch, name: str, **settings) -> None:
    alarm = {
        "AlarmName": name,
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": DIMENSIONS,
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
    cloudwatch.put_metric_alarm(**{k: v for k, v in {**alarm, **settings}.items() if v is not None})


def age(name: str, seconds: float = 120) -> None:
    """Make the alarm's last state change older than one evaluation interval."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarm = cloudwatch_backends["123456789012"]["us-east-1"].alarms[name]
    alarm.state_updated_timestamp = datetime.now(UTC) - timedelta(seconds=seconds)


def errors(cloudwatch, count: float, dimensions=DIMENSIONS) -> None:
    """SageMaker's errors, published as the local cloud's SageMaker publishes them (AWS/ namespaces
    are AWS's own: PutMetricData refuses them)."""
    from moto.cloudwatch.models import cloudwatch_backends

    datum = {"MetricName": "Invocation5XXErrors", "Dimensions": dimensions, "Value": count}
    cloudwatch_backends["123456789012"]["us-east-1"].put_metric_data("AWS/SageMaker", [datum])


def state(cloudwatch, name: str) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def test_errors_above_the_threshold_raise_the_alarm_and_notify(aws_env):
    cloudwatch, sns = boto3.client("cloudwatch"), boto3.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    queue_url = boto3.client("sqs").create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    make_alarm(cloudwatch, "ep-5xx", AlarmActions=[topic])
    age("ep-5xx")
    errors(cloudwatch, 2)
    errors(cloudwatch, 2, [{"Name": "EndpointName", "Value": "other"}, DIMENSIONS[1]])  # another endpoint's
    assert state(cloudwatch, "ep-5xx") == "OK"  # 2 < 5: not crossed

    age("ep-5xx")
    errors(cloudwatch, 3)
    assert state(cloudwatch, "ep-5xx") == "ALARM"  # Sum 5 >= 5 in the last period
    reason = cloudwatch.describe_alarms(AlarmNames=["ep-5xx"])["MetricAlarms"][0]["StateReason"]
    assert "Threshold Crossed" in reason and "Sum [5.0]" in reason
    message = boto3.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(json.loads(message["Body"])["Message"])["NewStateValue"] == "ALARM"


def test_a_state_set_by_hand_stands_until_the_next_evaluation(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "ep-5xx")
    cloudwatch.set_alarm_state(AlarmName="ep-5xx", StateValue="ALARM", StateReason="drill")
    assert state(cloudwatch, "ep-5xx") == "ALARM"  # set seconds ago: not re-evaluated yet
    age("ep-5xx")
    assert state(cloudwatch, "ep-5xx") == "OK"  # no data, notBreaching


def test_missing_data_keeps_the_state_unless_told_otherwise(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "missing", TreatMissingData="missing")
    make_alarm(cloudwatch, "breaching", TreatMissingData="breaching")
    age("missing")
    age("breaching")
    assert state(cloudwatch, "missing") == "OK"
    assert state(cloudwatch, "breaching") == "ALARM"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Sum", 10.0), ("Average", 2.5), ("Maximum", 4.0), ("SampleCount", 4.0), ("p50", 2.0), ("p90", 4.0)],
)
def test_statistics(name, expected):
    assert alarms.statistic([1.0, 2.0, 3.0, 4.0], name) == expected


def test_an_endpoints_5xx_from_its_model_reach_its_alarm(world):
    """Invocations publish SageMaker's endpoint metrics; a model answering 500 (injected) shows up
    as Invocation5XXErrors and a ModelError to the caller, and the endpoint's alarm fires."""
    from botocore.exceptions import ClientError
    from redeploy_world import COMMITS, artifact_url
    from test_localcloud_endpoints import make_config, settle

    from textclf.localcloud import runtime

    make_config(world, "one", COMMITS[0])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert settle(world)["EndpointStatus"] == "InService"
    invoke = boto3.client("sagemaker-runtime").invoke_endpoint
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "ep-5xx")
    age("ep-5xx")
    request = {"EndpointName": "ep", "ContentType": "application/json", "Body": b'{"inputs": "where is it"}'}
    invoke(**request)
    assert state(cloudwatch, "ep-5xx") == "OK"

    runtime.inject_faults(artifact_url(COMMITS[0]), 1.0)
    for _ in range(5):
        with pytest.raises(ClientError) as caught:
            invoke(**request)
        assert caught.value.response["Error"]["Code"] == "ModelError"
        assert "Received server error (500)" in str(caught.value)
    runtime.clear_faults()
    invoke(**request)

    sums = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=DIMENSIONS,
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=360,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    assert [(point["Sum"], point["SampleCount"]) for point in sums] == [(5.0, 7.0)]
    assert state(cloudwatch, "ep-5xx") == "ALARM"


def test_an_endpoint_answers_on_its_old_config_while_it_updates(world):
    """UpdateEndpoint: "there is no availability loss" (API reference): Updating still serves."""
    from redeploy_world import COMMITS
    from test_localcloud_endpoints import make_config, settle

    from textclf.localcloud import endpoints

    make_config(world, "one", COMMITS[0])
    make_config(world, "two", COMMITS[1])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert settle(world)["EndpointStatus"] == "InService"
    saved = dict(endpoints.SETTINGS)
    endpoints.SETTINGS["transition_seconds"] = 30
    try:
        world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="two")
        assert world.sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
        answer = boto3.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep", ContentType="application/json", Body=b'{"inputs": "where is it"}'
        )
    finally:
        endpoints.SETTINGS.update(saved)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert json.loads(answer["Body"].read())["predictions"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"Period": 604_860, "EvaluationPeriods": 1}, "at most seven days"),
        ({"Period": 3000, "EvaluationPeriods": 30}, "at most one day"),
        ({"Period": 60, "EvaluationPeriods": 1441}, "at most one day"),
        ({"Period": 7}, "Period 7 is not valid"),
        ({"Period": 90}, "Period 90 is not valid"),
        ({"EvaluationPeriods": 2, "DatapointsToAlarm": 3}, "DatapointsToAlarm must be less than or equal"),
    ],
)
def test_an_alarm_cloudwatch_would_refuse_is_refused(aws_env, settings, expected):
    """R13B-6: Period x EvaluationPeriods at most 604,800 s (86,400 s under an hour's Period), a
    Period of 10, 20, 30 or a multiple of 60: what applies here applies on AWS."""
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    with pytest.raises(ClientError, match=expected) as caught:
        make_alarm(cloudwatch, "too-long", **settings)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert cloudwatch.describe_alarms(AlarmNames=["too-long"])["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("settings", "evaluation_periods"),
    [({"Period": 20}, 1), ({"Period": 604_800}, 1), ({"Period": 3600}, 168)],
)
def test_an_alarm_within_cloudwatchs_bounds_is_created(aws_env, settings, evaluation_periods):
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "fits", EvaluationPeriods=evaluation_periods, **settings)
    assert cloudwatch.describe_alarms(AlarmNames=["fits"])["MetricAlarms"][0]["Period"] == settings["Period"]


def test_metric_data_cloudwatch_would_refuse_is_refused(aws_env):
    """R13B-6: PutMetricData takes finite values within 2^360, time stamps at most two weeks back and
    two hours ahead, and no AWS/ namespace; moto stored them all."""
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    now = datetime.now(UTC)
    refused = [
        ("textclf/Drift", {"Value": float("inf")}, "MetricData.member.1.Value is invalid"),
        ("textclf/Drift", {"Value": 1e300}, "MetricData.member.1.Value is invalid"),
        ("textclf/Drift", {"Values": [1.0, -1e300]}, "MetricData.member.1.Values is invalid"),
        ("textclf/Drift", {"Value": 1.0, "Timestamp": now - timedelta(days=15)}, "within the past two weeks"),
        ("textclf/Drift", {"Value": 1.0, "Timestamp": now + timedelta(hours=3)}, "no more than two hours"),
        ("AWS/Foo", {"Value": 1.0}, "parameter Namespace is invalid"),
    ]
    for namespace, datum, expected in refused:
        with pytest.raises(ClientError, match=expected) as caught:
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Drifted", **datum}])
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert cloudwatch.list_metrics(MetricName="Drifted")["Metrics"] == []

    for datum in ({"Value": 1e100}, {"Value": 0.0, "Timestamp": now - timedelta(days=13)}):
        cloudwatch.put_metric_data(Namespace="textclf/Drift", MetricData=[{"MetricName": "Drifted", **datum}])
    assert cloudwatch.list_metrics(MetricName="Drifted")["Metrics"]  # both stored


def test_a_gzipped_put_metric_data_is_taken_and_its_signature_checked_as_sent(aws_env):
    """R14B-8: botocore gzips a PutMetricData body of 10 KiB or more (about 300 metrics) and signs the
    compressed bytes; the local cloud checked the signature over the decompressed body and refused
    every such call as SignatureDoesNotMatch. A compressed body changed after signing is still refused."""
    import gzip

    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    many = [{"MetricName": f"m{number}", "Value": 1.0} for number in range(500)]
    cloudwatch.put_metric_data(Namespace="textclf/Many", MetricData=many)
    assert len(cloudwatch.list_metrics(Namespace="textclf/Many", MetricName="m499")["Metrics"]) >= 1

    def tamper(request, **_):
        assert request.headers["Content-Encoding"] in (b"gzip", "gzip")
        request.body = gzip.compress(gzip.decompress(request.body).replace(b"textclf/Many", b"textclf/Fake"))

    tampering = boto3.client("cloudwatch")
    tampering.meta.events.register("before-send.cloudwatch.PutMetricData", tamper)
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        tampering.put_metric_data(Namespace="textclf/Many", MetricData=many)
    assert cloudwatch.list_metrics(Namespace="textclf/Fake")["Metrics"] == []


@pytest.mark.parametrize(
    ("namespace", "data", "expected"),
    [
        ("textclf/Drift", [{"Unit": "Bogus"}], "MetricData.member.1.Unit 'Bogus' is not a CloudWatch unit"),
        (
            "textclf/Drift",
            [{"Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}],
            "at most 30",
        ),
        (
            "textclf/Drift",
            [{"Dimensions": [{"Name": "d", "Value": "v"}, {"Name": "d", "Value": "w"}]}],
            "twice",
        ),
        ("textclf/Drift", [{"Dimensions": [{"Name": "d", "Value": ""}]}], "Dimensions.member.1.Value"),
        ("textclf/Drift", [{"StorageResolution": 5}], "StorageResolution 5 is invalid"),
        ("textclf/Drift", [{"MetricName": "m" * 256}], "MetricName must be 1 to 255"),
        (":Drift", [{}], "parameter Namespace is invalid"),
        ("textclf/Drift", [{"Value": None, "StatisticValues": STATISTICS | {"Minimum": 5.0}}], "Minimum"),
        (
            "textclf/Drift",
            [{"Value": None, "StatisticValues": STATISTICS | {"SampleCount": 0.0}}],
            "SampleCount",
        ),
        ("textclf/Drift", [{"StatisticValues": STATISTICS}], "Value and StatisticValues"),
        ("textclf/Drift", [{"Values": [1.0, 2.0], "Counts": [1.0]}], "Counts"),
        ("textclf/Drift", [{}] * 1001, "at most 1000"),
    ],
)
def test_put_metric_data_refuses_what_cloudwatch_refuses_and_stores_nothing(
    aws_env, namespace, data, expected
):
    """R14B-7: MetricDatum's Unit, StorageResolution, Dimensions, MetricName and StatisticValues,
    Namespace's pattern and 1,000 metrics a request, as the CloudWatch API reference gives them."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    # botocore checks some lengths itself (an empty dimension value): send what it would refuse too.
    cloudwatch = boto3.client(
        "cloudwatch", config=Config(parameter_validation=False, disable_request_compression=True)
    )
    metric = [
        {k: v for k, v in ({"MetricName": "Bad", "Value": 1.0} | datum).items() if v is not None}
        for datum in data
    ]
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=metric)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert expected in caught.value.response["Error"]["Message"]
    assert cloudwatch.list_metrics(MetricName="Bad")["Metrics"] == []


def test_put_metric_data_within_cloudwatchs_rules_is_stored(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    data = [
        {"MetricName": "Good", "Value": 1.0, "Unit": "Count", "StorageResolution": 1},
        {"MetricName": "Good", "StatisticValues": STATISTICS, "Unit": "Seconds", "StorageResolution": 60},
        {"MetricName": "Good", "Values": [1.0, 2.0], "Counts": [3.0, 1.0], "Unit": "None"},
        {
            "MetricName": "Good",
            "Value": 0.5,
            "Dimensions": [{"Name": f"d{i}", "Value": "v" * 1024} for i in range(30)],
        },
    ]
    cloudwatch.put_metric_data(Namespace="textclf/Drift", MetricData=data)
    cloudwatch.put_metric_data(
        Namespace="textclf/Drift", MetricData=[{"MetricName": "Good", "Value": 1.0}] * 1000
    )
    assert cloudwatch.list_metrics(MetricName="Good")["Metrics"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"ComparisonOperator": "Bogus"}, "ComparisonOperator 'Bogus' is invalid"),
        ({"ComparisonOperator": "LessThanLowerThreshold"}, "ThresholdMetricId"),
        ({"Statistic": "Bogus"}, "Statistic 'Bogus' is invalid"),
        ({"Statistic": None}, "exactly one of Statistic and ExtendedStatistic"),
        ({"ExtendedStatistic": "p99"}, "exactly one of Statistic and ExtendedStatistic"),
        ({"TreatMissingData": "bogus"}, "TreatMissingData 'bogus' is invalid"),
        ({"AlarmActions": ["not-an-arn"]}, "Invalid AlarmActions 'not-an-arn'"),
        ({"OKActions": [f"arn:aws:sns:us-east-1:123456789012:t{i}" for i in range(6)]}, "at most 5"),
    ],
)
def test_put_metric_alarm_refuses_settings_cloudwatch_refuses(aws_env, settings, expected):
    """R14B-7: moto stored them, and an alarm with ComparisonOperator Bogus or Statistic Bogus then
    broke its evaluation at every DescribeAlarms."""
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    alarm = {
        "AlarmName": "bad",
        "Namespace": "textclf/Drift",
        "MetricName": "Drifted",
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    alarm = {k: v for k, v in (alarm | settings).items() if v is not None}
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_alarm(**alarm)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert expected in caught.value.response["Error"]["Message"]
    assert cloudwatch.describe_alarms(AlarmNames=["bad"])["MetricAlarms"] == []


def test_alarms_cloudwatch_takes_are_created_and_evaluated(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    topic = boto3.client("sns").create_topic(Name="alarms")["TopicArn"]
    make_alarm(cloudwatch, "p90", Statistic=None, ExtendedStatistic="p90", AlarmActions=[topic])
    make_alarm(cloudwatch, "lambda-action", AlarmActions=["arn:aws:lambda:us-east-1:123456789012:function:f"])
    make_alarm(cloudwatch, "missing", TreatMissingData="missing", ComparisonOperator="LessThanThreshold")
    described = cloudwatch.describe_alarms(AlarmNames=["p90", "lambda-action", "missing"])["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in described) == ["lambda-action", "missing", "p90"]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"AlarmNames": [f"a{number}" for number in range(101)]}, "at most 100"),
        ({"AlarmNames": ["a" * 256]}, "1 to 255 characters"),
        ({"StateValue": "BOGUS"}, "StateValue 'BOGUS' is invalid"),
        ({"MaxRecords": 0}, "MaxRecords 0 is invalid"),
    ],
)
def test_describe_alarms_refuses_what_cloudwatch_refuses(aws_env, request_, expected):
    """`bake --alarms` with 200 names, or one of 300 characters, was told the alarms do not exist."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as caught:
        cloudwatch.describe_alarms(**request_)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert expected in caught.value.response["Error"]["Message"]
    make_alarm(cloudwatch, "a" * 255)
    assert len(cloudwatch.describe_alarms(AlarmNames=["a" * 255], MaxRecords=100)["MetricAlarms"]) == 1


def test_metric_reads_cloudwatch_refuses_are_refused_not_answered_with_no_data(aws_env):
    """GetMetricStatistics / GetMetricData: a Period CloudWatch does not take, an unknown statistic,
    more than 1,440 data points, a query Id not beginning with a lowercase letter; moto answered each
    with empty results, which read as "no data" where AWS refuses the query."""
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    now = datetime.now(UTC)
    window = {"StartTime": now - timedelta(hours=1), "EndTime": now}
    metric = {"Namespace": "textclf/Drift", "MetricName": "Drifted"}
    refused = [
        (
            lambda: cloudwatch.get_metric_statistics(**metric, **window, Period=7, Statistics=["Sum"]),
            "Period 7",
        ),
        (
            lambda: cloudwatch.get_metric_statistics(**metric, **window, Period=60, Statistics=["Bogus"]),
            "Statistics",
        ),
        (
            lambda: cloudwatch.get_metric_statistics(
                **metric, StartTime=now - timedelta(days=2), EndTime=now, Period=60, Statistics=["Sum"]
            ),
            "exceeds the limit of 1440",
        ),
    ]
    for query, expected in (
        ({"Id": "Bad Id", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}, ".Id is invalid"),
        ({"Id": "m", "MetricStat": {"Metric": metric, "Period": 7, "Stat": "Sum"}}, "Period 7"),
        ({"Id": "m", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Bogus"}}, "Stat is invalid"),
    ):
        refused.append(
            (lambda query=query: cloudwatch.get_metric_data(MetricDataQueries=[query], **window), expected)
        )
    for call, expected in refused:
        with pytest.raises(ClientError, match=expected) as caught:
            call()
        assert caught.value.response["Error"]["Code"] in (
            "InvalidParameterValue",
            "InvalidParameterCombination",
        )

    cloudwatch.get_metric_statistics(**metric, **window, Period=60, Statistics=["Sum"], Unit="Count")
    cloudwatch.get_metric_statistics(**metric, **window, Period=10, ExtendedStatistics=["p99", "tm90"])
    queries = [
        {"Id": "m_1", "MetricStat": {"Metric": metric, "Period": 3600, "Stat": "p99.9"}},
        {"Id": "total", "MetricStat": {"Metric": metric, "Period": 1, "Stat": "Sum"}},
    ]
    assert len(cloudwatch.get_metric_data(MetricDataQueries=queries, **window)["MetricDataResults"]) == 2


def test_metric_math_alarms_and_dashboards_cloudwatch_refuses_are_refused(aws_env):
    """R14B-7 (00:33): Metrics whose expression does not parse or with two elements returning data,
    and PutDashboard with a widget type or a name CloudWatch does not take, were stored."""
    from botocore.exceptions import ClientError

    cloudwatch = boto3.client("cloudwatch")
    stat = {"Metric": {"Namespace": "textclf/Drift", "MetricName": "Drifted"}, "Period": 60, "Stat": "Sum"}
    alarm = {
        "AlarmName": "math",
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    for metrics, expected in (
        (
            [
                {"Id": "e1", "Expression": "NOPE(", "ReturnData": True},
                {"Id": "m", "MetricStat": stat, "ReturnData": False},
            ],
            "does not parse",
        ),
        ([{"Id": "e1", "Expression": "m * 2"}, {"Id": "m", "MetricStat": stat}], "Exactly one element"),
    ):
        with pytest.raises(ClientError, match=expected) as caught:
            cloudwatch.put_metric_alarm(**alarm, Metrics=metrics)
        assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert cloudwatch.describe_alarms(AlarmNames=["math"])["MetricAlarms"] == []
    good = [
        {"Id": "e1", "Expression": 'SUM(METRICS("m"))'},
        {"Id": "m", "MetricStat": stat, "ReturnData": False},
    ]
    cloudwatch.put_metric_alarm(**alarm, Metrics=good)

    widget = {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {}}
    for name, widgets, expected in (
        ("textclf", [widget | {"type": "bogus"}], "type 'bogus' is invalid"),
        ("bad name!", [widget], "DashboardName 'bad name!' is invalid"),
        ("textclf", [widget | {"width": 25}], "width 25 is invalid"),
    ):
        with pytest.raises(ClientError, match=expected) as caught:
            cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": widgets}))
        assert caught.value.response["Error"]["Code"] == "InvalidParameterInput"
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []
    cloudwatch.put_dashboard(DashboardName="textclf-dev", DashboardBody=json.dumps({"widgets": [widget]}))
