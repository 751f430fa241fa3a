"""Prediction signals: `textclf serve` over real HTTP writes one JSON log line per answered text,
with the label, score and lengths the client got, the fields the metric filters read, and never
the texts."""

from __future__ import annotations

import json

import pytest
from serving_client import ServerProcess, classify, request, write_params

from textclf.serving import signals

MAX_CHARS = 400
MAX_TOKENS = 64  # write_params sets model.max_length: 64
# Words no tokenizer vocabulary or log line would hold by chance: if one shows up in the log, a
# text leaked into it.
SECRETS = ["zqxjparcelwolf", "vbnmrefundotter", "plokchargeheron"]
SHORT = f"Where is my parcel {SECRETS[0]}? It was due on Monday."
BATCH = [f"I was charged twice {SECRETS[1]}.", f"How do I send it back {SECRETS[2]}?"]
MANY_TOKENS = " ".join(["refund"] * 150)  # 150 tokens, well under MAX_CHARS characters
TOO_LONG = "parcel " * 100  # 700 characters: cut to MAX_CHARS


def signal_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if signals.KIND in line]


def check_fields(line: dict) -> None:
    """Every field a metric filter takes a value or a dimension from, with the right JSON type."""
    assert "_aws" not in line  # not EMF: metric filters make the metrics (docs/monitoring.md)
    assert isinstance(line["ModelVersion"], str) and line["ModelVersion"]
    assert isinstance(line["label"], str) and line["label"]
    for field in ("score", "characters", "tokens", "truncated"):
        assert isinstance(line[field], int | float) and not isinstance(line[field], bool)
        assert line[field] >= 0


@pytest.fixture(scope="module")
def served(tiny_model_dir, tmp_path_factory):
    """A server with signals on; the requests below; the log once the server has stopped."""
    folder = tmp_path_factory.mktemp("signals")
    params = write_params(folder / "params.yaml", max_text_chars=MAX_CHARS, long_text="truncate")
    process = ServerProcess(tiny_model_dir, params, folder / "server.log", env={"MODEL_VERSION": "v-signals"})
    process.wait_ready()
    try:
        replies = {
            "short": classify(process.url, SHORT),
            "batch": classify(process.url, BATCH),
            "csv": request(process.url, body="\n".join(BATCH) + "\n", headers={"Content-Type": "text/csv"}),
            "long": classify(process.url, [MANY_TOKENS, TOO_LONG]),
            "bad": classify(process.url, []),  # 400: no prediction, no signal
        }
    finally:
        assert process.stop() == 0
    return replies, (folder / "server.log").read_text(encoding="utf-8")


def requests_of(lines: list[dict]) -> list[list[dict]]:
    """The lines grouped by request: a request's first line carries its latency and text count."""
    grouped: list[list[dict]] = []
    for line in lines:
        if "latency_ms" in line:
            grouped.append([])
        grouped[-1].append(line)
    return grouped


def test_one_line_per_answered_text_with_what_the_client_got(served):
    replies, log = served
    answered = [name for name, reply in replies.items() if reply.status == 200]
    assert answered == ["short", "batch", "csv", "long"]

    requests = requests_of(signal_lines(log))

    assert len(requests) == len(answered)
    for name, lines in zip(answered, requests, strict=True):  # one request answered at a time: in order
        predictions = replies[name].body["predictions"]
        assert [line["label"] for line in lines] == [p["label"] for p in predictions]
        assert [line["score"] for line in lines] == [p["score"] for p in predictions]
        assert lines[0]["texts"] == len(predictions) and lines[0]["latency_ms"] > 0
        # The model's part of the latency: the rest is the server's own handling of the request.
        assert 0 < lines[0]["graph_ms"] <= lines[0]["latency_ms"]
        assert all(
            "latency_ms" not in line and "graph_ms" not in line for line in lines[1:]
        )  # once per request
        for line in lines:
            assert line["ModelVersion"] == "v-signals"
            assert line["kind"] == signals.KIND
            check_fields(line)


def test_lengths_and_truncation_are_recorded(served):
    _, log = served
    [short], batch, _, long = requests_of(signal_lines(log))

    assert short["characters"] == len(SHORT)
    assert [line["characters"] for line in batch] == [len(text) for text in BATCH]
    assert 0 < short["tokens"] < MAX_TOKENS
    assert short["truncated"] == 0
    # Cut by model.max_length (tokens) and by max_text_chars (characters, as received: 700).
    assert long[0]["tokens"] == MAX_TOKENS
    assert long[1]["tokens"] <= MAX_TOKENS  # the 400 characters kept
    assert [line["characters"] for line in long] == [len(MANY_TOKENS), len(TOO_LONG)]
    assert [line["truncated"] for line in long] == [1, 1]


def test_no_text_reaches_the_log(served):
    _, log = served

    assert signal_lines(log)  # the log does hold the signals
    for secret in SECRETS:
        assert secret not in log


def test_signals_off_writes_no_line(tiny_model_dir, tmp_path):
    params = write_params(tmp_path / "params.yaml", signals="false")
    process = ServerProcess(tiny_model_dir, params, tmp_path / "server.log")
    process.wait_ready()
    try:
        assert classify(process.url, SHORT).status == 200
    finally:
        assert process.stop() == 0

    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert signal_lines(log) == []
    assert '"status": "ready"' in log  # the server did log: only the signals are off


def test_a_line_is_small_and_a_batch_is_one_line_per_text():
    recorded = [signals.TextSignal("billing" if i % 3 else "returns", 0.5, 10, 4, False) for i in range(250)]

    lines = [json.loads(line) for line in signals.lines(recorded, 12.5, "a" * 40)]

    assert len(lines) == 250
    assert sum(line["label"] == "returns" for line in lines) == 84  # i % 3 == 0 for 84 of 250
    assert max(len(raw) for raw in signals.lines(recorded, 12.5, "a" * 40)) < 250  # bytes: the cost
    for line in lines:
        check_fields(line)
