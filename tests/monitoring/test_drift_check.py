"""The drift statistics, and the scheduled check as a Lambda in the local cloud: it reads the
endpoint's log group and the live model's reference as its own role, publishes the scores and
says drift only for shifted traffic, and too little traffic as such."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import boto3
import pytest

from tests.roles import ACCOUNT, REGION, create_role
from textclf import lambda_zip
from textclf.monitoring import drift
from textclf.serving import signals

LABELS = ["billing", "delivery", "returns"]
BUCKET = "textclf-artifacts-drift"
ENDPOINT = "textclf-drift-test"
COMMIT = "a" * 40
THRESHOLDS = {"prediction_mix": 0.25, "score": 0.25, "length": 0.25}


def traffic(n: int, seed: int, shifted: bool = False) -> list[signals.TextSignal]:
    """What a server records of n texts; `shifted`: another class mix, longer texts, less sure."""
    rng = random.Random(seed)
    weights = [0.1, 0.1, 0.8] if shifted else [0.5, 0.3, 0.2]
    out = []
    for _ in range(n):
        label = rng.choices(LABELS, weights)[0]
        characters = int(rng.lognormvariate(6.5 if shifted else 4.3, 0.5))
        score = rng.uniform(0.34, 0.6) if shifted else min(1.0, rng.betavariate(9, 1))
        out.append(signals.TextSignal(label, round(score, 6), characters, characters // 4, False))
    return out


def reference_of(recorded: list[signals.TextSignal]) -> dict:
    predicted = [r.label for r in recorded]
    return drift.build_reference(
        LABELS, predicted, [r.score for r in recorded], predicted, [r.characters for r in recorded]
    )


REFERENCE = reference_of(traffic(2000, seed=1))


def as_lines(recorded: list[signals.TextSignal], version: str = COMMIT) -> list[dict]:
    return [json.loads(line) for line in signals.lines(recorded, 3.0, version)]


# ---------------------------------------------------------------------------------------------
# The statistic


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift():
    assert drift.psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    small = drift.psi([50, 30, 20], [45, 32, 23])
    large = drift.psi([50, 30, 20], [10, 10, 80])
    assert 0 < small < 0.1 < 0.25 < large


def test_an_empty_bin_counts_as_epsilon_not_infinity():
    value = drift.psi([50, 50, 0], [40, 40, 20])

    # The empty bin's term is (0.2 - 1e-4) * ln(0.2 / 1e-4); the two others (0.4 - 0.5) * ln(0.8).
    expected = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - drift.EPSILON) * math.log(0.2 / drift.EPSILON)
    assert value == pytest.approx(expected)
    assert drift.psi([50, 50, 0], [50, 50, 0]) == 0.0  # empty on both sides: no contribution


def test_unshifted_traffic_is_stable_and_shifted_traffic_drifts_on_every_signal():
    stable = drift.evaluate_window(REFERENCE, as_lines(traffic(400, seed=2)), THRESHOLDS, 200)
    shifted = drift.evaluate_window(REFERENCE, as_lines(traffic(400, seed=3, shifted=True)), THRESHOLDS, 200)

    assert stable["status"] == "stable", stable
    assert max(stable["psi"].values()) < 0.1
    assert shifted["status"] == "drift"
    assert shifted["drifted"] == ["prediction_mix", "score", "length"]


def test_too_little_traffic_is_reported_as_such_even_when_it_looks_shifted():
    summary = drift.evaluate_window(REFERENCE, as_lines(traffic(50, seed=4, shifted=True)), THRESHOLDS, 200)

    assert summary["status"] == "insufficient_traffic"
    assert summary["predictions"] == 50
    assert summary["psi"] is None and summary["drifted"] == []


def test_a_label_the_reference_never_saw_is_drift():
    recorded = [signals.TextSignal("refund-fraud", 0.9, 80, 20, False)] * 100 + traffic(300, seed=5)

    summary = drift.evaluate_window(REFERENCE, as_lines(recorded), THRESHOLDS, 200)

    assert "prediction_mix" in summary["drifted"]


def test_a_reference_with_other_bins_is_refused_with_what_to_do():
    other = {**REFERENCE, "score": {"lower_bounds": [0, 0.5], "counts": [1, 1]}}

    with pytest.raises(drift.DriftError, match=r"other bins.*re-run its evaluate stage"):
        drift.check_reference(other, "s3://b/models/x/reference.json")


def test_only_signal_lines_are_read_from_a_log():
    line = signals.lines(traffic(2, seed=6), 1.0, "v")[0]

    assert drift.parse_signal_line("2026-01-01T00:00:00Z " + line)["label"]
    assert drift.parse_signal_line('{"component": "serve", "status": "ready"}') is None
    assert drift.parse_signal_line(line[: len(line) // 2]) is None  # torn
    assert drift.parse_signal_line("plain text") is None


# ---------------------------------------------------------------------------------------------
# The scheduled check, as a Lambda with its own role, in the local cloud


def drift_role() -> str:
    group = drift.log_group(ENDPOINT)
    return create_role(
        "textclf-drift-check",
        "lambda.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": "logs:FilterLogEvents",
                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [
                    f"arn:aws:s3:::{BUCKET}/production/deployment.json",
                    f"arn:aws:s3:::{BUCKET}/models/*/reference.json",
                ],
            },
            # Without ListBucket, S3 answers a missing key with 403 AccessDenied, not 404 NoSuchKey
            # (S3 API reference, GetObject: "Permissions"): the error could not say what is missing.
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringLikeIfExists": {"s3:prefix": ["production/*", "models/*"]}},
            },
            {
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": drift.METRICS_NAMESPACE}},
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/*",
            },
        ],
    )


@pytest.fixture
def world(aws_env, tmp_path):
    """The live model's deployment record and reference, the endpoint's log group, the function."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="production/deployment.json", Body=json.dumps({"commit": COMMIT}))
    s3.put_object(Bucket=BUCKET, Key=f"models/{COMMIT}/reference.json", Body=json.dumps(REFERENCE))
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=drift.log_group(ENDPOINT))
    logs.create_log_stream(logGroupName=drift.log_group(ENDPOINT), logStreamName="AllTraffic/i-1")
    code = Path(lambda_zip.build(drift.ZIP_FILES, str(tmp_path / "drift.zip"))).read_bytes()
    boto3.client("lambda").create_function(
        FunctionName="textclf-drift",
        Runtime="python3.13",
        Role=drift_role(),
        Handler="textclf.monitoring.drift.handler",
        Code={"ZipFile": code},
        Timeout=60,
        Environment={
            "Variables": {
                "ENDPOINT_NAME": ENDPOINT,
                "ARTIFACTS_BUCKET": BUCKET,
                "MONITOR_WINDOW_HOURS": "1",
                "MONITOR_MIN_PREDICTIONS": "200",
            }
        },
    )
    return logs


def write_log(
    logs, recorded: list[signals.TextSignal], version: str = COMMIT, minutes_ago: float = 10
) -> None:
    """The lines the server writes for these predictions, one request of 10 texts per line."""
    now_ms = int((time.time() - minutes_ago * 60) * 1000)
    messages = ['{"component": "serve", "status": "ready"}']  # the server's other lines
    for start in range(0, len(recorded), 10):
        messages += signals.lines(recorded[start : start + 10], 4.0, version)
    events = [{"timestamp": now_ms + i, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(
        logGroupName=drift.log_group(ENDPOINT), logStreamName="AllTraffic/i-1", logEvents=events
    )


def invoke() -> dict:
    response = boto3.client("lambda").invoke(FunctionName="textclf-drift", Payload=b"{}", LogType="Tail")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def published(metric: str) -> list[float]:
    dimensions = [{"Name": "EndpointName", "Value": ENDPOINT}]
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=drift.METRICS_NAMESPACE,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=time.time() - 3 * 3600,
        EndTime=time.time() + 3600,
        Period=60,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in stats["Datapoints"]]


def test_the_lambda_finds_drift_in_shifted_traffic_and_publishes_it(world):
    write_log(world, traffic(400, seed=7, shifted=True))
    write_log(world, traffic(400, seed=8), version="b" * 40)  # the model before: not compared
    write_log(world, traffic(400, seed=9, shifted=True), minutes_ago=90)  # before the window

    summary = invoke()

    assert summary["status"] == "drift"
    assert summary["predictions"] == 400
    assert summary["model_version"] == COMMIT
    assert set(summary["drifted"]) == {"prediction_mix", "score", "length"}
    assert published("Drifted") == [1.0]
    assert published("PSI_score")[0] > 0.25


def test_the_lambda_finds_unshifted_traffic_stable(world):
    write_log(world, traffic(400, seed=10))

    summary = invoke()

    assert summary["status"] == "stable", summary
    assert published("Drifted") == [0.0]
    assert published("WindowPredictions") == [400.0]


def test_the_lambda_reports_too_little_traffic_without_a_drift_score(world):
    write_log(world, traffic(60, seed=11, shifted=True))

    summary = invoke()

    assert summary["status"] == "insufficient_traffic"
    assert published("InsufficientTraffic") == [1.0]
    assert published("Drifted") == [0.0]
    assert published("PSI_score") == []


def test_the_lambda_cannot_read_another_endpoints_logs(world):
    """Its role is scoped to its endpoint's log group: the local cloud refuses the rest, as AWS would."""
    other = "/aws/sagemaker/Endpoints/someone-else"
    world.create_log_group(logGroupName=other)
    boto3.client("lambda").update_function_configuration(
        FunctionName="textclf-drift",
        Environment={"Variables": {"ENDPOINT_NAME": "someone-else", "ARTIFACTS_BUCKET": BUCKET}},
    )

    response = boto3.client("lambda").invoke(FunctionName="textclf-drift", Payload=b"{}")

    assert response.get("FunctionError") == "Unhandled"
    assert "not authorized to perform: logs:FilterLogEvents" in response["Payload"].read().decode()


def test_a_live_model_without_a_reference_is_an_error_that_says_why(world):
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=f"models/{COMMIT}/reference.json")
    write_log(world, traffic(400, seed=12))

    response = boto3.client("lambda").invoke(FunctionName="textclf-drift", Payload=b"{}")

    assert response.get("FunctionError") == "Unhandled"  # raised: the schedule's failure alarm sees it
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "DriftError", error
    assert (
        f"models/{COMMIT}/reference.json: not found; the live model was published without"
        in error["errorMessage"]
    )
