"""The staging burst counts requests that get no HTTP answer (R13B-28).

A connection the endpoint closes unanswered is botocore's ConnectionClosedError, a BotoCoreError,
not a ClientError: it left the burst's thread pool and `textclf staging-check` ended in a
traceback. Dropped connections under load are what the burst is there to find: counted, named,
and the check fails.
"""

from __future__ import annotations

import boto3
from botocore.config import Config
from tests.slow_answers import dropping

from textclf.release import staging


def test_requests_the_endpoint_drops_are_counted_not_a_traceback(aws_env):
    prediction = b'{"predictions": [{"label": "a", "score": 1.0}]}'
    with dropping(answered=2, body=prediction) as url:
        client = boto3.client("sagemaker-runtime", endpoint_url=url, config=Config(read_timeout=5))
        burst = staging.burst(client, "ep", "text", requests=6, concurrency=1)
    assert burst["statuses"] == {"200": 2} and burst["errors_5xx"] == 0
    assert burst["no_answer"] == 4
    assert "Connection was closed" in burst["no_answer_example"], burst["no_answer_example"]
    assert "4 without an answer" in staging.markdown(
        {
            "endpoint": "ep",
            "replay": {"rows": 1, "mismatched_rows": [], "latency_p95_ms": 1.0, "latency_p50_ms": 1.0},
            "burst": burst,
            "latency_p95_budget_ms": 100,
            "passed": False,
            "problems": ["x"],
        }
    )
