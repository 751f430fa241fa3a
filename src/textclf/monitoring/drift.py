"""Drift of the live model's traffic against its training reference, and the scheduled check.

Standard library only (boto3 in the handler, as the Lambda runtime provides it) and the project's
bucket-name rules (`textclf.s3uri`, standard library too), so the two modules ship alone in a Lambda
zip (`textclf.lambda_zip`) and the evaluate stage imports the same bins and the same statistic it
writes the reference with.

The reference (`metrics/reference.json`, written by the evaluate stage on the test split, published
next to the model): the class priors of the predictions and of the labels, and histograms of the
text length in characters and of the predicted label's score, on fixed bins. Fixed bins, not
quantiles of the test split: the live traffic is binned the same way without knowing the split,
and two references of two models stay comparable.

The statistic: the population stability index, PSI = sum_i (a_i - e_i) * ln(a_i / e_i) over the
bins, with e the reference's and a the window's proportions (Siddiqi, "Credit Risk Scorecards",
2006, ch. 8; Yurdakul, "Statistical properties of the population stability index", 2018). It is
the symmetrised Kullback-Leibler divergence, so an empty bin on either side would make it
infinite: empty bins count as EPSILON instead. Customary reading: < 0.1 stable, 0.1-0.25 moderate
shift, > 0.25 large shift; the thresholds are `monitor.psi_*` in params.yaml.

A window with fewer than `monitor.min_predictions` predictions is reported as too little traffic,
never as drift: with a few values in ten bins the PSI is large by chance alone.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from textclf.s3uri import bucket_name_problem

REFERENCE_FORMAT = 1
# Lower bounds of the bins; the last bin is open-ended. Characters as received by the server.
LENGTH_BOUNDS = (0, 25, 50, 75, 100, 150, 200, 300, 500, 1000, 2000)
# Scores of the predicted label: ten bins of 0.1 (1.0 falls in the last).
SCORE_BOUNDS = tuple(round(i / 10, 1) for i in range(10))
# Stands in for an empty bin's proportion: 1e-4 caps one empty bin's term at about |p| * 9.2.
EPSILON = 1e-4
# The serving signals' marker (textclf.serving.signals.KIND; not imported: this module ships alone).
SIGNAL_KIND = "textclf.prediction"
METRICS_NAMESPACE = "textclf/Drift"
SIGNALS = ("prediction_mix", "score", "length")


class DriftError(ValueError):
    """A reference, a check's settings or an AWS call cannot be used; the message says what to fix.
    The handler raises it: the function's error is what the schedule's failure alarm counts."""


# ---------------------------------------------------------------------------------------------
# Histograms and the reference


def histogram(values: Iterable[float], bounds: tuple[float, ...]) -> list[int]:
    """Counts per bin; bin i holds bounds[i] <= value < bounds[i + 1], the last is open-ended."""
    counts = [0] * len(bounds)
    for value in values:
        counts[max(bisect.bisect_right(bounds, value) - 1, 0)] += 1
    return counts


def _shares(counts: Counter[str] | dict[str, int], labels: list[str]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {label: round(counts.get(label, 0) / total, 6) for label in labels}


def build_reference(
    labels: list[str], predicted: list[str], scores: list[float], actual: list[str], characters: list[int]
) -> dict[str, Any]:
    """The reference distributions of one scored split (the evaluate stage's test split)."""
    if not predicted or not len(predicted) == len(scores) == len(actual) == len(characters):
        raise DriftError("the reference needs one prediction, score, label and length per row (and rows)")
    return {
        "format": REFERENCE_FORMAT,
        "rows": len(predicted),
        "labels": labels,
        "prediction_mix": _shares(Counter(predicted), labels),
        "label_mix": _shares(Counter(actual), labels),
        "length_chars": {"lower_bounds": list(LENGTH_BOUNDS), "counts": histogram(characters, LENGTH_BOUNDS)},
        "score": {"lower_bounds": list(SCORE_BOUNDS), "counts": histogram(scores, SCORE_BOUNDS)},
    }


def check_reference(reference: Any, where: str) -> dict[str, Any]:
    """The reference as written by build_reference, or a DriftError naming what is wrong."""
    # `type(...) is int`: JSON's true equals 1 in Python, and a reference of "format": true is none.
    if (
        not isinstance(reference, dict)
        or type(reference.get("format")) is not int
        or reference.get("format") != REFERENCE_FORMAT
    ):
        raise DriftError(
            f"{where}: not a reference of format {REFERENCE_FORMAT} (the evaluate stage writes it)"
        )
    for key, bounds in (("length_chars", LENGTH_BOUNDS), ("score", SCORE_BOUNDS)):
        part = reference.get(key)
        if not isinstance(part, dict) or part.get("lower_bounds") != list(bounds):
            raise DriftError(
                f"{where}: {key} has other bins than this check ({list(bounds)}): the model was evaluated "
                "with another version of textclf; re-run its evaluate stage"
            )
        counts = part.get("counts")
        if not isinstance(counts, list) or len(counts) != len(bounds) or not all(map(_count, counts)):
            raise DriftError(
                f"{where}: {key}.counts must hold one count per bin ({len(bounds)}), each a whole number >= 0"
            )
        if not sum(counts):
            raise DriftError(f"{where}: {key}.counts are all 0: the reference was built on no rows")
    mix = reference.get("prediction_mix")
    if (
        not isinstance(mix, dict)
        or not mix
        or not all(_share(value) for value in mix.values())
        or not sum(mix.values())
    ):
        raise DriftError(f"{where}: prediction_mix must map each label to its share (a number from 0 to 1)")
    return reference


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _share(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


# ---------------------------------------------------------------------------------------------
# The statistic


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two histograms over the same bins (counts or shares)."""
    if len(expected) != len(actual) or not expected:
        raise DriftError(f"PSI needs two histograms over the same bins ({len(expected)} vs {len(actual)})")
    e_total, a_total = sum(expected), sum(actual)
    if e_total <= 0 or a_total <= 0:
        raise DriftError("PSI needs at least one value on each side")
    total = 0.0
    for e_count, a_count in zip(expected, actual, strict=True):
        e, a = max(e_count / e_total, EPSILON), max(a_count / a_total, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def window_statistics(
    reference: dict[str, Any], labels: list[str], scores: list[float], characters: list[int]
) -> dict:
    """PSI of each signal of one window against the reference."""
    known = list(reference["prediction_mix"])
    mix = Counter(labels)
    unknown = sum(count for label, count in mix.items() if label not in reference["prediction_mix"])
    # A label the reference never saw is its own bin (expected share 0 -> EPSILON): a model that
    # starts answering with a new label has drifted.
    expected_mix = [reference["prediction_mix"][label] for label in known] + [0.0]
    actual_mix = [mix.get(label, 0) for label in known] + [unknown]
    return {
        "prediction_mix": psi(expected_mix, actual_mix),
        "score": psi(reference["score"]["counts"], histogram(scores, SCORE_BOUNDS)),
        "length": psi(reference["length_chars"]["counts"], histogram(characters, LENGTH_BOUNDS)),
    }


def evaluate_window(
    reference: dict[str, Any],
    lines: Iterable[dict[str, Any]],
    thresholds: dict[str, float],
    min_predictions: int,
) -> dict[str, Any]:
    """The verdict on one window of signal lines: `insufficient_traffic`, `drift` or `stable`."""
    labels: list[str] = []
    scores: list[float] = []
    characters: list[int] = []
    for line in lines:  # one line per text (textclf.serving.signals)
        labels.append(line["label"])
        scores.append(line["score"])
        characters.append(line["characters"])
    summary: dict[str, Any] = {"predictions": len(labels), "min_predictions": min_predictions}
    if len(labels) < min_predictions:
        return {**summary, "status": "insufficient_traffic", "psi": None, "drifted": []}
    values = window_statistics(reference, labels, scores, characters)
    drifted = [name for name in SIGNALS if values[name] > thresholds[name]]
    return {
        **summary,
        "status": "drift" if drifted else "stable",
        "psi": {name: round(value, 4) for name, value in values.items()},
        "thresholds": thresholds,
        "drifted": drifted,
        "window_mix": _shares(Counter(labels), sorted(set(labels) | set(reference["prediction_mix"]))),
    }


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def parse_signal_line(message: str) -> dict[str, Any] | None:
    """One log event's signal line, or None for the server's other lines (and foreign ones)."""
    start = message.find("{")  # a log agent may prefix a timestamp
    if start < 0:
        return None
    try:
        line = json.loads(message[start:])
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    if not isinstance(line, dict) or line.get("kind") != SIGNAL_KIND:
        return None
    number = (int, float)
    valid = (
        isinstance(line.get("label"), str)
        and isinstance(line.get("score"), number)
        and isinstance(line.get("characters"), int)
        and not isinstance(line.get("score"), bool)
        and not isinstance(line.get("characters"), bool)
    )
    # A score is a probability and a length is not negative: NaN, Infinity or 5.0 would move the
    # bins the drift statistic compares (a line the server never writes is not trusted).
    # An integer too large for a float (400 digits) is no probability either.
    if not valid or not (_finite(line["score"]) and 0 <= line["score"] <= 1 and line["characters"] >= 0):
        return None  # a torn or foreign line is skipped, not trusted
    return line


# ---------------------------------------------------------------------------------------------
# The scheduled check (a Lambda: EventBridge schedule -> handler)


def _env_float(name: str, default: float, maximum: float) -> float:
    """A setting from the environment: a finite number above 0 and at most `maximum` (params.yaml's
    own bound for it), so `inf` or `nan` never reaches the arithmetic."""
    raw = os.environ.get(name)
    try:
        # float() also reads `2_4` and other scripts' digits (`٢٤`): Terraform writes ASCII digits.
        if raw and ("_" in raw or not raw.isascii()):
            raise ValueError(raw)
        value = float(raw) if raw else default
    except ValueError:
        raise DriftError(f"environment variable {name}={raw!r}: expected a number in ASCII digits") from None
    if not 0 < value <= maximum:  # also false for nan
        raise DriftError(
            f"environment variable {name}={raw!r}: must be greater than 0 and at most {maximum:g}"
        )
    return value


def _env_count(name: str, default: int, maximum: int) -> int:
    """A whole number of at least 1 (a fraction below 1 would truncate to 0: an empty window would
    then be scored, and fail the check every run)."""
    value = _env_float(name, default, maximum)
    if value < 1 or value != int(value):
        raise DriftError(
            f"environment variable {name}={os.environ.get(name)!r}: "
            f"must be a whole number from 1 to {maximum}"
        )
    return int(value)


ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
COMMIT = re.compile(r"[0-9a-f]{7,40}")


def settings_from_env() -> dict[str, Any]:
    """What Terraform passes to the function (from params.yaml's `monitor` section)."""
    missing = [name for name in ("ENDPOINT_NAME", "ARTIFACTS_BUCKET") if not os.environ.get(name)]
    if missing:
        raise DriftError(f"environment variables {missing} must be set (Terraform sets them on the function)")
    endpoint, bucket = os.environ["ENDPOINT_NAME"], os.environ["ARTIFACTS_BUCKET"]
    # SageMaker's EndpointName pattern and S3's bucket naming rules (textclf.s3uri): refused here,
    # naming the variable, rather than as botocore's parameter validation inside the first call.
    if not ENDPOINT_NAME.fullmatch(endpoint):
        raise DriftError(f"ENDPOINT_NAME {endpoint!r} is not a SageMaker endpoint name (Terraform sets it)")
    problem = bucket_name_problem(bucket)
    if problem:
        raise DriftError(
            f"ARTIFACTS_BUCKET {bucket[:80]!r} is not an S3 bucket name; it must be one{problem} "
            "(Terraform sets it)"
        )
    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "window_hours": _env_float("MONITOR_WINDOW_HOURS", 24, 24 * 14),
        "min_predictions": _env_count("MONITOR_MIN_PREDICTIONS", 200, 10_000_000),
        "thresholds": {
            "prediction_mix": _env_float("MONITOR_PSI_PREDICTION_MIX", 0.25, 10),
            "score": _env_float("MONITOR_PSI_SCORE", 0.25, 10),
            "length": _env_float("MONITOR_PSI_LENGTH", 0.25, 10),
        },
        "namespace": _namespace(os.environ.get("MONITOR_METRICS_NAMESPACE") or METRICS_NAMESPACE),
    }


# PutMetricData's Namespace (CloudWatch API Reference, PutMetricData): 1 to 255 characters of the
# pattern [^:].*, "ASCII characters ... except for control characters which are not supported", and
# not beginning with AWS/ ("reserved for use by Amazon Web Services products").
NAMESPACE = re.compile(r"[\x20-\x39\x3b-\x7e][\x20-\x7e]{0,254}")


def _namespace(value: str) -> str:
    """MONITOR_METRICS_NAMESPACE when CloudWatch takes it: refused here, before the reference and the
    window are read, not by PutMetricData at the end of the run."""
    if not NAMESPACE.fullmatch(value) or value.startswith("AWS/"):
        raise DriftError(
            f"environment variable MONITOR_METRICS_NAMESPACE={_shown(value)} is not a CloudWatch namespace: "
            "1 to 255 ASCII characters, no control characters, not starting with ':' or AWS/ "
            f"(PutMetricData); Terraform sets {METRICS_NAMESPACE}, which the function's role may publish to"
        )
    return value


def log_group(endpoint: str) -> str:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html
    return f"/aws/sagemaker/Endpoints/{endpoint}"


# What to check when AWS could not be asked at all (no connection, no credentials, a bad setting).
REACH_CHECK = (
    "check that the function reaches AWS (its network; AWS_ENDPOINT_URL if set) and has its role's "
    "credentials"
)


@contextmanager
def aws_call(what: str, check: str) -> Iterator[None]:
    """botocore's errors in the block as a DriftError naming what was read or written and what to
    check (`check` for an answer of AWS, such as AccessDenied): one line in the function's error,
    not a stack of botocore frames. Still raised: the function's error is the alarm's signal."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        raise DriftError(f"{what}: {error}; {check}") from None
    except BotoCoreError as error:
        raise DriftError(f"{what}: {error}; {REACH_CHECK}") from None


ROLE_CHECK = "check it exists and the function's role (terraform/drift.tf) may {action} it"


def read_window(logs: Any, group: str, start_ms: int, end_ms: int) -> Iterator[dict[str, Any]]:
    """The signal lines of a log group in [start_ms, end_ms), every page of FilterLogEvents."""
    request = {
        "logGroupName": group,
        "startTime": start_ms,
        "endTime": end_ms,
        "filterPattern": f'"{SIGNAL_KIND}"',  # fewer bytes scanned and sent; parse_signal_line checks
    }
    while True:
        with aws_call(
            f"log group {group}: cannot be read",
            ROLE_CHECK.format(action="logs:FilterLogEvents") + " (the endpoint writes it: ENDPOINT_NAME)",
        ):
            page = logs.filter_log_events(**request)
        for event in page.get("events", []):
            line = parse_signal_line(event.get("message", ""))
            if line is not None:
                yield line
        token = page.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


# The objects the check reads (production/deployment.json, a model's reference.json) are a few
# kilobytes: a larger one is read this far only, not whole into the function's memory.
MAX_OBJECT_BYTES = 16 * 1024**2


def _s3_json(s3: Any, bucket: str, key: str, missing_hint: str, remedy: str) -> Any:
    """The JSON of one object; a DriftError naming it and, for an object that is not what the release
    writes there (empty, not JSON, a key given twice, too large), `remedy`."""
    where = f"s3://{bucket}/{key}"
    with aws_call(
        f"{where}: cannot be read",
        ROLE_CHECK.format(action="s3:GetObject") + " (the bucket: ARTIFACTS_BUCKET)",
    ):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_OBJECT_BYTES + 1)
        except s3.exceptions.NoSuchKey:  # said as such, before aws_call sees a ClientError
            raise DriftError(f"{where}: not found; {missing_hint}") from None
    if len(body) > MAX_OBJECT_BYTES:
        raise DriftError(f"{where}: is larger than {MAX_OBJECT_BYTES:,} bytes (it holds a few KB); {remedy}")
    if not body.strip():
        raise DriftError(f"{where}: is empty; {remedy}")
    try:
        return json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        raise DriftError(
            f"{where}: key {_shown(duplicate.key)} is given twice in one object; {remedy}"
        ) from None
    except RecursionError:
        raise DriftError(f"{where}: not valid JSON (nested too deeply); {remedy}") from None
    except ValueError as error:
        raise DriftError(f"{where}: not valid JSON ({str(error)[:200]}); {remedy}") from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are given once (this module ships alone: not textclf.atomic's)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


PROMOTE_AGAIN = "promote writes it; promote the live model again"


def live_reference(s3: Any, bucket: str) -> tuple[str, dict[str, Any]]:
    """The live model's commit (production/deployment.json, written by promote) and its reference."""
    deployment = _s3_json(
        s3,
        bucket,
        "production/deployment.json",
        "nothing was promoted yet: no live model to compare with",
        PROMOTE_AGAIN,
    )
    commit = deployment.get("commit") if isinstance(deployment, dict) else None
    # The commit names the S3 key read next: only what promote writes (a git commit id, 7 to 40
    # lowercase hex digits, the redeploy function's COMMIT rule), so no "../x", lone surrogate
    # (UnicodeEncodeError inside botocore) or 2,000 characters reaches the request.
    if not isinstance(commit, str) or not COMMIT.fullmatch(commit):
        raise DriftError(
            f"s3://{bucket}/production/deployment.json: commit {_shown(commit)} is not a git commit id "
            f"(7 to 40 lowercase hex digits): {PROMOTE_AGAIN}"
        )
    key = f"models/{commit}/reference.json"
    hint = (
        "the live model was published without its reference (metrics/reference.json): publish it "
        "with a version of textclf whose publish step uploads it (docs/monitoring.md)"
    )
    again = "the release's publish step writes it: publish the live model again (docs/monitoring.md)"
    return commit, check_reference(_s3_json(s3, bucket, key, hint, again), f"s3://{bucket}/{key}")


def publish(cloudwatch: Any, namespace: str, endpoint: str, summary: dict[str, Any], when: float) -> None:
    """The check's numbers as metrics: the alarm watches Drifted; the dashboard draws the rest."""
    from datetime import UTC, datetime

    timestamp = datetime.fromtimestamp(when, UTC)
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    data = [
        {"MetricName": "WindowPredictions", "Value": summary["predictions"], "Unit": "Count"},
        {"MetricName": "InsufficientTraffic", "Value": float(summary["status"] == "insufficient_traffic")},
        {"MetricName": "Drifted", "Value": float(summary["status"] == "drift")},
    ]
    for name, value in (summary.get("psi") or {}).items():
        data.append({"MetricName": f"PSI_{name}", "Value": value})
    for datum in data:
        datum.update(Dimensions=dimensions, Timestamp=timestamp)
        datum.setdefault("Unit", "None")
    with aws_call(
        f"CloudWatch metrics {namespace} (EndpointName {endpoint}): cannot be published",
        "check the function's role (terraform/drift.tf) may cloudwatch:PutMetricData in that namespace "
        "(MONITOR_METRICS_NAMESPACE)",
    ):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


# What an event may hold: the schedule's target sends {} (its `input` in terraform/drift.tf), a replay
# {"window_end_ms": ...}. EventBridge sends a target's Input instead of the event ("Target",
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html): without it the check
# would get the whole scheduled event, and any key it ignored would be a setting silently not applied.
EVENT_KEYS = ("window_end_ms",)
# The check publishes its numbers at the window's end, and CloudWatch takes a data point's time stamp
# "as much as two weeks before the current date, and as much as 2 hours after the current day and
# time" (PutMetricData, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html):
# a replay outside that is refused before the window is read, not after. The earliest end leaves the
# run its longest time (a Lambda runs at most 900 s) before it publishes.
REPLAY_BACK_MS = 14 * 24 * 3600 * 1000 - 900 * 1000
REPLAY_AHEAD_MS = 2 * 3600 * 1000


def window_end(event: Any, now: float) -> int:
    """The window's end in epoch milliseconds: the event's `window_end_ms` (a replay, within the last
    14 days and at most 2 hours ahead: REPLAY_BACK_MS) or now. A malformed event is a DriftError
    naming the field, not arithmetic on whatever it holds."""
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise DriftError(
            f'event: expected an object ({{}} from the schedule, or {{"window_end_ms": ...}}), '
            f"not {type(event).__name__}"
        )
    unknown = sorted(_shown(key) for key in event if key not in EVENT_KEYS)
    if unknown:
        raise DriftError(
            f"event: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''}: the check takes only {', '.join(EVENT_KEYS)} "
            "(a replay of an earlier window); the schedule sends {} (its target's input in "
            "terraform/drift.tf)"
        )
    value = event.get("window_end_ms")
    if value is None:
        return int(now * 1000)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DriftError(
            f"event: window_end_ms must be a whole number of milliseconds since 1970 (got {_shown(value)})"
        )
    now_ms = int(now * 1000)
    if not now_ms - REPLAY_BACK_MS <= value <= now_ms + REPLAY_AHEAD_MS:
        raise DriftError(
            f"event: window_end_ms {_shown(value)} ({_utc(value)}) is "
            f"{'more than 2 hours ahead' if value > now_ms else 'more than 14 days back'}: a replay's "
            "window must end within the last 14 days (less the run's 15 minutes) and at most 2 hours "
            "from now, as CloudWatch takes the check's metrics only then (PutMetricData)"
        )
    return value


def _utc(epoch_ms: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # beyond the year 9999
        return "beyond the year 9999"


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return "a number of more than 18 digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _client(service: str) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client(service)
    except (BotoCoreError, ValueError) as error:  # no region, an endpoint URL that is no URL
        raise DriftError(
            f"cannot make an AWS {service} client: {error}; check AWS_REGION and AWS_ENDPOINT_URL"
        ) from None


def handler(event: dict[str, Any] | None, context: Any = None) -> dict[str, Any]:
    """Check the last window of the live endpoint's traffic; publish the scores; return a summary.

    The event may carry `window_end_ms` (a replay of an earlier window); a schedule sends none."""
    settings = settings_from_env()
    end_ms = window_end(event, time.time())
    start_ms = end_ms - int(settings["window_hours"] * 3600 * 1000)
    commit, reference = live_reference(_client("s3"), settings["bucket"])
    group = log_group(settings["endpoint"])
    lines = read_window(_client("logs"), group, start_ms, end_ms)
    # Only the live model's lines: the reference describes that model, not the one before it.
    live = (line for line in lines if line.get("ModelVersion") == commit)
    summary = evaluate_window(reference, live, settings["thresholds"], settings["min_predictions"])
    publish(_client("cloudwatch"), settings["namespace"], settings["endpoint"], summary, end_ms / 1000)
    result = {
        "endpoint": settings["endpoint"],
        "log_group": group,
        "model_version": commit,
        "window": {"start_ms": start_ms, "end_ms": end_ms, "hours": settings["window_hours"]},
        **summary,
    }
    print(json.dumps({"component": "drift", **result}))
    return result


# What its Lambda zip carries (textclf.lambda_zip): this module, the bucket-name rules it imports and
# import-free __init__ files.
ZIP_FILES = (
    "textclf/__init__.py",
    "textclf/s3uri.py",
    "textclf/monitoring/__init__.py",
    "textclf/monitoring/drift.py",
)
