"""Per-request prediction signals: one JSON log line in CloudWatch's embedded metric format (EMF).

What a line holds, for each text of the request, in order: the predicted label, its score, the
text's length in characters (as received) and in tokens (as fed to the graph), and whether it was
cut (characters by `deploy.serve.max_text_chars`, tokens by `model.max_length`); once per request:
the latency and the model version. Never the text itself, nor anything derived from its content
beyond those counts.

Why EMF: "The CloudWatch embedded metric format is a JSON specification used to instruct CloudWatch
Logs to automatically extract metric values embedded in structured log events"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
the `x-amzn-logs-format: json/emf` header is optional for logs that do not come from the embedded
metric libraries (".../CloudWatch_Embedded_Metric_Format_Generation_PutLogEvents.html"). Whatever a
SageMaker model container writes to stdout or stderr goes to the log group
`/aws/sagemaker/Endpoints/<EndpointName>`, stream `<variant>/<instance-id>`
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html). So the server needs no
AWS permission and no agent: it prints, CloudWatch Logs extracts the metrics, and the drift check
reads the same lines back (textclf.monitoring.drift).

Bounded cost: one line per request (a batch is one line, its per-text values as arrays), except
that EMF allows at most 100 values per metric in one document, so a batch of more than 100 texts is
split into lines of at most 100. Metrics: `Predictions` (count), `Score`, `Characters`, `Tokens`,
`Truncated` (count), `LatencyMs`, and one `Predicted_<label>` count per label the request
predicted; all with the one dimension `ModelVersion`, so the number of custom metrics is
(6 + labels) per released model version.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

NAMESPACE = "textclf/Serving"
DIMENSION = "ModelVersion"
# EMF specification: "Values ... MUST NOT contain more than 100 values" per metric and document.
MAX_VALUES = 100
LABEL_METRIC_PREFIX = "Predicted_"
# Marks our lines among the server's other log lines (readiness, shutdown); the drift check filters
# the log group on it.
KIND = "textclf.prediction"


@dataclass(frozen=True)
class TextSignal:
    """What is recorded of one text: no content."""

    label: str
    score: float
    characters: int
    tokens: int
    truncated: bool


def lines(
    signals: list[TextSignal], latency_ms: float, model_version: str, now_ms: int | None = None
) -> list[str]:
    """The EMF log lines for one request's predictions (one line per 100 texts)."""
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    return [
        json.dumps(_document(signals[start : start + MAX_VALUES], latency_ms, model_version, timestamp))
        for start in range(0, len(signals), MAX_VALUES)
    ]


def _document(
    chunk: list[TextSignal], latency_ms: float, model_version: str, timestamp: int
) -> dict[str, Any]:
    mix = Counter(signal.label for signal in chunk)
    label_metrics = {f"{LABEL_METRIC_PREFIX}{label}": count for label, count in sorted(mix.items())}
    values: dict[str, Any] = {
        "Predictions": len(chunk),
        "Score": [signal.score for signal in chunk],
        "Characters": [signal.characters for signal in chunk],
        "Tokens": [signal.tokens for signal in chunk],
        "Truncated": sum(signal.truncated for signal in chunk),
        "LatencyMs": round(latency_ms, 3),
        **label_metrics,
    }
    units = {"Predictions": "Count", "Truncated": "Count", "LatencyMs": "Milliseconds", "Score": "None"}
    units |= {"Characters": "Count", "Tokens": "Count"} | dict.fromkeys(label_metrics, "Count")
    return {
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": units[name]} for name in values],
                }
            ],
        },
        DIMENSION: model_version,
        "kind": KIND,
        # Not metrics: what the drift check needs to rebuild the window's distributions.
        "label": [signal.label for signal in chunk],
        "truncated": [signal.truncated for signal in chunk],
        **values,
    }
