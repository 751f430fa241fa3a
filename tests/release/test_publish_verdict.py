"""Publish needs the gate's verdict on the metrics it publishes (issue 27, R1: with neither gate file
present, `publish` and `stage-publish` published a model nobody had judged). The evaluate stage
writes metrics/gate.json beside metrics/eval.json, so a workspace that ran the pipeline has it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.release.evaluation import evaluation_of, params_of, verdict_of

from textclf.config import AwsParams
from textclf.release import promote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = Path(__file__).resolve().parents[2]


class Untouchable:
    """An S3 client that fails the test when publish reaches it."""

    def __getattr__(self, name: str):
        raise AssertionError(f"publish called S3's {name} before refusing")


@pytest.fixture
def evaluated(tmp_path: Path, monkeypatch, tiny_model_dir) -> Path:
    """A workspace with the evaluate stage's metrics and no verdict anywhere; its params.yaml is the
    model's (publish judges the metrics again with it)."""
    monkeypatch.chdir(tmp_path)  # reports/gate.json, `make gate`'s verdict, is read from the workspace
    metrics = tmp_path / "metrics" / "eval.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps(evaluation_of(tiny_model_dir)), encoding="utf-8")
    labels = json.dumps(params_of(tiny_model_dir).data.labels)
    (tmp_path / "params.yaml").write_text(
        (REPO / "params.yaml")
        .read_text(encoding="utf-8")
        .replace("labels: [account, billing, cancellation, delivery, product, returns]", f"labels: {labels}"),
        encoding="utf-8",
    )
    return metrics


def test_publish_without_a_verdict_is_refused_before_any_upload(evaluated, tiny_model_dir):
    gate = evaluated.with_name("gate.json")
    with pytest.raises(promote.ReleaseError) as refused:
        promote.publish(COMMIT, AwsParams(), tiny_model_dir, evaluated, gate, s3=Untouchable())
    message = str(refused.value)
    assert message.startswith(f"{gate}: not found; "), message
    assert "only a model whose gate passed is published" in message and "dvc repro" in message, message


def test_stage_publish_without_a_verdict_stages_nothing(evaluated, tmp_path):
    out = tmp_path / "build" / "publish"
    with pytest.raises(promote.ReleaseError, match=r"gate\.json: not found; only a model whose gate passed"):
        promote.stage_publish(out, evaluated, evaluated.with_name("gate.json"), tmp_path / "none")
    assert not out.exists()


@pytest.mark.parametrize("content", ["", "[]", '{"checks": []}', '{"verdict": null}'])
def test_a_verdict_file_without_a_verdict_is_no_pass(evaluated, tmp_path, content):
    gate = evaluated.with_name("gate.json")
    gate.write_text(content, encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=rf"{gate}: "):
        promote.passing_evaluation(evaluated, gate, tmp_path / "none")


def test_a_passing_verdict_publishes_and_a_full_verdict_must_pass_too(evaluated, tmp_path, tiny_model_dir):
    """The workspace's params.yaml judges the metrics again (no `params` given)."""
    gate = evaluated.with_name("gate.json")
    verdict = verdict_of(json.loads(evaluated.read_text(encoding="utf-8")), params_of(tiny_model_dir))
    gate.write_text(json.dumps(verdict), encoding="utf-8")
    metrics, _ = promote.passing_evaluation(evaluated, gate, tmp_path / "none")
    assert metrics["macro_f1"] == 0.9
    full = tmp_path / promote.FULL_GATE_FILE
    full.parent.mkdir()
    full.write_text(json.dumps({"verdict": "fail"}), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=r"reports/gate\.json: the gate did not pass"):
        promote.passing_evaluation(evaluated, gate, tmp_path / "none")
