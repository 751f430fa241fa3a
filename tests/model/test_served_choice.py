"""`deploy.serve.quantize: auto` chooses the served graph once, in the training program, on the
validation split, and the train stage takes that record as it is (issue 25): before, the stage
chose again on the validation and test splits after any backend, so a SageMaker job's archive could
serve another graph than the one the gate judged, and the choice looked at the gate's own split.
Also: a train stage that fails keeps the previous run's outputs whole."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from textclf.config import load_params
from textclf.pipeline import export, train

HISTORY = [
    {"step": 1, "loss": 1.1},
    {"step": 1, "eval_loss": 1.0, "eval_accuracy": 0.5, "eval_macro_f1": 0.4},
    {"step": 1, "train_loss": 1.1},
]
FACTS = {"train_loss": 1.1, "validation_accuracy": 0.5, "validation_macro_f1": 0.4, "global_step": 1}
STAGE_OUTPUTS = (
    "metrics/train.json",
    "plots/train_loss.csv",
    "plots/validation.csv",
    "reports/train_job.json",
)


def scores(none: float, int8: float) -> dict:
    return {
        "none": {"accuracy": none, "macro_f1": none},
        "int8": {"accuracy": int8, "macro_f1": int8},
    }


def auto_record(tolerance: float = 0.01, **splits) -> dict:
    """serving.json as the training program writes it for `auto` (export.choose_graph)."""
    return export.choose_graph("auto", splits or {"validation": scores(0.9, 0.895)}, tolerance)


def job_backend(model_dir: Path, serving: dict | str | None):
    """A backend that returns `model_dir` with `serving` as its serving.json, as a SageMaker job's
    archive arrives: trained and exported elsewhere."""

    def backend(params, hp, staging: Path, log) -> dict:
        for item in model_dir.iterdir():
            if item.is_file() and item.name != "serving.json":
                shutil.copy(item, staging / item.name)
        (staging / "training_history.json").write_text(json.dumps(HISTORY), encoding="utf-8")
        if isinstance(serving, dict):
            (staging / "serving.json").write_text(json.dumps(serving), encoding="utf-8")
        elif serving == "fifo":
            os.mkfifo(staging / "serving.json")
        return {**FACTS, "backend": "sagemaker"}

    return backend


@pytest.fixture
def project(tiny_project, monkeypatch) -> Path:
    monkeypatch.chdir(tiny_project)
    return tiny_project


def test_the_stage_serves_the_graph_the_job_chose_on_validation(project, tiny_model_dir):
    # Within 0.01 on validation: int8. The stage used to score the test split too and rewrite it.
    record = auto_record()
    assert record["quantize"] == "int8"
    params = load_params()
    assert (params.deploy.serve.quantize, params.deploy.serve.int8_tolerance) == ("auto", 0.01)

    train.run_stage(params, job_backend(tiny_model_dir, record), log=lambda _: None)

    assert json.loads((project / "models/model/serving.json").read_text()) == record
    facts = json.loads((project / "reports/train_job.json").read_text())
    assert facts["onnx_export"]["served"] == {key: record[key] for key in ("graph", "rule", "reason")}
    assert json.loads((project / "metrics/train.json").read_text())["global_step"] == 1


def refused_records() -> list:
    int8_fixed = export.choose_graph("int8", {}, 0.01)
    return [
        pytest.param(auto_record(tolerance=0.05), "int8_tolerance 0.05.*is 0.01", id="other-tolerance"),
        pytest.param(int8_fixed, "rule 'int8'.*quantize is 'auto'", id="other-rule"),
        pytest.param(
            auto_record(validation=scores(0.9, 0.9), test=scores(0.9, 0.9)),
            r"validation split only, the record scores \['test', 'validation'\]",
            id="chosen-on-test-too",
        ),
        pytest.param(
            {**auto_record(validation=scores(0.9, 0.5)), "quantize": "int8", "graph": "model.int8.onnx"},
            "serves int8, but its own validation scores give none",
            id="not-the-rule",
        ),
        pytest.param({**auto_record(), "graph": "model.onnx"}, "graph 'model.onnx'", id="graph-mismatch"),
        pytest.param(None, "serving.json: not found", id="missing"),
        pytest.param("fifo", "serving.json: cannot be read", id="fifo"),
    ]


@pytest.mark.parametrize(("serving", "message"), refused_records())
def test_a_record_not_chosen_under_these_params_is_refused_and_nothing_replaced(
    project, tiny_model_dir, serving, message
):
    for name in STAGE_OUTPUTS:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("previous\n")
    (project / "models/model").mkdir(parents=True)
    (project / "models/model/previous.txt").write_text("previous\n")

    with pytest.raises(train.ServedGraphError, match=message) as refused:
        train.run_stage(load_params(), job_backend(tiny_model_dir, serving), log=lambda _: None)

    assert "models/model was not replaced by this run" in str(refused.value)
    assert all((project / name).read_text() == "previous\n" for name in STAGE_OUTPUTS)
    assert [p.name for p in (project / "models").iterdir()] == ["model"]  # no staging folder left
    assert [p.name for p in (project / "models/model").iterdir()] == ["previous.txt"]


def test_a_backend_that_fails_leaves_the_previous_outputs_whole(project, tiny_model_dir):
    """A job that fails after the stage started (SageMaker's FailureReason, a download cut off):
    the previous model and its metrics and plots stay together; before, the metrics and plots were
    deleted while the old model stayed."""
    for name in STAGE_OUTPUTS:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("previous\n")

    def failing(params, hp, staging, log):
        job_backend(tiny_model_dir, auto_record())(params, hp, staging, log)
        raise RuntimeError("training job textclf-x Failed: AlgorithmError")

    with pytest.raises(RuntimeError, match="AlgorithmError"):
        train.run_stage(load_params(), failing, log=lambda _: None)

    assert all((project / name).read_text() == "previous\n" for name in STAGE_OUTPUTS)
    leftovers = [p for folder in ("metrics", "plots", "reports") for p in (project / folder).glob(".*")]
    assert leftovers == []


def test_outputs_are_staged_before_any_is_replaced(tmp_path):
    """A target that cannot be written (a folder in its place) fails before any file is replaced."""
    (tmp_path / "a.json").write_text("previous\n")
    (tmp_path / "b.csv").mkdir()

    with pytest.raises(IsADirectoryError, match=r"b\.csv"):
        train.PendingOutputs({tmp_path / "a.json": "new\n", tmp_path / "b.csv": "new\n"}).commit()

    assert (tmp_path / "a.json").read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.csv"]
