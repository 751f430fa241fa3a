"""Per-request prediction signals: one JSON log line per text, which CloudWatch Logs metric filters
turn into metrics.

What a line holds, for one text of an answered request: the predicted label, its score, the text's
length in characters (as received) and in tokens (as fed to the graph), and whether it was cut
(characters by `deploy.serve.max_text_chars`, tokens by `model.max_length`), with the model
version; the request's first line also holds its latency, the part of it the model took, and how
many texts it carried. Never the
text itself, nor anything derived from its content beyond those counts.

How the lines become metrics. Whatever a SageMaker model container writes to stdout or stderr goes
to the log group `/aws/sagemaker/Endpoints/<EndpointName>`, stream `<variant>/<instance-id>`
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html). CloudWatch's embedded
metric format (EMF) is documented for logs sent by the EMF client libraries through the CloudWatch
agent, by Lambda functions, and by PutLogEvents callers
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Generation.html);
the SageMaker documentation does not say that SageMaker's own delivery of container logs is
processed for EMF. Metric filters on a log group are documented for any log group
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html), with JSON
patterns, a metric value taken from a field and dimensions taken from fields
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html). So the
lines are plain JSON (no `_aws` directive: were SageMaker's delivery ever to extract EMF, the same
metric would be counted twice), and terraform/monitoring.tf puts METRIC_FILTERS below on the
endpoint's log group. The local cloud applies metric filters to log events the same way
(textclf.localcloud.metricfilters). The server needs no AWS permission and no agent.

One line per text, not per request: a metric filter publishes one value per log event and cannot
take the values of an array, so per-text lines are what makes the score and length distributions
and the prediction mix (a `Label` dimension) exact. A line is about 200 bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Marks our lines among the server's other log lines (readiness, shutdown); the metric filters and
# the drift check select on it.
KIND = "textclf.prediction"
DIMENSION = "ModelVersion"
# The metric filters terraform/monitoring.tf creates on the endpoint's log group (namespace
# `textclf/Serving/<endpoint>`): metric name -> pattern, value, unit, dimensions. A field a metric
# takes its value or a dimension from is in the pattern, as the metric filter documentation asks
# (`$.field = "*"` for a string that exists, `>= 0` for a number).
_BASE = f'($.kind = "{KIND}") && ($.ModelVersion = "*")'


def _numeric(field: str, unit: str) -> dict[str, Any]:
    return {
        "pattern": f"{{ {_BASE} && ($.{field} >= 0) }}",
        "value": f"$.{field}",
        "unit": unit,
        "dimensions": {DIMENSION: "$.ModelVersion"},
    }


METRIC_FILTERS: dict[str, dict[str, Any]] = {
    "Predictions": {
        "pattern": f'{{ {_BASE} && ($.label = "*") }}',
        "value": "1",
        "unit": "Count",
        "dimensions": {DIMENSION: "$.ModelVersion", "Label": "$.label"},
    },
    "Score": _numeric("score", "None"),
    "Characters": _numeric("characters", "Count"),
    "Tokens": _numeric("tokens", "Count"),
    "Truncated": _numeric("truncated", "Count"),
    "LatencyMs": _numeric("latency_ms", "Milliseconds"),
}


@dataclass(frozen=True)
class TextSignal:
    """What is recorded of one text: no content."""

    label: str
    score: float
    characters: int
    tokens: int
    truncated: bool


def lines(
    signals: list[TextSignal], latency_ms: float, model_version: str, graph_ms: float | None = None
) -> list[str]:
    """The log lines for one request's predictions: one per text, in order. `latency_ms` is the
    request's time in the server (body read to answer sent); `graph_ms`, of it, the model's
    (tokenizer, graph and softmax): the rest is the server's own handling of the request."""
    out = []
    for index, signal in enumerate(signals):
        line: dict[str, Any] = {
            "kind": KIND,
            DIMENSION: model_version,
            "label": signal.label,
            "score": signal.score,
            "characters": signal.characters,
            "tokens": signal.tokens,
            "truncated": int(signal.truncated),  # 0/1: the metric's Sum counts, its Average is the share
        }
        if index == 0:  # once per request
            line |= {"latency_ms": round(latency_ms, 3), "texts": len(signals)}
            if graph_ms is not None:
                line["graph_ms"] = round(graph_ms, 3)
        out.append(json.dumps(line, separators=(",", ":")))
    return out
