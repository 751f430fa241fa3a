"""The one inference path (textclf.serving.inference): what it computes equals the PyTorch model,
it runs without torch, and it refuses a model folder it cannot serve with a message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from textclf.serving.inference import ModelDirError, Predictor

TEXTS = [
    "Where is my parcel? It was due on Monday.",
    "I was charged twice this month, please refund one of the payments.",
    "How do I send it back?" * 20,  # longer than max_length: truncated alike
    "  Café\u00a0au lait\u200b  ",
]


def test_the_graph_computes_what_the_pytorch_model_computes(tiny_model_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textclf.text import normalise

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    batch = tokenizer(
        [normalise(t) for t in TEXTS], truncation=True, max_length=32, padding=True, return_tensors="pt"
    )
    with torch.inference_mode():
        expected = model(**batch).logits.numpy()

    predictor = Predictor(tiny_model_dir, max_length=32)

    encodings = predictor.tokenizer.encode_batch([normalise(t) for t in TEXTS])
    assert [e.ids for e in encodings] == batch["input_ids"].tolist()  # same tokens, padding, truncation
    np.testing.assert_allclose(predictor.logits(TEXTS), expected, atol=1e-4)
    labels = [predictor.labels[i] for i in expected.argmax(-1)]
    assert [label for label, _ in predictor.predict(TEXTS)] == labels


def test_serving_runs_without_torch_or_transformers(tiny_model_dir):
    code = f"""
import sys
import textclf.cli, textclf.serving.server
from textclf.serving.server import InferenceService, Limits
service = InferenceService(Limits(8, 100, "truncate"))
service.load(__import__("pathlib").Path({str(tiny_model_dir)!r}), 32, "int8", "v")
print(service.classify(b'{{"inputs": "where is my parcel"}}', "application/json"))
training_only = ("torch", "transformers", "pandas", "pyarrow", "datasets", "dvc")
heavy = sorted(m for m in training_only if m in sys.modules)
print("HEAVY", heavy)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "'label'" in done.stdout
    assert "HEAVY []" in done.stdout, done.stdout


def test_a_folder_without_the_configured_graph_is_refused_with_what_to_do(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.int8.onnx").unlink()

    with pytest.raises(ModelDirError, match=r"lacks model\.int8\.onnx.*deploy\.serve\.quantize: int8"):
        Predictor(folder, 32, "int8")


def test_labels_that_disagree_with_the_config_are_refused(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "labels.json").write_text(json.dumps({"labels": ["a", "b", "c"]}), encoding="utf-8")

    with pytest.raises(ModelDirError, match="mixes files of two models"):
        Predictor(folder, 32)


# --- issue 29: what the graph saw of a text -------------------------------------------------------


def test_a_prediction_says_whether_max_length_cut_the_text(tiny_model_dir):
    predictor = Predictor(tiny_model_dir, max_length=32)

    short, long = predictor.classify(["where is my parcel", "Where is my parcel? " * 200])

    assert not short.truncated and 2 < short.tokens < 32
    assert long.truncated and long.tokens == 32  # 4,000 characters, of which the graph saw 32 tokens
    assert [(short.label, short.score), (long.label, long.score)] == predictor.predict(
        ["where is my parcel", "Where is my parcel? " * 200]
    )


# --- issue 28: the model folder says which graph it serves --------------------------------------


def test_the_folders_serving_json_decides_which_graph_is_loaded(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    assert Predictor(folder, 32, "auto").graph.name == "model.onnx"  # no record: fp32, as before

    (folder / "serving.json").write_text(json.dumps({"quantize": "int8", "graph": "model.int8.onnx"}))

    # Whatever deploy.serve.quantize the server was started with: the graph the gate judged.
    for quantize in ("none", "int8", "auto"):
        assert Predictor(folder, 32, quantize).graph.name == "model.int8.onnx"
    assert Predictor(folder, 32, "none", graph="none").graph.name == "model.onnx"  # evaluate's other graph


def test_a_serving_record_naming_a_missing_or_unknown_graph_is_refused(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "serving.json").write_text(json.dumps({"quantize": "int8"}))
    (folder / "model.int8.onnx").unlink()

    with pytest.raises(
        ModelDirError, match=r"lacks model\.int8\.onnx, the graph its serving\.json serves \(int8\)"
    ):
        Predictor(folder, 32, "none")

    (folder / "serving.json").write_text(json.dumps({"quantize": "int4"}))
    with pytest.raises(
        ModelDirError, match=r"serving\.json: quantize must be one of \['int8', 'none'\], got 'int4'"
    ):
        Predictor(folder, 32)
