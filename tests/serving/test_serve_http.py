"""The inference server over real HTTP on 127.0.0.1: the SageMaker contract and every bad input."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from serving_client import MAX_BATCH, MAX_CHARS, classify, loaded_service, request, write_params

from textclf.serving.server import InferenceService, Limits

LABELS = {"billing", "delivery", "returns"}
TEXTS = [
    "Where is my parcel? It was due on Monday.",
    "I was charged twice this month.",
    "How do I send it back?",
]


def test_ping_answers_once_the_model_is_ready(server):
    reply = request(server.url, "GET", "/ping")

    assert reply.status == 200
    assert reply.body == {"status": "ready", "model_version": "abc1234"}  # MODEL_VERSION from the Lambda


def test_one_text_gets_a_label_a_score_and_the_model_version(server):
    reply = classify(server.url, TEXTS[0])

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["X-Model-Version"] == "abc1234"
    assert reply.body["model_version"] == "abc1234"
    [prediction] = reply.body["predictions"]
    assert prediction["label"] in LABELS
    assert 1 / len(LABELS) <= prediction["score"] <= 1
    assert prediction["truncated"] is False


def test_a_batch_answers_each_text_in_order(server):
    singles = [classify(server.url, text).body["predictions"][0] for text in TEXTS]

    batch = classify(server.url, TEXTS).body["predictions"]

    assert [p["label"] for p in batch] == [p["label"] for p in singles]
    assert [p["score"] for p in batch] == pytest.approx([p["score"] for p in singles], abs=1e-4)


def test_csv_takes_one_text_per_line(server):
    as_json = classify(server.url, ["plain text, with a comma", 'a "quoted" one']).body["predictions"]

    body = 'plain text, with a comma\n"a ""quoted"" one"\n'
    as_csv = request(server.url, body=body, headers={"Content-Type": "text/csv"})

    assert as_csv.status == 200
    assert as_csv.body["predictions"] == as_json


LONG = "x" * (MAX_CHARS + 1)
BAD_REQUESTS = [
    # (description, method, path, body, headers, status, message)
    ("malformed JSON", "POST", "/invocations", '{"inputs": ', {}, 400, "malformed JSON"),
    ("not an object", "POST", "/invocations", "[1, 2]", {}, 400, "expected a JSON object"),
    ("no inputs key", "POST", "/invocations", {"text": "hi"}, {}, 400, "expected a JSON object"),
    ("extra key", "POST", "/invocations", {"inputs": "hi", "top_k": 2}, {}, 400, "unknown keys ['top_k']"),
    ("number", "POST", "/invocations", {"inputs": 3}, {}, 400, "must be a string or a list of strings"),
    ("null", "POST", "/invocations", {"inputs": None}, {}, 400, "must be a string or a list of strings"),
    ("non-string item", "POST", "/invocations", {"inputs": ["ok", 5]}, {}, 400, "inputs[1] must be a string"),
    ("empty list", "POST", "/invocations", {"inputs": []}, {}, 400, "empty input"),
    ("empty text", "POST", "/invocations", {"inputs": ""}, {}, 400, "text 0 is empty"),
    ("blank text", "POST", "/invocations", {"inputs": ["ok", "  \n"]}, {}, 400, "text 1 is empty"),
    ("empty csv", "POST", "/invocations", "", {"Content-Type": "text/csv"}, 400, "empty input"),
    (
        "blank csv line",
        "POST",
        "/invocations",
        "a\n\nb\n",
        {"Content-Type": "text/csv"},
        400,
        "text 1 is empty",
    ),
    (
        "too many texts",
        "POST",
        "/invocations",
        {"inputs": ["a"] * (MAX_BATCH + 1)},
        {},
        413,
        f"at most {MAX_BATCH}",
    ),
    ("too long a text", "POST", "/invocations", {"inputs": ["ok", LONG]}, {}, 413, f"at most {MAX_CHARS}"),
    ("not UTF-8", "POST", "/invocations", b'{"inputs": "\xff"}', {}, 400, "not valid UTF-8"),
    ("other type", "POST", "/invocations", "hi", {"Content-Type": "text/plain"}, 415, "use application/json"),
    (
        "accepts no JSON",
        "POST",
        "/invocations",
        {"inputs": "hi"},
        {"Accept": "text/html"},
        406,
        "application/json",
    ),
    ("unknown GET path", "GET", "/health", None, {}, 404, "use GET /ping"),
    ("unknown POST path", "POST", "/predict", {"inputs": "hi"}, {}, 404, "use POST /invocations"),
    ("wrong method", "PUT", "/invocations", {"inputs": "hi"}, {}, 405, "use POST /invocations"),
    ("wrong method, other path", "PUT", "/other", {"inputs": "hi"}, {}, 405, "use GET /ping or POST"),
    ("GET /invocations", "GET", "/invocations", None, {}, 405, "use POST /invocations"),
    ("POST /ping", "POST", "/ping", {"inputs": "hi"}, {}, 405, "use GET /ping"),
    (
        "JSON not acceptable (q=0)",
        "POST",
        "/invocations",
        {"inputs": "hi"},
        {"Accept": "application/json;q=0"},
        406,
        "application/json",
    ),
    ("huge body", "POST", "/invocations", None, {"Content-Length": str(10**9)}, 413, "at most"),
    ("bad length", "POST", "/invocations", None, {"Content-Length": "ten"}, 400, "not a number"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_bad_request_gets_a_4xx_and_does_not_change_the_next_answer(
    server, method, path, body, headers, status, message
):
    before = classify(server.url, TEXTS).body

    reply = request(server.url, method, path, body=body, headers=headers)

    assert reply.status == status, reply
    assert message in reply.error
    if status == 405:  # RFC 9110, 15.5.6: a 405 says which methods the path takes
        assert reply.headers.get("Allow") in ("GET, HEAD", "POST", "GET, HEAD, POST"), reply.headers
    assert request(server.url, "GET", "/ping").status == 200
    assert classify(server.url, TEXTS).body == before


def test_a_request_without_content_length_gets_411(server):
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n")
        answer = raw.recv(4096).decode()

    assert answer.startswith("HTTP/1.1 411"), answer
    assert "Content-Length" in answer


def test_a_kept_alive_connection_survives_a_bad_request(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        good = classify(server.url, TEXTS[0], connection=connection)
        bad = request(server.url, body='{"inputs": [', connection=connection)
        again = classify(server.url, TEXTS[0], connection=connection)
    finally:
        connection.close()

    assert (good.status, bad.status, again.status) == (200, 400, 200)
    assert again.body == good.body


def test_long_texts_are_truncated_when_configured(tiny_model_dir, in_process_server):
    url = in_process_server(loaded_service(tiny_model_dir, long_text="truncate"))
    long_text = "I want my money back. " * 40  # 880 characters

    reply = classify(url, [long_text, TEXTS[0]])
    cut = classify(url, [long_text[:MAX_CHARS], TEXTS[0]])

    assert reply.status == 200
    assert [p["truncated"] for p in reply.body["predictions"]] == [True, False]
    assert reply.body["predictions"][0]["label"] == cut.body["predictions"][0]["label"]
    assert reply.body["predictions"][0]["score"] == pytest.approx(
        cut.body["predictions"][0]["score"], abs=1e-4
    )


def test_a_text_longer_than_max_length_tokens_answers_truncated(tiny_model_dir, in_process_server):
    """Within the character limit but longer than model.max_length tokens (64 here): the graph saw
    only the first 64 tokens, and the answer says so."""
    url = in_process_server(loaded_service(tiny_model_dir))
    long_text = "Where is my parcel? " * 14  # 280 characters, about 70 tokens

    reply = classify(url, [TEXTS[0], long_text])

    assert len(long_text) <= MAX_CHARS
    assert [p["truncated"] for p in reply.body["predictions"]] == [False, True]


def test_ping_is_503_until_the_model_is_loaded_and_warmed_up(tiny_model_dir, in_process_server):
    service = InferenceService(Limits(max_batch_size=4, max_text_chars=100, long_text="reject"))
    url = in_process_server(service)

    assert request(url, "GET", "/ping").status == 503
    loading = classify(url, "hello")
    assert loading.status == 503 and "still loading" in loading.error

    service.load(tiny_model_dir, max_length=64, quantize="none", version=None)

    ready = request(url, "GET", "/ping")
    assert ready.status == 200
    assert ready.body["model_version"].startswith("local-")  # no MODEL_VERSION: the weights' digest
    assert classify(url, "hello").status == 200


def test_int8_serves_the_int8_graph_the_train_stage_exported(tiny_model_dir, in_process_server):
    service = InferenceService(Limits(MAX_BATCH, MAX_CHARS, "truncate"))
    service.load(tiny_model_dir, max_length=64, quantize="int8", version="int8")
    url = in_process_server(service)

    reply = classify(url, TEXTS)

    assert reply.status == 200 and len(reply.body["predictions"]) == len(TEXTS)
    assert service.predictor.graph == tiny_model_dir / "model.int8.onnx"
    fp32_size = (tiny_model_dir / "model.onnx").stat().st_size
    assert service.predictor.graph.stat().st_size < fp32_size / 2  # int8 weights: a quarter, plus the rest
    # The accuracy change on the real model is measured by bench/serve_bench.py.


def test_a_missing_model_folder_stops_the_cli_with_a_message(tmp_path):
    params = write_params(tmp_path / "params.yaml", max_batch_size=4)
    command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(tmp_path / "nope")]

    done = subprocess.run(
        [*command, "--port", "0", "--params", str(params)], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 2
    assert "does not exist" in done.stderr and "make repro" in done.stderr
    assert done.stdout == ""  # it never listened
