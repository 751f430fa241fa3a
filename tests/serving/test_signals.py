"""Prediction signals: `textclf serve` over real HTTP writes one EMF log line per request, with the
labels, scores and lengths the client got, valid for CloudWatch, and never the texts."""

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
    return [json.loads(line) for line in log.splitlines() if '"_aws"' in line]


def check_emf(document: dict) -> None:
    """The rules of the EMF specification a line must meet for CloudWatch to extract it."""
    metadata = document["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    [directive] = metadata["CloudWatchMetrics"]
    assert directive["Namespace"] == signals.NAMESPACE
    for dimension_set in directive["Dimensions"]:
        for key in dimension_set:
            assert isinstance(document[key], str) and document[key]  # dimension values: strings
    for metric in directive["Metrics"]:
        value = document[metric["Name"]]  # every declared metric is a member of the root
        values = value if isinstance(value, list) else [value]
        assert 1 <= len(values) <= signals.MAX_VALUES
        assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


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


def test_one_line_per_answered_request_with_what_the_client_got(served):
    replies, log = served
    answered = [name for name, reply in replies.items() if reply.status == 200]
    assert answered == ["short", "batch", "csv", "long"]

    lines = signal_lines(log)

    assert len(lines) == len(answered)
    for name, line in zip(answered, lines, strict=True):  # one request answered at a time: in order
        predictions = replies[name].body["predictions"]
        assert line["label"] == [p["label"] for p in predictions]
        assert line["Score"] == [p["score"] for p in predictions]
        assert line["Predictions"] == len(predictions)
        assert sum(v for k, v in line.items() if k.startswith(signals.LABEL_METRIC_PREFIX)) == len(
            predictions
        )
        assert line["ModelVersion"] == "v-signals"
        assert line["kind"] == signals.KIND
        assert line["LatencyMs"] > 0
        check_emf(line)


def test_lengths_and_truncation_are_recorded(served):
    _, log = served
    short, batch, _, long = signal_lines(log)

    assert short["Characters"] == [len(SHORT)]
    assert batch["Characters"] == [len(text) for text in BATCH]
    assert 0 < short["Tokens"][0] < MAX_TOKENS
    assert short["truncated"] == [False] and short["Truncated"] == 0
    # Cut by model.max_length (tokens) and by max_text_chars (characters, as received: 700).
    assert long["Tokens"][0] == MAX_TOKENS
    assert long["Tokens"][1] <= MAX_TOKENS  # the 400 characters kept
    assert long["Characters"] == [len(MANY_TOKENS), len(TOO_LONG)]
    assert long["truncated"] == [True, True] and long["Truncated"] == 2


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


def test_a_batch_over_100_texts_is_split_into_valid_lines():
    recorded = [signals.TextSignal("billing" if i % 3 else "returns", 0.5, 10, 4, False) for i in range(250)]

    lines = [json.loads(line) for line in signals.lines(recorded, 12.5, "v1", now_ms=1)]

    assert [line["Predictions"] for line in lines] == [100, 100, 50]
    assert sum(len(line["label"]) for line in lines) == 250
    assert sum(line.get("Predicted_returns", 0) for line in lines) == 84  # i % 3 == 0 for 84 of 250
    for line in lines:
        check_emf(line)
