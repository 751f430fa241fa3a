"""Staging checks on a real (local-cloud) endpoint serving the tiny model, and the bake window's
alarm watch. The production rollback on an alarm runs in tests/iam (the Terraform-made account)."""

from __future__ import annotations

import csv
import http.server
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from redeploy_world import COMMITS
from test_localcloud_endpoints import make_config, settle

from textclf.config import Params
from textclf.release import staging
from textclf.serving.inference import Predictor

TEXTS = [f"message {i} about my {topic}" for i in range(12) for topic in ("invoice", "parcel")][:20]


def staged(world, tmp_path: Path, tiny_model_dir: Path, expected: list[str] | None = None):
    """An endpoint on the tiny model, and the test split with evaluate's predictions for it."""
    make_config(world, "one", COMMITS[0])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert settle(world)["EndpointStatus"] == "InService"
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "test.jsonl").write_text("".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in TEXTS))
    predicted = expected or Predictor(tiny_model_dir, max_length=128).predict_labels(TEXTS)
    confusion = tmp_path / "confusion.csv"
    with confusion.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["actual", "predicted"])
        writer.writerows(("x", label) for label in predicted)
    return prepared, confusion, predicted


def params(**staging_settings) -> Params:
    settings = {"burst_requests": 8, "burst_concurrency": 2, **staging_settings}
    return Params.model_validate({"deploy": {"serve": {"max_batch_size": 8}, "staging": settings}})


def test_the_staged_endpoint_gives_evaluates_labels_fast_enough_and_no_5xx(world, tmp_path, tiny_model_dir):
    prepared, confusion, _ = staged(world, tmp_path, tiny_model_dir)
    runtime = boto3.client("sagemaker-runtime")

    # The latency budget is this test's generous one: the p95 of three requests is the slowest, the
    # endpoint's first (its model loading), seconds on a loaded test machine; the budget's refusal
    # has its own test below.
    summary = staging.check(
        params(latency_p95_ms=60_000), "ep", runtime, *staging.test_split(prepared, confusion)
    )

    assert summary["passed"], summary["problems"]
    assert summary["replay"]["rows"] == len(TEXTS) and summary["replay"]["requests"] == 3  # batches of 8
    assert summary["burst"] == {
        "requests": 8,
        "concurrency": 2,
        "errors_5xx": 0,
        "statuses": {"200": 8},
        "no_answer": 0,
        "no_answer_example": None,
    }
    assert "20 of 20 labels equal to evaluate's" in staging.markdown(summary)


def test_another_graph_and_a_slow_endpoint_fail_with_the_numbers(world, tmp_path, tiny_model_dir):
    prepared, confusion, predicted = staged(world, tmp_path, tiny_model_dir)
    flipped = [
        ("billing" if label != "billing" else "delivery") if i in (3, 7) else label
        for i, label in enumerate(predicted)
    ]
    confusion = tmp_path / "other.csv"
    with confusion.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("actual", "predicted"), *(("x", label) for label in flipped)])
    runtime = boto3.client("sagemaker-runtime")

    summary = staging.check(
        params(latency_p95_ms=0.001), "ep", runtime, *staging.test_split(prepared, confusion)
    )

    assert not summary["passed"]
    assert summary["replay"]["mismatched_rows"] == [3, 7]
    assert any("2 of 20 test texts got another label" in p for p in summary["problems"])
    assert any("above deploy.staging.latency_p95_ms (0.001 ms)" in p for p in summary["problems"])


def test_the_burst_counts_the_containers_5xx_that_come_back_as_model_errors(world, tmp_path, tiny_model_dir):
    """A container's 500 reaches the client as ModelError, HTTP 424, its code in OriginalStatusCode:
    the burst counts it as the 5xx it is (the local cloud's injected fault, as in the bake rehearsal)."""
    from redeploy_world import artifact_url

    from textclf.localcloud import runtime

    prepared, confusion, _ = staged(world, tmp_path, tiny_model_dir)
    texts, expected = staging.test_split(prepared, confusion)
    client = boto3.client("sagemaker-runtime")
    runtime.inject_faults(artifact_url(COMMITS[0]), 1.0)
    try:
        burst = staging.burst(client, "ep", texts[0], requests=6, concurrency=2)
        with pytest.raises(ClientError) as caught:
            client.invoke_endpoint(EndpointName="ep", ContentType="application/json", Body=b'{"inputs": "x"}')
    finally:
        runtime.clear_faults()

    assert burst["errors_5xx"] == 6 and burst["statuses"] == {"500": 6}
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424 and error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 500 and error["OriginalMessage"] == "injected fault"
    assert error["LogStreamArn"].startswith("arn:aws:logs:us-east-1:")
    assert ":log-group:/aws/sagemaker/Endpoints/ep:log-stream:AllTraffic/" in error["LogStreamArn"]
    summary = staging.check(params(), "ep", client, texts, expected)  # faults cleared: passes again
    assert summary["passed"], summary["problems"]


def test_a_replay_the_container_fails_is_a_named_check_failure(world, tmp_path, tiny_model_dir):
    """Found by the rehearsal: the replay's ModelError ended `make staging-check` in a traceback."""
    from redeploy_world import artifact_url

    from textclf.localcloud import runtime

    prepared, confusion, _ = staged(world, tmp_path, tiny_model_dir)
    texts, expected = staging.test_split(prepared, confusion)
    runtime.inject_faults(artifact_url(COMMITS[0]), 1.0)
    try:
        with pytest.raises(staging.StagingError, match=r"replaying the test split through ep: rows 0-"):
            staging.check(params(), "ep", boto3.client("sagemaker-runtime"), texts, expected)
    finally:
        runtime.clear_faults()


class Unavailable(http.server.BaseHTTPRequestHandler):
    """SageMaker Runtime answering 503 (ServiceUnavailable) to every request, counting them."""

    requests = 0

    def do_POST(self) -> None:
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"__type": "ServiceUnavailable", "Message": "try later"}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_the_burst_makes_one_attempt_per_request_so_retries_hide_no_5xx(aws_env):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        retrying = boto3.client(
            "sagemaker-runtime", endpoint_url=url, config=Config(retries={"max_attempts": 2})
        )
        with pytest.raises(ClientError):
            retrying.invoke_endpoint(EndpointName="ep", ContentType="application/json", Body=b"{}")
        assert Unavailable.requests == 3  # what a default-configured client does: retry a 503

        Unavailable.requests = 0
        burst = staging.burst(retrying, "ep", "text", requests=4, concurrency=2)
    finally:
        server.shutdown()
    assert Unavailable.requests == 4
    assert burst["errors_5xx"] == 4 and burst["statuses"] == {"503": 4}


def test_a_test_split_that_is_not_the_evaluated_one_is_refused(tmp_path):
    (tmp_path / "test.jsonl").write_text(json.dumps({"text": "a", "label": "x"}) + "\n")
    (tmp_path / "confusion.csv").write_text("actual,predicted\nx,y\nx,y\n")
    with pytest.raises(staging.StagingError, match="2 predictions for 1 test texts"):
        staging.test_split(tmp_path, tmp_path / "confusion.csv")


def make_alarm(cloudwatch, name: str, period: int = 60, evaluation_periods: int = 1, **more) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=period,
        EvaluationPeriods=evaluation_periods,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **more,
    )


def set_state(cloudwatch, name: str, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test: {state}")


def polls(*actions):
    """A `sleep` for watch_alarms that runs one action per poll (then nothing), and a clock that
    advances one poll (30 s) per reading."""
    pending = list(actions)
    ticks = iter(range(0, 100_000, 30))

    def sleep(_: float) -> None:
        if pending:
            pending.pop(0)()

    return {"sleep": sleep, "clock": lambda: next(ticks)}


def test_the_bake_watch_returns_the_first_alarm_or_none_when_the_window_passes(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    for name in ("ep-5xx", "ep-latency"):
        make_alarm(cloudwatch, name)
    assert staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 90, 30, **polls()) is None

    fired = staging.watch_alarms(
        cloudwatch,
        ["ep-5xx", "ep-latency"],
        90,
        30,
        **polls(lambda: set_state(cloudwatch, "ep-latency", "ALARM")),
    )
    assert fired == "ep-latency"
    with pytest.raises(staging.StagingError, match="do not exist"):
        staging.watch_alarms(cloudwatch, ["ep-5xx", "nope"], 90, 30, sleep=lambda s: None)


def test_an_alarm_still_in_alarm_from_the_previous_model_does_not_roll_a_fix_back(aws_env):
    """Recorded before the window opens, an alarm in ALARM counts only when it transitions again."""
    cloudwatch = boto3.client("cloudwatch")
    for name in ("ep-5xx", "ep-latency"):
        make_alarm(cloudwatch, name)
    set_state(cloudwatch, "ep-latency", "ALARM")  # fired on the broken model this release replaces

    assert staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 90, 30, **polls()) is None
    # A state written again (a new reason, the same state) is no transition: StateTransitionedTimestamp
    # stays where StateUpdatedTimestamp moves.
    same = polls(lambda: set_state(cloudwatch, "ep-latency", "ALARM"))
    assert staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 90, 30, **same) is None

    # It clears on the fix's traffic and fires again within the window: that counts.
    again = polls(
        lambda: set_state(cloudwatch, "ep-latency", "OK"),
        lambda: set_state(cloudwatch, "ep-latency", "ALARM"),
    )
    assert staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 120, 30, **again) == "ep-latency"
    # Between two polls, unseen: its transition time still tells.
    set_state(cloudwatch, "ep-latency", "ALARM")
    flicker = polls(
        lambda: (set_state(cloudwatch, "ep-latency", "OK"), set_state(cloudwatch, "ep-latency", "ALARM"))
    )
    assert staging.watch_alarms(cloudwatch, ["ep-latency"], 90, 30, **flicker) == "ep-latency"


def test_a_transition_after_the_switch_counts_even_before_the_watch_starts(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "ep-5xx")
    set_state(cloudwatch, "ep-5xx", "ALARM")
    time.sleep(0.05)
    switched_at = datetime.now(UTC)
    assert staging.watch_alarms(cloudwatch, ["ep-5xx"], 90, 30, switched_at=switched_at, **polls()) is None

    switched_at = datetime.now(UTC)
    time.sleep(0.05)
    set_state(cloudwatch, "ep-5xx", "OK")
    set_state(cloudwatch, "ep-5xx", "ALARM")  # the new model's traffic, before `textclf bake` began
    assert (
        staging.watch_alarms(cloudwatch, ["ep-5xx"], 90, 30, switched_at=switched_at, **polls()) == "ep-5xx"
    )


def test_the_switch_is_the_endpoints_last_change_read_from_the_alarms_dimension(world):
    """Without a switch time from the caller, the watch reads the endpoint the alarms name: an
    alarm that fired before the update switched it is the previous model's, one after is the new's."""
    from test_localcloud_endpoints import make_config, settle

    make_config(world, "one", COMMITS[0])
    make_config(world, "two", COMMITS[1])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert settle(world)["EndpointStatus"] == "InService"
    cloudwatch = boto3.client("cloudwatch")
    dimensions = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    make_alarm(cloudwatch, "ep-5xx", Dimensions=dimensions)
    set_state(cloudwatch, "ep-5xx", "ALARM")  # on the model being replaced
    time.sleep(0.05)
    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="two")
    assert settle(world)["EndpointConfigName"] == "two"

    assert staging.watch_alarms(cloudwatch, ["ep-5xx"], 90, 30, **polls()) is None

    time.sleep(0.05)
    set_state(cloudwatch, "ep-5xx", "OK")
    set_state(cloudwatch, "ep-5xx", "ALARM")  # the new model's, before the watch began
    assert staging.watch_alarms(cloudwatch, ["ep-5xx"], 90, 30, **polls()) == "ep-5xx"


def test_a_bake_window_shorter_than_an_alarm_needs_to_fire_is_refused_with_the_numbers(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    make_alarm(cloudwatch, "ep-5xx", period=300)
    make_alarm(cloudwatch, "ep-latency", period=300, evaluation_periods=3)  # all 3 must breach: 900 s

    with pytest.raises(staging.StagingError) as refused:
        staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 600, 30, **polls())
    message = str(refused.value)
    assert "bake window of 600 s" in message and "ep-5xx" not in message
    assert "ep-latency needs 900 s (Period 300 s x 3 breaching datapoints)" in message

    make_alarm(cloudwatch, "ep-latency", period=300, evaluation_periods=3, DatapointsToAlarm=2)  # 2 of 3
    assert staging.watch_alarms(cloudwatch, ["ep-5xx", "ep-latency"], 600, 30, **polls()) is None


def test_the_evaluated_split_is_published_with_the_model_and_checked_on_the_way_back(
    world, tmp_path, tiny_model_dir, monkeypatch
):
    """Publish carries the test split with evaluate's labels (the staging check's input) under the
    model's write-once prefix, its sha256 in the manifest; a replaced file is refused."""
    from textclf.config import AwsParams
    from textclf.release import promote

    prepared, confusion, predicted = staged(world, tmp_path, tiny_model_dir)
    monkeypatch.setattr(promote, "PREDICTIONS_FILE", confusion)
    from evaluation import params_of, write_evaluation

    metrics = write_evaluation(tiny_model_dir, tmp_path / "eval.json")
    gate = tmp_path / "gate.json"  # the evaluate stage's passing verdict beside it: publish requires one
    aws = AwsParams(artifacts_bucket="textclf-artifacts")
    commit = "7" * 40

    manifest = promote.publish(
        commit,
        aws,
        tiny_model_dir,
        metrics,
        gate,
        test_split_file=prepared / "test.jsonl",
        params=params_of(tiny_model_dir),
    )

    assert set(manifest["files"]) == {promote.EVALUATED_NAME}
    assert promote.published_test_split(commit, aws) == (TEXTS, predicted)
    # Only the bucket's write-once policy keeps this from happening on AWS (tests/iam); here the
    # reader must notice on its own.
    world.s3.put_object(
        Bucket="textclf-artifacts",
        Key=f"models/{commit}/{promote.EVALUATED_NAME}",
        Body=b'{"text": "a", "predicted": "billing"}\n',
    )
    with pytest.raises(promote.ReleaseError, match="does not match the sha256 in its manifest"):
        promote.published_test_split(commit, aws)
