"""The staging burst fails when requests are refused, not only on a 5xx (issue 27, R14B-25): a burst
answered ThrottlingException (HTTP 400) or 429 passed, though it means the endpoint takes fewer
concurrent requests than deploy.staging.burst_concurrency, which production's callers would meet."""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from textclf.config import Params
from textclf.release import staging

PARAMS = Params.model_validate(
    {"deploy": {"serve": {"max_batch_size": 8}, "staging": {"burst_requests": 6, "burst_concurrency": 3}}}
)


def answering(monkeypatch, statuses: list[int]) -> None:
    """The endpoint answers the burst's requests with these statuses, in turn; the replay passes."""
    turn = itertools.cycle(statuses)

    def invoke(runtime, endpoint, texts):
        status = next(turn)
        if status == 200:
            return ["a"] * len(texts), 0.01
        code = "ThrottlingException" if status in (400, 429) else "InternalFailure"
        raise ClientError(
            {
                "Error": {"Code": code, "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "InvokeEndpoint",
        )

    monkeypatch.setattr(staging, "_invoke", invoke)
    monkeypatch.setattr(staging, "without_retries", lambda client: client)
    replayed = {"rows": 1, "requests": 1, "mismatched_rows": [], "latency_p50_ms": 1.0, "latency_p95_ms": 1.0}
    monkeypatch.setattr(staging, "replay", lambda *args: replayed)


@pytest.mark.parametrize("status", [400, 429])
def test_a_throttled_burst_fails_naming_the_concurrency_settings(monkeypatch, status):
    answering(monkeypatch, [200, status])

    summary = staging.check(PARAMS, "ep", object(), ["text"], ["a"])

    assert not summary["passed"]
    (problem,) = summary["problems"]
    assert problem.startswith(f"3 of 6 burst requests were refused (answers by status: {{'{status}': 3}})")
    assert "deploy.staging.burst_concurrency (3)" in problem and "max_concurrency" in problem


def test_a_burst_answered_200_passes(monkeypatch):
    answering(monkeypatch, [200])

    assert staging.check(PARAMS, "ep", object(), ["text"], ["a"])["passed"]
