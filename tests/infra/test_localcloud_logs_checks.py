"""CloudWatch Logs in the local cloud refuses the names and batches CloudWatch Logs refuses (R14B-10),
with InvalidParameterException, and stores nothing."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.infra.test_localcloud_policy_checks import refused


@pytest.fixture
def logs(aws_env):
    client = boto3.client("logs")
    client.create_log_group(logGroupName="g1")
    client.create_log_stream(logGroupName="g1", logStreamName="s")
    return client


def invalid(call) -> str:
    return refused(call, "InvalidParameterException", 400)


def test_names_cloudwatch_logs_refuses_are_refused(logs):
    invalid(lambda: logs.create_log_group(logGroupName="bad group*"))
    for name in ("a:b", "a*b"):
        invalid(lambda name=name: logs.create_log_stream(logGroupName="g1", logStreamName=name))
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["g1"]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="g1")["logStreams"]] == ["s"]


def put(logs, events):
    return lambda: logs.put_log_events(logGroupName="g1", logStreamName="s", logEvents=events)


def test_batches_cloudwatch_logs_refuses_are_refused(logs):
    now = int(time.time() * 1000)
    assert "at most 10000" in invalid(put(logs, [{"timestamp": now, "message": "x"}] * 10001))
    assert "bytes" in invalid(put(logs, [{"timestamp": now, "message": "x" * 200_000}] * 6))
    two_days = [{"timestamp": now - 25 * 3600 * 1000, "message": "a"}, {"timestamp": now, "message": "b"}]
    assert "24 hours" in invalid(put(logs, two_days))
    assert logs.get_log_events(logGroupName="g1", logStreamName="s")["events"] == []
    put(logs, [{"timestamp": now, "message": "x"}] * 10000)()  # the limits themselves are taken
