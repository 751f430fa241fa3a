"""JSON inputs of the gate (metrics/eval.json) and the release steps, read through the shared
`atomic.read_json_object` and judged by `textclf.verdict`: a malformed file or shape is one message
or a failed check, never a traceback (issue 14 point 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from textclf import atomic
from textclf.config import EvaluateParams
from textclf.verdict import judge


class InputError(ValueError):
    pass


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"metrics.json: not found; run evaluate"),
        ("folder", r"metrics.json: cannot be read \(Is a directory\); run evaluate"),
        (b"", r"metrics.json: is empty; run evaluate"),
        (b'{"accuracy": 0.9', r"not valid JSON \(.*\); run evaluate"),
        (b'{"note": "caf\xe9"}', r"line 1: bytes that are not UTF-8 .*run evaluate"),
        (b"[" * 100_000 + b"]" * 100_000, r"nested too deeply to be a JSON object of metrics"),
        (b"[1, 2]", r"expected a JSON object of metrics"),
        (b"null", r"expected a JSON object of metrics"),
    ],
)
def test_a_bad_json_file_is_one_message_naming_it(tmp_path, content, message):
    path = tmp_path / "metrics.json"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        atomic.read_json_object(path, InputError, "run evaluate", " of metrics")


@pytest.mark.parametrize(
    "per_class",
    [
        [0.9, 0.8],
        {"billing": [0.9]},
        {"billing": "high"},
        {"billing": None},
        {"billing": {"recall": True}},
        "x",
    ],
)
def test_per_class_metrics_of_the_wrong_shape_fail_the_gate_with_a_reason(per_class):
    metrics = {"accuracy": 0.95, "macro_f1": 0.95, "per_class": per_class}
    verdict = judge(metrics, EvaluateParams())
    assert verdict["verdict"] == "fail"
    assert any(
        reason.startswith("recall[") and "missing, not a number or outside 0..1" in reason
        for reason in verdict["reasons"]
    )


def test_the_gate_command_names_a_metrics_file_of_the_wrong_kind(tmp_path, repo_root):
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_text('[{"accuracy": 0.9}]\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "gate", "--champion", "main"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    assert done.returncode == 2, done.stderr
    assert "metrics/eval.json: expected a JSON object of metrics" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()
