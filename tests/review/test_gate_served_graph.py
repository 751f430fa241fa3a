"""The gate judges the served graph by params.yaml's deploy.serve, never by what metrics/eval.json
says of itself (issue 27, round 7 F-b): the rule (`quantize`) and `int8_tolerance` come from
params.yaml; `graph` is required and its quantize names its file; the served entry of `graphs` is
`graph` (same SHA-256) with the top-level figures, and exactly one graph is served."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.review.conftest import EVALUATE, MAIN_EVAL
from textclf import cli
from textclf.config import EvaluateParams, ServeParams
from textclf.serving.inference import GRAPH_FILES as SERVING_GRAPH_FILES
from textclf.verdict import GRAPH_FILES, judge

INT8_SHA, FP32_SHA = "1" * 64, "2" * 64
RERUN = "run `dvc repro evaluate` instead of editing the file"


def served_int8(fp32_accuracy: float = 0.92, fp32_macro_f1: float = 0.92) -> dict[str, Any]:
    """MAIN_EVAL as the evaluate stage writes it when the int8 graph is served (deploy.serve.quantize
    auto, int8 within 0.01 of fp32 on the test split: 0.9167 vs 0.92)."""
    graph = {"file": "model.int8.onnx", "quantize": "int8", "sha256": INT8_SHA}
    figures = {key: MAIN_EVAL[key] for key in ("accuracy", "macro_f1")}
    return {
        **MAIN_EVAL,
        "graph": graph,
        "graphs": {
            "int8": {**graph, "served": True, **figures},
            "none": {
                "file": "model.onnx",
                "quantize": "none",
                "sha256": FP32_SHA,
                "served": False,
                "accuracy": fp32_accuracy,
                "macro_f1": fp32_macro_f1,
            },
        },
        "serving": {"rule": "auto", "int8_tolerance": 0.01, "reason": "int8 within 0.01 of fp32"},
    }


def gate(repo, metrics: dict[str, Any], capsys) -> tuple[int, str]:
    """`textclf gate`'s exit status (a failed gate exits 1) and what it logged."""
    (repo.root / "metrics/eval.json").write_text(json.dumps(metrics), encoding="utf-8")
    try:
        status = cli.main(["gate", "--champion", "main"])
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err


def set_serve(repo, **values: Any) -> None:
    params = repo.params()
    params["deploy"]["serve"].update(values)
    repo.write_params(params)


def verdict(repo) -> dict[str, Any]:
    return json.loads((repo.root / "reports/gate.json").read_text(encoding="utf-8"))


def test_the_graph_files_are_the_serving_wings():
    assert GRAPH_FILES == SERVING_GRAPH_FILES


@pytest.mark.parametrize(
    "says",
    [
        {"int8_tolerance": 0.5},  # once: the file's own tolerance let 0.9167 pass against 0.99
        {"int8_tolerance": 1},
        {"rule": "int8"},  # once: the file's own rule skipped the comparison
    ],
)
def test_what_eval_json_says_of_its_rule_or_tolerance_is_not_taken(first_repo, no_aws, capsys, says):
    metrics = served_int8(fp32_accuracy=0.99)
    metrics["serving"].update(says)

    status, err = gate(first_repo, metrics, capsys)

    assert status == 1
    assert "accuracy of the served int8 graph = 0.9167, more than 0.01 below fp32's 0.9900" in err
    assert "params.yaml deploy.serve.int8_tolerance" in err


def test_the_tolerance_comes_from_params_yaml(first_repo, no_aws, capsys):
    set_serve(first_repo, int8_tolerance=0.1)  # eval.json still says 0.01

    status, _ = gate(first_repo, served_int8(fp32_accuracy=0.99), capsys)

    assert status == 0
    checks = {check["check"]: check for check in verdict(first_repo)["checks"]}
    assert checks["accuracy int8 vs fp32"]["tolerance"] == 0.1
    assert checks["accuracy int8 vs fp32"]["bound"] == 0.89


@pytest.mark.parametrize("rule", ["none", "int8"])
def test_params_that_fix_the_graph_fail_metrics_of_another(first_repo, no_aws, capsys, rule):
    metrics = served_int8()
    if rule == "int8":  # an fp32-served evaluation, while params.yaml says int8
        metrics = MAIN_EVAL
    set_serve(first_repo, quantize=rule)

    status, _ = gate(first_repo, metrics, capsys)

    assert status == 1
    (reason,) = verdict(first_repo)["reasons"]
    assert f"but params.yaml deploy.serve.quantize: {rule} serves {rule}" in reason
    assert "run `dvc repro` (train, then evaluate)" in reason


def _fp32_quantize_on_the_int8_file(m: dict) -> None:
    m["graph"]["quantize"] = "none"


def _both_served(m: dict) -> None:
    m["graphs"]["none"]["served"] = True


def _other_sha(m: dict) -> None:
    m["graphs"]["int8"]["sha256"] = "3" * 64


def _figures_of_another_graph(m: dict) -> None:
    m["graphs"]["int8"]["accuracy"] = 0.1


def _fp32_under_the_int8_key(m: dict) -> None:
    m["graphs"]["none"]["file"] = "model.int8.onnx"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("graph"), "graphs is given but graph (the served graph) is missing"),
        (lambda m: m.pop("graphs"), "graphs (each graph's test figures) is missing"),
        (
            lambda m: [m.pop("graph"), m.pop("graphs")],
            "graph (the served graph: file, quantize, sha256) is missing",
        ),
        (
            _fp32_quantize_on_the_int8_file,
            "graph.quantize 'none' does not go with graph.file 'model.int8.onnx'",
        ),
        (lambda m: m["graph"].update(sha256=None), "graphs.int8.sha256 is not graph.sha256"),
        (_both_served, "graphs.int8 and graphs.none say served: true; the endpoint serves exactly one"),
        (_other_sha, "graphs.int8.sha256 is not graph.sha256, the served graph's"),
        (_figures_of_another_graph, "graphs.int8.accuracy 0.1 is not the served graph's accuracy 0.9167"),
        (_fp32_under_the_int8_key, "graphs.none.file is 'model.int8.onnx', not 'model.onnx'"),
        (lambda m: m["graphs"]["none"].pop("served"), "graphs.none.served must be true or false"),
    ],
)
def test_an_eval_json_whose_graphs_disagree_is_refused(
    first_repo, no_aws, capsys, edit: Callable[[dict], Any], message: str
):
    metrics = served_int8(fp32_accuracy=0.99)  # every edit once passed the gate with it
    edit(metrics)

    status, err = gate(first_repo, metrics, capsys)

    assert status == 2
    assert f"error: metrics/eval.json: {message}" in err and RERUN in err
    assert "Traceback" not in err and not (first_repo.root / "reports/gate.json").exists()


def test_the_gate_needs_deploy_serve_in_params_yaml(first_repo, no_aws, capsys):
    params = first_repo.params()
    del params["deploy"]["serve"]
    first_repo.write_params(params)

    status, err = gate(first_repo, served_int8(), capsys)

    assert status == 2
    assert "params.yaml: deploy.serve: missing; this command reads it" in err


def test_judged_without_the_gates_shape_checks_a_missing_graph_still_fails():
    # The summary judges the metrics as they are: no graph is no served graph params.yaml allows.
    metrics = {key: value for key, value in MAIN_EVAL.items() if key != "graph"}
    verdict = judge(metrics, EvaluateParams.model_validate(EVALUATE), serve=ServeParams())

    assert verdict["verdict"] == "fail"
    assert verdict["reasons"] == [
        "metrics/eval.json: graph.quantize is missing, but params.yaml deploy.serve.quantize: auto serves "
        "none or int8: these metrics are not of a model trained with this params.yaml; run `dvc repro` "
        "(train, then evaluate) instead of editing the file"
    ]
