"""Before production: the released model checked on a real endpoint; after it: a bake window.

`textclf staging-check` (after the release lands on the staging endpoint):
1. The test split replayed through the endpoint. Its predictions must equal the ones the PR's
   evaluate stage made (`plots/confusion.csv`, one row per test text in order): the endpoint serves
   the same ONNX graph through the same code, so any difference is a defect, not noise.
2. The latency of those requests: p95 within `deploy.staging.latency_p95_ms`.
3. A bounded burst (`burst_requests` at `burst_concurrency`): no 5xx. A container's 5xx reaches the
   client as InvokeEndpoint's ModelError (HTTP 424) with the container's code in
   `OriginalStatusCode`, so errors are counted by that code; and the burst's client makes one attempt
   per request (botocore would retry a transient 5xx and hide it).
The figures go to stdout and, in GitHub Actions, to the job summary ($GITHUB_STEP_SUMMARY).

`textclf bake` (after production switched): the endpoint's CloudWatch alarms are watched for
`deploy.staging.bake_seconds`; an alarm that goes into ALARM in the window rolls production back to
the previous model (the same promote path, so the previous model's digest is checked again) and
fails the release. The alarms' states are recorded when the watch starts and only a transition to
ALARM counts (the alarms watch the endpoint, not a model: one still in ALARM from the previous model
would roll a fix back to it), and a window shorter than an alarm needs to fire is refused.

SageMaker's deployment guardrails could back this: the Exclusions page excludes Serverless endpoints
from rolling deployments only, so a blue/green UpdateEndpoint with auto-rollback alarms and a baking
period is not excluded for them (SageMaker developer guide, "Deployment guardrails", Exclusions,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html). It does not
replace the bake here: the redeploy Lambda waits for its update, and a baking period as long as
this window would hold it near Lambda's 15-minute limit; a rollback inside SageMaker would leave the
champion record naming the model that was rolled back; and the local cloud has no guardrails to test
it against. docs/staging.md says what adopting them would take.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from textclf.atomic import read_regular
from textclf.config import Params


class StagingError(RuntimeError):
    """A check of the staged model failed; the message says which and by how much."""


# The names the release steps are given, checked before any AWS call: ' ' reached InvokeEndpoint
# (SageMaker's ValidationError, or a connection error naming /endpoints/%20/), and --function ''
# was reported as TEXTCLF_REDEPLOY_FUNCTION not being set.
# CreateEndpoint's EndpointName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html).
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# Invoke's FunctionName: a name (at most 64 characters), an ARN or a partial ARN, with an optional
# version or alias (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, Request Parameters).
FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"(?P<name>[a-zA-Z0-9-_]{1,64})(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def check_endpoint_name(value: str | None, option: str = "--endpoint") -> str:
    """`value` if it is a SageMaker endpoint name; StagingError naming `option` and its variable."""
    where = f"{option} (or TEXTCLF_ENDPOINT_NAME)"
    if value is None:
        raise StagingError(
            f"name the endpoint: {where}, the Terraform output endpoint_name (make infra-output)"
        )
    if not ENDPOINT_NAME.fullmatch(value):
        raise StagingError(
            f"{where} {value!r} is not a SageMaker endpoint name (1 to 63 letters, digits and hyphens, "
            "starting and ending with a letter or digit): pass the Terraform output endpoint_name "
            "(make infra-output)"
        )
    return value


def check_commit_option(value: str | None, option: str = "--commit") -> str | None:
    """`value` as given (promote checks it is a full commit), None when not given: the staging check
    then replays this checkout's outputs. An empty or blank value is refused: it read as "not given"
    and replayed this checkout's outputs instead of the commit the caller meant. An empty COMMIT in
    the environment is "not given", as `make staging-check` reads it."""
    if value is not None and not value.strip():
        raise StagingError(
            f"{option} {value!r} is empty: pass the full commit whose published test split to replay "
            "(make staging-check COMMIT=<sha>), or leave it out to replay this checkout's outputs "
            "(data/prepared/test.jsonl and plots/confusion.csv)"
        )
    return value


def check_function_name(value: str | None, option: str = "--function") -> str | None:
    """`value` if it is a Lambda function name or ARN (None: not given, promote says so)."""
    if value is not None and not (len(value) <= 170 and FUNCTION_NAME.fullmatch(value)):
        raise StagingError(
            f"{option} (or TEXTCLF_REDEPLOY_FUNCTION) {value!r} is not a Lambda function name (1 to 64 "
            "letters, digits, hyphens and underscores) or ARN: pass the Terraform output "
            "redeploy_function_name (make infra-output)"
        )
    return value


# The evaluated test split and evaluate's predictions for it are read whole, as regular files of at
# most this size: every text is replayed against the staging endpoint (and published as one object),
# so a split this large is already far beyond what the check can replay in its time; a link to
# /dev/zero or a FIFO in their place would otherwise fill the memory or block the check for ever.
MAX_SPLIT_BYTES = 256 * 1024**2


def test_split(prepared_dir: Path, confusion_csv: Path) -> tuple[list[str], list[str]]:
    """The test texts and the labels evaluate predicted for them, row for row."""
    test_file = prepared_dir / "test.jsonl"
    try:
        lines = read_regular(test_file, MAX_SPLIT_BYTES).decode("utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines]
        rows = io.StringIO(read_regular(confusion_csv, MAX_SPLIT_BYTES).decode("utf-8"), newline="")
        predicted = [row["predicted"] for row in csv.DictReader(rows)]
        strings = all(isinstance(text, str) for text in texts) and all(isinstance(p, str) for p in predicted)
        if not strings:  # a line that is not an object of a text, or a short CSV row
            raise ValueError("a text or a predicted label is missing or not a string")
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        problem = f"{error.filename}: {error.strerror}" if isinstance(error, OSError) else error
        raise StagingError(
            f"cannot read the evaluated test split ({problem}); run `dvc pull` or `dvc repro` so "
            f"{test_file} and {confusion_csv} are the release's"
        ) from None
    if len(texts) != len(predicted) or not texts:
        raise StagingError(
            f"{confusion_csv} has {len(predicted)} predictions for {len(texts)} test texts: not the "
            "evaluation of this test split; run `dvc repro`"
        )
    return texts, predicted


def _invoke(runtime: Any, endpoint: str, texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    response = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"inputs": texts}).encode(),
    )
    try:
        answer = json.loads(response["Body"].read())
        predictions = answer["predictions"]
        labels = [p["label"] for p in predictions]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise StagingError(
            f"{endpoint} answered without the serving contract's "
            '{"predictions": [{"label": ...}, ...]}: not the project\'s serving image?'
        ) from None
    # One label per text, or rows would go unchecked and the replay pass with them missing.
    if len(labels) != len(texts) or not all(isinstance(label, str) for label in labels):
        raise StagingError(
            f"{endpoint} answered {len(labels)} predictions for {len(texts)} texts (or a label that "
            "is not a string): the replay cannot compare them; the staged model is not released further"
        )
    return labels, (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def replay(runtime: Any, endpoint: str, texts: list[str], expected: list[str], batch: int) -> dict[str, Any]:
    """The test split through the endpoint, one request per batch; rows whose label differs."""
    mismatches: list[int] = []
    latencies: list[float] = []
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(texts), batch):
        try:
            labels, ms = _invoke(runtime, endpoint, texts[start : start + batch])
        except (BotoCoreError, ClientError) as error:
            # A container's 5xx arrives as ModelError (HTTP 424, OriginalStatusCode): a failed check.
            raise StagingError(
                f"replaying the test split through {endpoint}: rows {start}-{start + batch - 1} were "
                f"not answered ({error}); the staged model is not released further"
            ) from None
        latencies.append(ms)
        mismatches += [start + i for i, label in enumerate(labels) if label != expected[start + i]]
    return {
        "rows": len(texts),
        "mismatched_rows": mismatches,
        "requests": len(latencies),
        "latency_p50_ms": round(percentile(latencies, 0.5), 1),
        "latency_p95_ms": round(percentile(latencies, 0.95), 1),
    }


# One attempt per request: `total_max_attempts` counts the first one ("max_attempts": 1 would still
# retry once; botocore "Retries" guide).
NO_RETRIES = {"retries": {"total_max_attempts": 1}}


def without_retries(client: Any) -> Any:
    """A client like `client` (service, region, endpoint, settings) that never retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config.merge(Config(**NO_RETRIES)),
    )


def status_of(error: Any) -> int:
    """The status a failed request really had: a ModelError (HTTP 424) carries the container's own
    code in OriginalStatusCode (SageMaker Runtime InvokeEndpoint, Errors)."""
    response = error.response
    if response.get("Error", {}).get("Code") == "ModelError" and "OriginalStatusCode" in response:
        return int(response["OriginalStatusCode"])
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))


def burst(runtime: Any, endpoint: str, text: str, requests: int, concurrency: int) -> dict[str, Any]:
    """`requests` one-text requests, `concurrency` at a time, one attempt each; counts the answers by
    status (the container's, for a ModelError), the server (5xx) errors among them, and the requests
    that got no HTTP answer at all (a connection closed or timed out: botocore's BotoCoreError), with
    the first such error. Those are what a burst is there to find: counted, not a traceback (R13B-28)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = without_retries(runtime)
    unanswered: list[str] = []

    def one(_: int) -> int | None:
        try:
            _invoke(client, endpoint, [text])
            return 200
        except ClientError as error:
            return status_of(error)
        except BotoCoreError as error:
            unanswered.append(str(error))
            return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(one, range(requests)))
    codes = [code for code in answers if code is not None]
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors_5xx": sum(c >= 500 for c in codes),
        "statuses": {str(code): codes.count(code) for code in sorted(set(codes))},
        "no_answer": len(unanswered),
        "no_answer_example": unanswered[0][:300] if unanswered else None,
    }


def check(
    params: Params, endpoint: str, runtime: Any, texts: list[str], expected: list[str]
) -> dict[str, Any]:
    """All staging checks on the test texts and the labels evaluate gave them; the summary, with
    every failed check named in `problems`."""
    check_endpoint_name(endpoint)
    settings = params.deploy.staging
    summary = {
        "endpoint": endpoint,
        "replay": replay(runtime, endpoint, texts, expected, params.deploy.serve.max_batch_size),
        "burst": burst(runtime, endpoint, texts[0], settings.burst_requests, settings.burst_concurrency),
        "latency_p95_budget_ms": settings.latency_p95_ms,
    }
    problems = []
    mismatched = summary["replay"]["mismatched_rows"]
    if mismatched:
        problems.append(
            f"{len(mismatched)} of {len(texts)} test texts got another label than evaluate gave them "
            f"(rows {mismatched[:10]}): the endpoint does not serve the evaluated graph"
        )
    if summary["replay"]["latency_p95_ms"] > settings.latency_p95_ms:
        problems.append(
            f"latency p95 {summary['replay']['latency_p95_ms']} ms is above deploy.staging.latency_p95_ms "
            f"({settings.latency_p95_ms} ms)"
        )
    if summary["burst"]["errors_5xx"]:
        problems.append(
            f"{summary['burst']['errors_5xx']} of {settings.burst_requests} burst requests got a 5xx"
        )
    refused = {code: n for code, n in summary["burst"]["statuses"].items() if 400 <= int(code) < 500}
    if refused:
        # A throttled request is a 400 ThrottlingException (InvokeEndpoint, Errors) or a 429: the
        # endpoint takes fewer concurrent requests than its callers send, which production's callers
        # and the API front door would meet as refusals.
        problems.append(
            f"{sum(refused.values())} of {settings.burst_requests} burst requests were refused (answers by "
            f"status: {refused}): every request must be answered 200; a 400 ThrottlingException or a 429 "
            "means the endpoint takes fewer concurrent requests than deploy.staging.burst_concurrency "
            f"({settings.burst_concurrency}): raise its max_concurrency (deploy.serverless.max_concurrency "
            "or the environment's serverless_max_concurrency)"
        )
    if summary["burst"]["no_answer"]:
        problems.append(
            f"{summary['burst']['no_answer']} of {settings.burst_requests} burst requests got no answer "
            f"({summary['burst']['no_answer_example']})"
        )
    summary["passed"] = not problems
    summary["problems"] = problems
    return summary


def markdown(summary: dict[str, Any]) -> str:
    replay_, burst_ = summary["replay"], summary["burst"]
    verdict = "passed" if summary["passed"] else "FAILED"
    lines = [
        f"### Staging checks on `{summary['endpoint']}`: {verdict}",
        "",
        "| Check | Result |",
        "| --- | --- |",
        f"| Test split replayed | {replay_['rows'] - len(replay_['mismatched_rows'])} of {replay_['rows']} "
        "labels equal to evaluate's |",
        f"| Latency p50 / p95 per request | {replay_['latency_p50_ms']} / {replay_['latency_p95_ms']} ms "
        f"(budget {summary['latency_p95_budget_ms']} ms) |",
        f"| Burst | {burst_['requests']} requests at {burst_['concurrency']}, one attempt each: "
        f"{burst_['errors_5xx']} with 5xx (statuses {burst_['statuses']}), "
        f"{burst_.get('no_answer', 0)} without an answer |",
    ]
    lines += [f"\n- {problem}" for problem in summary["problems"]]
    return "\n".join(lines) + "\n"


def write_job_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


# ---------------------------------------------------------------------------------------------
# Bake window


def _transitioned(alarm: dict[str, Any]) -> Any:
    """When the alarm's state last changed (StateUpdatedTimestamp where the service lacks the newer
    StateTransitionedTimestamp)."""
    return alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")


def seconds_to_fire(alarm: dict[str, Any]) -> int:
    """The least time an alarm needs to reach ALARM: Period x DatapointsToAlarm breaching periods
    (DatapointsToAlarm defaults to EvaluationPeriods; PutMetricAlarm API reference)."""
    return int(alarm["Period"]) * int(alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"])


def _describe(cloudwatch: Any, alarms: list[str]) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    except (BotoCoreError, ClientError) as error:
        raise StagingError(
            f"cannot read the alarms {alarms} ({error}): the bake cannot tell whether the release is "
            "healthy, so it fails; check the AWS credentials and region, and the alarm names"
        ) from None
    missing = set(alarms) - {alarm["AlarmName"] for alarm in found}
    if missing:
        raise StagingError(f"alarms {sorted(missing)} do not exist: nothing would watch the bake")
    return found


def endpoint_switched_at(alarms: list[dict[str, Any]], sagemaker: Any) -> datetime | None:
    """When the one endpoint these alarms watch (their EndpointName dimension) last changed: the
    moment an update switched it to the new model. None when they name no single endpoint or it
    cannot be read (the watch then counts transitions from its own start)."""
    from botocore.exceptions import BotoCoreError, ClientError

    names = {
        dimension["Value"]
        for alarm in alarms
        for dimension in alarm.get("Dimensions") or []
        if dimension.get("Name") == "EndpointName"
    }
    if len(names) != 1:
        return None
    try:
        return sagemaker.describe_endpoint(EndpointName=names.pop()).get("LastModifiedTime")
    except (BotoCoreError, ClientError):
        return None


def _sagemaker_like(client: Any) -> Any:
    """A SageMaker client in the region of `client`, with the environment's credentials and endpoint."""
    import boto3

    return boto3.client("sagemaker", region_name=client.meta.region_name)


def watch_alarms(
    cloudwatch: Any,
    alarms: list[str],
    seconds: float,
    poll_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    switched_at: datetime | None = None,
    sagemaker: Any = None,
) -> str | None:
    """The first of `alarms` that went into ALARM after the switch, within `seconds`; None when the
    window passed without one.

    The alarms' dimensions are the endpoint's, whichever model serves: an alarm already in ALARM
    when the window opens fired on the previous model's traffic and would roll a fix back to the
    broken model. So the states are recorded first and only a transition to ALARM counts: one after
    the switch (`switched_at`, else the LastModifiedTime of the endpoint the alarms name, read with
    `sagemaker` or a client like `cloudwatch`), or, when neither is known, one after the watch
    began. A window shorter than an alarm needs to fire is refused, naming the alarm and the
    numbers: such a bake could only ever pass."""
    if not alarms:
        raise StagingError("no alarms to watch: name the endpoint's alarms (Terraform outputs)")
    found = _describe(cloudwatch, alarms)
    too_slow = [
        f"{a['AlarmName']} needs {seconds_to_fire(a)} s (Period {a['Period']} s x "
        f"{a.get('DatapointsToAlarm') or a['EvaluationPeriods']} breaching datapoints)"
        for a in found
        if seconds_to_fire(a) > seconds
    ]
    if too_slow:
        raise StagingError(
            f"the bake window of {seconds:.0f} s is shorter than an alarm needs to fire: "
            f"{'; '.join(too_slow)}. Raise deploy.staging.bake_seconds or shorten the alarm "
            "(Terraform endpoint_alarm_period_seconds)"
        )
    before = {alarm["AlarmName"]: _transitioned(alarm) for alarm in found}
    if switched_at is None:
        switched_at = endpoint_switched_at(found, sagemaker or _sagemaker_like(cloudwatch))
    deadline = clock() + seconds
    while True:
        for alarm in found:
            if alarm["StateValue"] != "ALARM":
                continue
            when = _transitioned(alarm)
            if when != before[alarm["AlarmName"]] or (switched_at is not None and when >= switched_at):
                return alarm["AlarmName"]
        if clock() >= deadline:
            return None
        sleep(min(poll_s, max(0.0, deadline - clock())))
        found = _describe(cloudwatch, alarms)
