"""`textclf summary` (make repro's last screen) shows no verdict for a metrics/eval.json the gate
refuses (round 8, U-g1): with graph.quantize 'none' beside graph.file model.int8.onnx, `textclf
gate` refused the file while the summary printed "Gate: PASS". The summary now asks the gate's own
check (gate.check_metrics) first and says the gate cannot judge the file, why and what to run."""

from __future__ import annotations

import copy
import json

import pytest

from tests.review.conftest import PR_EVAL
from textclf import cli


def summary_and_gate(repo, metrics: dict, capsys) -> tuple[str, int, str]:
    repo.write_json("metrics/eval.json", metrics)
    assert cli.main(["summary", "--champion", "main"]) == 0
    shown = capsys.readouterr().out
    try:
        status = cli.main(["gate", "--champion", "main"])
    except SystemExit as exit_:
        status = exit_.code
    return shown, status, capsys.readouterr().err


def int8_file_named_fp32(metrics: dict) -> None:
    metrics["graph"]["file"] = "model.int8.onnx"  # quantize stays 'none'
    metrics["graphs"]["none"]["accuracy"] = 0.99


def class_left_out(metrics: dict) -> None:
    del metrics["per_class"]["warranty"]


def figure_raised(metrics: dict) -> None:
    metrics["macro_f1"] = 0.99


@pytest.mark.parametrize("edit", [int8_file_named_fp32, class_left_out, figure_raised])
def test_a_file_the_gate_refuses_gets_no_verdict_in_the_summary(pr_repo, no_aws, capsys, edit):
    metrics = copy.deepcopy(PR_EVAL)
    edit(metrics)

    shown, status, refusal = summary_and_gate(pr_repo, metrics, capsys)

    assert status == 2 and "metrics/eval.json" in refusal  # the gate refuses it
    assert "Gate: PASS" not in shown and "Gate: FAIL" not in shown
    assert "Gate: CANNOT JUDGE (metrics/eval.json; make gate refuses it, exit 2)" in shown
    refused = " ".join(
        line.strip() for line in shown.splitlines() if line.startswith(("  refused: ", "    "))
    )
    assert "dvc repro" in refused  # what to run
    assert all(len(line) <= 100 for line in shown.splitlines())


def test_the_quantize_mismatch_is_named(pr_repo, no_aws, capsys):
    metrics = copy.deepcopy(PR_EVAL)
    int8_file_named_fp32(metrics)

    shown, _, _ = summary_and_gate(pr_repo, metrics, capsys)

    joined = " ".join(line.strip() for line in shown.splitlines())
    assert "graph.quantize 'none' does not go with graph.file 'model.int8.onnx'" in joined


def test_a_file_the_gate_judges_keeps_its_verdict(pr_repo, no_aws, capsys):
    shown, status, _ = summary_and_gate(pr_repo, json.loads(json.dumps(PR_EVAL)), capsys)

    assert status == 0 and "Gate: PASS (thresholds and main's macro_f1)" in shown
    assert "CANNOT JUDGE" not in shown
