"""The local cloud's EventBridge delivers alarm state changes to an API destination as its role:
an alarm fed by a metric goes to ALARM, the rule's input transformer makes GitHub's
repository_dispatch body, and a fake GitHub receives it with the connection's key; a role without
events:InvokeApiDestination delivers nothing and counts a failed invocation."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest

from tests.monitoring.fake_github import FakeGitHub
from tests.roles import ACCOUNT, REGION, create_role
from textclf.localcloud import alarms, eventdelivery

TEMPLATE = (
    '{"event_type": "model-drift", "client_payload": {"alarm": <alarm>, "reason": <reason>, '
    '"time": <time>, "note": "alarm <alarm> fired"}}'
)
PATHS = {"alarm": "$.detail.alarmName", "reason": "$.detail.state.reason", "time": "$.time"}


def test_the_input_transformer_quotes_strings_outside_quotes_only():
    event = {"time": "2026-12-01T10:00:00Z", "detail": {"alarmName": 'a "b"', "state": {"reason": "r"}}}

    body = json.loads(eventdelivery.transform(TEMPLATE, PATHS, event))

    assert body["client_payload"] == {
        "alarm": 'a "b"',
        "reason": "r",
        "time": "2026-12-01T10:00:00Z",
        "note": 'alarm a "b" fired',
    }
    assert json.loads(eventdelivery.transform(None, None, {"a": 1})) == {"a": 1}  # no template: the event


@pytest.fixture
def dispatch_world(aws_env, monkeypatch):
    """An alarm on a metric, a rule on its ALARM state, the GitHub dispatch API destination."""
    monkeypatch.setattr(alarms, "EVALUATION_INTERVAL_S", 0.0)  # CloudWatch evaluates every minute
    events = boto3.client("events")
    connection = events.create_connection(
        Name="github",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": "Bearer test-token"},
            "InvocationHttpParameters": {
                "HeaderParameters": [
                    {"Key": "Accept", "Value": "application/vnd.github+json", "IsValueSecret": False}
                ]
            },
        },
    )["ConnectionArn"]
    destination = events.create_api_destination(
        Name="github-dispatch",
        ConnectionArn=connection,
        InvocationEndpoint="https://api.github.com/repos/acme/text-classifier/dispatches",
        HttpMethod="POST",
    )["ApiDestinationArn"]
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="drift",
        Namespace="textclf/Drift",
        MetricName="Drifted",
        Dimensions=[{"Name": "EndpointName", "Value": "e"}],
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:drift"
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    events.put_rule(Name="drift-alarm", EventPattern=json.dumps(pattern))
    return {"destination": destination}


def use_role(world, allowed: bool) -> None:
    statement = {"Effect": "Allow", "Action": "events:InvokeApiDestination", "Resource": world["destination"]}
    if not allowed:
        statement["Resource"] = world["destination"] + "-another"
    role = create_role("events-dispatch", "events.amazonaws.com", [statement])
    boto3.client("events").put_targets(
        Rule="drift-alarm",
        Targets=[
            {
                "Id": "github-dispatch",
                "Arn": world["destination"],
                "RoleArn": role,
                "InputTransformer": {"InputPathsMap": PATHS, "InputTemplate": TEMPLATE},
            }
        ],
    )


def map_github(local_cloud, url: str) -> None:
    request = urllib.request.Request(
        f"{local_cloud.url}{eventdelivery.CONTROL_PATH}",
        data=json.dumps({"api_destination_hosts": {"https://api.github.com": url}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def drift(value: float) -> str:
    """Publish the check's Drifted metric and read the alarm (which evaluates it)."""
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="textclf/Drift",
        MetricData=[
            {"MetricName": "Drifted", "Value": value, "Dimensions": [{"Name": "EndpointName", "Value": "e"}]}
        ],
    )
    return cloudwatch.describe_alarms(AlarmNames=["drift"])["MetricAlarms"][0]["StateValue"]


def failed_invocations() -> float:
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Events",
        MetricName="FailedInvocations",
        Dimensions=[{"Name": "RuleName", "Value": "drift-alarm"}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 600,
        Period=3600,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in stats["Datapoints"])


def test_an_alarm_going_off_dispatches_to_github_as_the_events_role(dispatch_world, local_cloud):
    use_role(dispatch_world, allowed=True)
    with FakeGitHub() as github:
        map_github(local_cloud, github.url)

        assert drift(0.0) == "OK"
        assert github.dispatches == []  # no state change, no event
        assert drift(1.0) == "ALARM"

    assert len(github.dispatches) == 1, [(d.get("error"), d.get("status")) for d in eventdelivery.DELIVERIES]
    [dispatch] = github.dispatches
    assert dispatch["path"] == "/repos/acme/text-classifier/dispatches"
    assert dispatch["headers"]["Authorization"] == "Bearer test-token"
    assert dispatch["headers"]["Accept"] == "application/vnd.github+json"
    payload = dispatch["payload"]
    assert payload["event_type"] == "model-drift"
    assert payload["client_payload"]["alarm"] == "drift"
    assert payload["client_payload"]["reason"].startswith("Threshold Crossed")
    assert payload["client_payload"]["time"].endswith("Z")
    assert failed_invocations() == 0


def test_a_role_that_may_not_invoke_the_destination_delivers_nothing(dispatch_world, local_cloud):
    use_role(dispatch_world, allowed=False)
    with FakeGitHub() as github:
        map_github(local_cloud, github.url)

        assert drift(1.0) == "ALARM"

    assert github.dispatches == []
    assert failed_invocations() == 1
    assert "not authorized to perform: events:InvokeApiDestination" in eventdelivery.DELIVERIES[-1]["error"]


def test_a_destination_outside_the_local_cloud_is_a_failed_invocation(dispatch_world):
    use_role(dispatch_world, allowed=True)

    assert drift(1.0) == "ALARM"

    assert failed_invocations() == 1
    assert "outside the local cloud" in eventdelivery.DELIVERIES[-1]["error"]
