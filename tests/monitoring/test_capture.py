"""Optional sampled capture: off by default, a validated fraction, batched writes that never block
or fail a prediction, and `textclf serve` writing real objects to the local cloud's S3 (signed by
hand: the serving image has no boto3)."""

from __future__ import annotations

import json
import random
import socket

import boto3
import pytest

from tests.serving.serving_client import ServerProcess, classify, write_params
from textclf.config import ParamsError, load_params, parse_params
from textclf.serving import capture

BUCKET = "textclf-capture-data"
URI = f"s3://{BUCKET}/captured/textclf-prod/"


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail = fail

    def __call__(self, key: str, body: bytes) -> None:
        if self.fail:
            raise OSError("S3 is unreachable")
        self.objects[key] = body


def records(sink: Sink) -> list[dict]:
    return [json.loads(line) for body in sink.objects.values() for line in body.decode().splitlines()]


def test_capture_is_off_by_default_and_the_fraction_is_validated():
    assert load_params().deploy.serve.capture_fraction == 0.0
    assert capture.from_environment(0.0, {capture.URI_ENV: URI}) is None
    assert capture.from_environment(0.5, {}) is None  # no URI: off, said on stderr
    for bad in (1.5, -0.1, "half", True):
        with pytest.raises(ParamsError, match="capture_fraction"):
            parse_params({"deploy": {"serve": {"capture_fraction": bad}}})
    with pytest.raises(ValueError, match="expected s3://<bucket>/captured/"):
        capture.split_uri(f"s3://{BUCKET}/incoming/")


def test_sampled_records_are_written_in_batches():
    sink = Sink()
    sampler = capture.Capture(1.0, "captured/e/", sink, flush_seconds=3600)
    for i in range(25):
        sampler.offer([f"text {i}", f"other {i}"], [{"label": "billing", "score": 0.9}] * 2, "v1")
    sampler.close()

    assert len(sink.objects) == 1  # 50 records, one object
    [key] = sink.objects
    assert key.startswith("captured/e/") and "/v1/" in key and key.endswith(".jsonl")
    assert [r["text"] for r in records(sink)][:3] == ["text 0", "other 0", "text 1"]
    assert sampler.stats == {"captured": 50, "written": 50, "objects": 1, "dropped": 0, "failed_writes": 0}


def test_only_the_fraction_is_kept():
    sink = Sink()
    sampler = capture.Capture(0.1, "captured/e/", sink, flush_seconds=3600, rng=random.Random(7))
    for i in range(2000):
        sampler.offer([f"t{i}"], [{"label": "billing", "score": 0.9}], "v1")
    sampler.close()

    assert 150 <= len(records(sink)) <= 250


def test_a_failing_store_or_a_full_buffer_costs_no_prediction(monkeypatch):
    monkeypatch.setattr(capture, "MAX_BUFFERED", 10)
    sink = Sink(fail=True)
    sampler = capture.Capture(1.0, "captured/e/", sink, flush_seconds=3600)
    for i in range(15):
        sampler.offer([f"t{i}"], [{"label": "billing", "score": 0.9}], "v1")  # never raises
    sampler.close()

    assert sampler.stats["dropped"] == 5 and sampler.stats["failed_writes"] == 1 and not sink.objects


def test_textclf_serve_writes_sampled_texts_to_s3(aws_env, tiny_model_dir, tmp_path):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    params = write_params(tmp_path / "params.yaml", capture_fraction=1.0)
    env = {capture.URI_ENV: URI, "TEXTCLF_CAPTURE_FLUSH_SECONDS": "0.5", "MODEL_VERSION": "c" * 40}
    process = ServerProcess(tiny_model_dir, params, tmp_path / "server.log", env=env)
    process.wait_ready()
    texts = [f"Where is my parcel number {i}?" for i in range(6)]
    try:
        replies = [classify(process.url, [text, text + " Thanks."]) for text in texts]
    finally:
        assert process.stop() == 0

    assert all(reply.status == 200 for reply in replies)
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="captured/")["Contents"]]
    assert 1 <= len(keys) < len(replies)  # batched: fewer objects than requests
    stored = [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    answered = [
        (t, p["label"])
        for text, r in zip(texts, replies, strict=True)
        for t, p in zip([text, text + " Thanks."], r.body["predictions"], strict=True)
    ]
    assert sorted((r["text"], r["label"]) for r in stored) == sorted(answered)
    assert {r["model_version"] for r in stored} == {"c" * 40}
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert '"status": "on"' in log and '"written": 12' in log


def test_an_unreachable_store_never_fails_a_prediction(aws_env, tiny_model_dir, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    params = write_params(tmp_path / "params.yaml", capture_fraction=1.0)
    env = {capture.URI_ENV: URI, "TEXTCLF_CAPTURE_FLUSH_SECONDS": "0.2", "AWS_ENDPOINT_URL": dead}
    process = ServerProcess(tiny_model_dir, params, tmp_path / "server.log", env=env)
    process.wait_ready()
    try:
        replies = [classify(process.url, ["Where is my parcel?"]) for _ in range(5)]
    finally:
        assert process.stop() == 0

    assert [reply.status for reply in replies] == [200] * 5
    assert '"status": "write_failed"' in (tmp_path / "server.log").read_text(encoding="utf-8")
