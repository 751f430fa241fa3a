"""`textclf serve` (and every Predictor) on a damaged model folder: one message naming the file,
exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from textclf.serving.inference import ModelDirError, Predictor

SRC = Path(__file__).resolve().parents[2] / "src"


def damaged(tiny_model_dir: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / name).write_bytes(content)
    return folder


def truncated(folder: Path) -> bytes:
    return (folder / "model.onnx").read_bytes()[:5000]


LETTERS = {"a": "billing", "b": "delivery", "c": "returns"}


def config_with(tiny_model_dir: Path, **changes) -> bytes:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    return json.dumps({**config, **changes}).encode()


CASES = [
    (
        "config.json",
        lambda d: config_with(d, id2label={"a": "billing", "b": "delivery", "c": "returns"}),
        "id2label",
    ),
    ("config.json", lambda d: config_with(d, id2label=["billing"]), "id2label"),
    ("config.json", lambda d: b"[" * 50_000, "config.json: "),
    ("model.onnx", lambda d: b"", "model.onnx: ONNX Runtime cannot load it"),
    (
        "model.onnx",
        lambda d: (d / "model.onnx").read_bytes()[:5000],
        "model.onnx: ONNX Runtime cannot load it",
    ),
    ("tokenizer.json", lambda d: b"{}", "tokenizer.json: not a tokenizer the train stage saved"),
    ("tokenizer_config.json", lambda d: b'{"pad_token": ["x"]}', "pad_token must be a string"),
    ("labels.json", lambda d: b'{"labels": []}', "two or more distinct"),
    ("labels.json", lambda d: b'{"labels": ["a", "a", "b"]}', "two or more distinct"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_a_damaged_file_is_a_model_dir_error_naming_it(tiny_model_dir, tmp_path, name, content, message):
    folder = damaged(tiny_model_dir, tmp_path, name, content(tiny_model_dir))
    with pytest.raises(ModelDirError, match=message.replace(".", r"\.")):
        Predictor(folder, max_length=32)


def test_serve_on_a_truncated_graph_is_one_message(tiny_model_dir, tmp_path):
    folder = damaged(
        tiny_model_dir, tmp_path, "model.onnx", (tiny_model_dir / "model.onnx").read_bytes()[:5000]
    )
    (tmp_path / "params.yaml").write_text(
        "model:\n  max_length: 32\ndeploy:\n  serve: {}\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(folder), "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert done.returncode == 2, done.stderr
    assert "model.onnx: ONNX Runtime cannot load it" in done.stderr and "Traceback" not in done.stderr
