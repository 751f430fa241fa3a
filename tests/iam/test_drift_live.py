"""Shifted traffic through the Terraform-made account raises the drift alarm and the GitHub dispatch;
unshifted traffic does not. Every hop is the real one, each as its principal:

texts -> InvokeEndpoint -> the serving container's signal lines on stderr -> the endpoint's log
group (as the model's role) -> Terraform's metric filters -> textclf/Serving metrics; the drift
check's Lambda (Terraform's function and role, invoked with its schedule target's input, {}) reads
the lines and the live model's reference, publishes PSI and Drifted -> Terraform's drift alarm -> the
alarm topic (SNS) and the alarm's state-change event -> Terraform's rule -> the GitHub dispatch API
destination as the events role -> a fake GitHub, whose payload the drift workflow's step accepts.

The reference is the served model's own predictions on one sample of the bundled data; the
unshifted stream is another sample of it, the shifted one the same kind of messages run together
(six to a text: longer, and the model less sure)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.iam.conftest import Account
from tests.iam.test_principals import RELEASE_JOB, model_folder, targets
from tests.infra.conftest import GITHUB_REPOSITORY
from tests.monitoring.fake_github import FakeGitHub
from tests.release.evaluation import params_of
from textclf.config import AwsParams, load_params
from textclf.localcloud import alarms, eventdelivery
from textclf.monitoring import drift, issue
from textclf.pipeline.sample_data import generate_rows
from textclf.release import promote
from textclf.serving import signals
from textclf.serving.inference import Predictor

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam

WATCHED = "7777777777777777777777777777777777777777"
PER_REQUEST = 10


def sample(seed: int, rows_per_label: int) -> list[str]:
    return [text for text, _ in generate_rows(rows_per_label=rows_per_label, seed=seed)]


def send(endpoint: str, texts: list[str]) -> list[dict]:
    runtime = boto3.client("sagemaker-runtime")
    answers = []
    for start in range(0, len(texts), PER_REQUEST):
        body = json.dumps({"inputs": texts[start : start + PER_REQUEST]}).encode()
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json", Body=body)
        answer = json.loads(response["Body"].read())
        assert answer["model_version"].startswith(WATCHED[:7])
        answers += answer["predictions"]
    return answers


def predictions_counted(namespace: str) -> float:
    """The Predictions metric (all labels) of the watched version, from the metric filters."""
    cloudwatch = boto3.client("cloudwatch")
    found = cloudwatch.list_metrics(
        Namespace=namespace, MetricName="Predictions", Dimensions=[{"Name": "ModelVersion", "Value": WATCHED}]
    )["Metrics"]
    now = datetime.now(UTC)
    queries = [
        {"Id": f"m{i}", "MetricStat": {"Metric": metric, "Period": 3600, "Stat": "Sum"}}
        for i, metric in enumerate(found)
    ]
    if not queries:
        return 0.0
    result = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5)
    )
    return sum(sum(r["Values"]) for r in result["MetricDataResults"])


def signal_lines(group: str) -> list[str]:
    logs = boto3.client("logs")
    events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{WATCHED}"')["events"]
    return [e["message"] for e in events]


def settled(namespace: str, at_least: int, timeout: float = 20.0) -> float:
    """The Predictions count once it reached `at_least` and stopped moving (the container's log is
    shipped in batches)."""
    deadline = time.monotonic() + timeout
    last = -1.0
    while time.monotonic() < deadline:
        count = predictions_counted(namespace)
        if count >= at_least and count == last:
            return count
        last = count
        time.sleep(0.5)
    return last


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def scheduled_check(function: str) -> dict:
    """The drift check invoked with what its EventBridge schedule sends: the schedule target's Input
    ({} in terraform/drift.tf; EventBridge sends a target's Input in place of the scheduled event)."""
    rule = function.removesuffix("-drift-check") + "-drift-schedule"
    (target,) = boto3.client("events").list_targets_by_rule(Rule=rule)["Targets"]
    assert json.loads(target["Input"]) == {}, target
    response = boto3.client("lambda").invoke(FunctionName=function, Payload=target["Input"].encode())
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def alarm_state(name: str) -> str:
    return boto3.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


@pytest.fixture
def watched_model(env: Account, tiny_model_dir, tmp_path, monkeypatch):
    """The tiny model published (with its own reference) and promoted to production; the model that
    served before is put back afterwards."""
    params = load_params()
    predictor = Predictor(tiny_model_dir, params.model.max_length)
    texts = sample(seed=101, rows_per_label=60)
    predicted = predictor.predict(texts)
    labels = [label for label, _ in predicted]
    reference = drift.build_reference(
        list(predictor.labels), labels, [s for _, s in predicted], labels, [len(t) for t in texts]
    )
    reference_file = tmp_path / "reference.json"
    reference_file.write_text(json.dumps(reference), encoding="utf-8")
    monkeypatch.setattr(promote, "REFERENCE_FILE", reference_file)  # publish uploads it with the model

    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    sagemaker = boto3.client("sagemaker")
    endpoint = env.outputs["endpoint_name"]
    try:
        live = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=live)
        url = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        before = url["PrimaryContainer"]["ModelDataUrl"].split("/models/")[1].split("/")[0]
    except Exception:  # this file alone: nothing serves yet
        before = None
    promote.publish(
        WATCHED, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    with env.acting_as(env.github("promote", RELEASE_JOB)):
        promote.promote(WATCHED, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)
    try:
        yield endpoint
    finally:
        if before is not None:
            with env.acting_as(env.github("promote", RELEASE_JOB)):
                promote.promote(before, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)


def test_shifted_traffic_raises_the_drift_alarm_and_the_dispatch_unshifted_does_not(
    env: Account, watched_model: str, local_cloud, monkeypatch
):
    monkeypatch.setattr(alarms, "EVALUATION_INTERVAL_S", 0.0)  # CloudWatch evaluates every minute
    function = f"{watched_model}-drift-check"
    drift_alarm = f"{watched_model}-drift"
    namespace = f"textclf/Serving/{watched_model}"
    group = drift.log_group(watched_model)

    # Terraform made the metric filters the signals module describes.
    made = boto3.client("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    assert {
        f["metricTransformations"][0]["metricName"]: (
            f["filterPattern"],
            f["metricTransformations"][0]["metricValue"],
            f["metricTransformations"][0]["dimensions"],
        )
        for f in made
    } == {name: (s["pattern"], s["value"], s["dimensions"]) for name, s in signals.METRIC_FILTERS.items()}

    with FakeGitHub() as github:
        hosts = {"api_destination_hosts": {"https://api.github.com": github.url}}
        request = urllib.request.Request(
            f"{local_cloud.url}{eventdelivery.CONTROL_PATH}",
            data=json.dumps(hosts).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()

        # Unshifted: the same kind of messages as the reference. (The release's smoke request was
        # served by this model too: one more text.)
        unshifted = sample(seed=202, rows_per_label=40)
        send(watched_model, unshifted)
        expected = settled(namespace, at_least=len(unshifted))
        assert expected in (len(unshifted), len(unshifted) + 1), expected
        stable = scheduled_check(function)
        assert stable["status"] == "stable", stable
        assert stable["predictions"] == expected
        assert max(stable["psi"].values()) < 0.25
        assert alarm_state(drift_alarm) == "OK"
        assert github.dispatches == []

        # Shifted: six messages to a text.
        pieces = sample(seed=303, rows_per_label=40)
        shifted = [" ".join(pieces[i : i + 6]) for i in range(0, len(pieces), 1)][: len(unshifted)]
        send(watched_model, shifted)
        expected += len(shifted)
        assert settled(namespace, at_least=expected) == expected
        drifted = scheduled_check(function)
        assert drifted["status"] == "drift", drifted
        assert "length" in drifted["drifted"]  # half the window's texts moved to the long bins

        assert alarm_state(drift_alarm) == "ALARM"
        assert wait_for(lambda: github.dispatches, timeout=5), (
            eventdelivery.DELIVERIES,
            eventdelivery.ALARM_EVENTS,
        )

    [dispatch] = github.dispatches
    assert dispatch["path"] == f"/repos/{GITHUB_REPOSITORY}/dispatches"
    assert dispatch["headers"]["Accept"] == "application/vnd.github+json"
    payload = dispatch["payload"]
    assert payload["event_type"] == "model-drift"
    alarm = issue.parse(json.dumps(payload["client_payload"]))  # what the drift workflow accepts
    assert (alarm.alarm, alarm.endpoint, alarm.log_group) == (
        drift_alarm,
        watched_model,
        f"/aws/lambda/{function}",
    )
    title, _ = issue.render(alarm)
    assert title == f"Model drift on {watched_model}"

    # The alarm topic was notified too.
    from moto.sns.models import sns_backends

    topic = next(
        t for t in sns_backends["123456789012"]["us-east-1"].topics.values() if t.name.endswith("-alarms")
    )
    assert any(drift_alarm in str(notification) for notification in topic.sent_notifications)
