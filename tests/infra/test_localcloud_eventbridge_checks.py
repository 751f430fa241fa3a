"""EventBridge in the local cloud refuses the rules and targets EventBridge refuses (R14B-18): the drift
check's schedule and target input (terraform/drift.tf) are only checked here."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:fp"


def refused(call, code: str = "ValidationException") -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400), error
    return error["Error"]["Message"]


@pytest.fixture
def events(aws_env):
    client = boto3.client("events", config=Config(parameter_validation=False))
    client.put_rule(Name="r11", ScheduleExpression="rate(1 day)")
    return client


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(1 days)",
        "rate(5 minute)",
        "cron(99 99 * * ? *)",
        "cron(0 10 * * * *)",
        "cron(0 10 * *)",
    ],
)
def test_a_schedule_eventbridge_refuses_is_refused(events, expression):
    assert "ScheduleExpression is not valid" in refused(
        lambda: events.put_rule(Name="r10", ScheduleExpression=expression)
    )
    assert "r10" not in [r["Name"] for r in events.list_rules()["Rules"]]


def test_a_rule_name_eventbridge_refuses_is_refused(events):
    refused(lambda: events.put_rule(Name="bad name!", ScheduleExpression="rate(1 day)"))


@pytest.mark.parametrize(
    "target",
    [
        {"Id": "t1", "Arn": FUNCTION, "Input": "not json"},
        {"Id": "bad id!", "Arn": FUNCTION},
        {"Id": "tx", "Arn": FUNCTION, "Input": "{}", "InputPath": "$.detail"},
        {"Id": "tr", "Arn": FUNCTION, "RetryPolicy": {"MaximumRetryAttempts": 200}},
        {"Id": "ta", "Arn": FUNCTION, "RetryPolicy": {"MaximumEventAgeInSeconds": 30}},
    ],
)
def test_a_target_eventbridge_refuses_is_refused(events, target):
    refused(lambda: events.put_targets(Rule="r11", Targets=[target]))
    assert events.list_targets_by_rule(Rule="r11")["Targets"] == []


def test_a_sixth_target_is_limit_exceeded(events):
    events.put_targets(
        Rule="r11", Targets=[{"Id": f"t{i}", "Arn": FUNCTION, "Input": "{}"} for i in range(5)]
    )
    refused(
        lambda: events.put_targets(Rule="r11", Targets=[{"Id": "t5", "Arn": FUNCTION}]),
        "LimitExceededException",
    )
    events.put_targets(
        Rule="r11", Targets=[{"Id": "t0", "Arn": FUNCTION, "Input": '{"again": 1}'}]
    )  # replaces t0
    assert len(events.list_targets_by_rule(Rule="r11")["Targets"]) == 5


def connection(events, name: str = "c1", kind: str = "API_KEY"):
    return events.create_connection(
        Name=name,
        AuthorizationType=kind,
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )


def test_connections_and_api_destinations_eventbridge_refuses_are_refused(events):
    arn = connection(events)["ConnectionArn"]
    refused(lambda: connection(events), "ResourceAlreadyExistsException")
    refused(lambda: connection(events, name="bad name!"))
    refused(lambda: connection(events, name="c2", kind="MAGIC"))
    destination = {
        "Name": "d1",
        "ConnectionArn": arn,
        "InvocationEndpoint": "https://example.com/x",
        "HttpMethod": "POST",
    }
    refused(
        lambda: events.create_api_destination(
            **(destination | {"InvocationEndpoint": "http://example.com/x"})
        )
    )
    refused(lambda: events.create_api_destination(**(destination | {"HttpMethod": "FETCH"})))
    refused(
        lambda: events.create_api_destination(**(destination | {"ConnectionArn": arn.replace("c1", "nope")})),
        "ResourceNotFoundException",
    )
    events.create_api_destination(**destination)
    refused(lambda: events.update_api_destination(Name="d1", InvocationEndpoint="http://example.com/y"))
    assert events.describe_api_destination(Name="d1")["InvocationEndpoint"] == "https://example.com/x"
