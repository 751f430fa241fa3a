"""Publish uploads the model folder that was evaluated, nothing else (issue 27, round 6, F2:
another folder copied to models/model was published under eval.json's metrics). The folder's
served graph must have the sha256 eval.json records and its labels.json the evaluated classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.release.evaluation import evaluation_of, params_for, verdict_of

from textclf.config import AwsParams
from textclf.release import promote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LABELS = ["billing", "delivery", "returns"]


class Untouchable:
    def __getattr__(self, name: str):
        raise AssertionError(f"publish called S3's {name} before refusing")


def folder(
    root: Path, labels: list[str] = LABELS, graph: bytes = b"graph", serving: str | None = None
) -> Path:
    model = root / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    (model / "tokenizer.json").write_text('{"model": {"vocab": {"[PAD]": 0}}}', encoding="utf-8")
    (model / "tokenizer_config.json").write_text('{"do_lower_case": true}', encoding="utf-8")
    (model / "labels.json").write_text(json.dumps({"labels": labels}), encoding="utf-8")
    (model / "model.onnx").write_bytes(graph)
    (model / "model.int8.onnx").write_bytes(b"int8 " + graph)
    if serving:
        (model / "serving.json").write_text(json.dumps({"quantize": serving}), encoding="utf-8")
    return model


def publish(root: Path, model: Path, metrics: dict, judged: dict | None = None) -> None:
    """Publish `model` with `metrics` and the evaluate stage's verdict on them (with the params of a
    model of the evaluated classes, LABELS)."""
    params = params_for(LABELS)
    (root / "eval.json").write_text(json.dumps(metrics), encoding="utf-8")
    verdict = verdict_of(judged or metrics, params)
    (root / "gate.json").write_text(json.dumps(verdict), encoding="utf-8")
    promote.publish(
        COMMIT, AwsParams(), model, root / "eval.json", root / "gate.json", s3=Untouchable(), params=params
    )


def test_the_evaluated_folder_reaches_the_upload(tmp_path: Path) -> None:
    model = folder(tmp_path)
    with pytest.raises(AssertionError, match="publish called S3"):
        publish(tmp_path, model, evaluation_of(model))


def test_another_folder_in_place_of_the_evaluated_one_is_refused(tmp_path: Path) -> None:
    evaluated = evaluation_of(folder(tmp_path))
    model = folder(tmp_path, graph=b"another model's graph")
    with pytest.raises(promote.ReleaseError) as refused:
        publish(tmp_path, model, evaluated)
    message = str(refused.value)
    assert f"{model / 'model.onnx'}" in message and "is not the graph" in message, message
    assert "eval.json evaluated" in message and "dvc repro" in message, message


def test_a_folder_with_other_labels_is_refused(tmp_path: Path) -> None:
    evaluated = evaluation_of(folder(tmp_path))
    model = folder(tmp_path, labels=["billing", "delivery", "returns", "spam"])
    with pytest.raises(promote.ReleaseError, match=r"labels\.json: labels .* are not the classes"):
        publish(tmp_path, model, evaluated)


def test_metrics_that_name_no_graph_are_refused(tmp_path: Path) -> None:
    model = folder(tmp_path)
    judged = evaluation_of(model)
    metrics = {key: value for key, value in judged.items() if key != "graph"}
    # Judged again as the gate judges it, the metrics are refused first: they name no served graph.
    with pytest.raises(
        promote.ReleaseError, match=r"eval\.json: graphs is given but graph \(the served graph\)"
    ):
        publish(tmp_path, model, metrics, judged)


def test_a_folder_serving_another_graph_than_the_evaluated_one_is_refused(tmp_path: Path) -> None:
    model = folder(tmp_path, serving="int8")
    with pytest.raises(promote.ReleaseError, match=r"serving\.json: the folder serves model\.int8\.onnx"):
        publish(tmp_path, model, evaluation_of(model))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    labels=st.lists(st.sampled_from(["billing", "delivery", "returns", "spam", "Billing"]), max_size=5),
    flipped=st.integers(min_value=0, max_value=4),
)
def test_any_other_labels_or_graph_byte_is_refused(tmp_path: Path, labels: list[str], flipped: int) -> None:
    evaluated = evaluation_of(folder(tmp_path))
    graph = bytearray(b"graph")
    graph[flipped] ^= 1
    with pytest.raises(promote.ReleaseError, match="is not the graph"):
        publish(tmp_path, folder(tmp_path, graph=bytes(graph)), evaluated)
    if labels != LABELS:
        with pytest.raises(promote.ReleaseError, match="are not the classes"):
            publish(tmp_path, folder(tmp_path, labels=labels), evaluated)
