"""The report's served-graph section (both ONNX graphs, which one is served and gated, their speed)
and the long-text line (texts longer than model.max_length tokens, and what that costs)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.review.conftest import MAIN_DATA, PR_EVAL, assert_valid_tables, section, table_after
from tests.review.test_render import inputs
from textclf.review import report
from textclf.review.report import render, section_graphs, truncation_line

SHA = {"none": "a" * 64, "int8": "b" * 64}
CANDIDATE = {
    **PR_EVAL,
    "graph": {"file": "model.int8.onnx", "quantize": "int8", "sha256": SHA["int8"]},
    "graphs": {
        "none": {
            "file": "model.onnx",
            "quantize": "none",
            "sha256": SHA["none"],
            "served": False,
            "accuracy": 0.9703,
            "macro_f1": 0.9701,
            "min_class_recall": 0.9111,
            "agreement_with_served": 0.9926,
        },
        "int8": {
            "file": "model.int8.onnx",
            "quantize": "int8",
            "sha256": SHA["int8"],
            "served": True,
            "accuracy": 0.9665,
            "macro_f1": 0.9662,
            "min_class_recall": 0.9,
            "agreement_with_served": 1.0,
        },
    },
    "serving": {
        "rule": "auto",
        "int8_tolerance": 0.01,
        "reason": "int8 within 0.01 of fp32 on the validation split",
    },
    "truncation": {
        "max_length": 128,
        "truncated_rows": 30,
        "rows": 269,
        "share": 0.1115,
        "accuracy_truncated": 0.8333,
        "accuracy_rest": 0.9833,
    },
}
LATENCY = {
    "what": "one text per call: p50 of 30 calls",
    "graphs": {
        "none": {
            "file": "model.onnx",
            "sha256": SHA["none"],
            "single_text_p50_ms": 3.21,
            "batch_texts_per_second": 410.5,
        },
        "int8": {
            "file": "model.int8.onnx",
            "sha256": SHA["int8"],
            "single_text_p50_ms": 1.12,
            "batch_texts_per_second": 790.0,
        },
    },
}


def test_both_graphs_with_the_served_one_first_and_their_speed():
    text = section_graphs(inputs(CANDIDATE, latency=LATENCY))

    rows = table_after(text, "Graph")
    assert list(rows) == ["int8 (`model.int8.onnx`)", "fp32 (`model.onnx`)"]
    assert rows["int8 (`model.int8.onnx`)"] == [
        "**served, gated**",
        "0.9665",
        "0.9662",
        "0.9000",
        "1.0000",
        "1.12 ms",
        "790",
    ]
    assert rows["fp32 (`model.onnx`)"][:2] == ["not served", "0.9703"]
    assert rows["fp32 (`model.onnx`)"][-2:] == ["3.21 ms", "410"]
    assert "`deploy.serve.quantize: auto`): int8 within 0.01 of fp32 on the validation split." in text


def test_the_speed_is_left_out_when_it_was_not_measured_here():
    text = section_graphs(inputs(CANDIDATE))

    assert table_after(text, "Graph")["int8 (`model.int8.onnx`)"][-2:] == ["—", "—"]
    assert "Speed: not measured in this workspace" in text


def test_metrics_without_graphs_leave_the_section_out():
    older = {key: value for key, value in PR_EVAL.items() if key not in ("graph", "graphs")}
    assert section_graphs(inputs(older)) == ""
    assert "### Served graph" not in render(inputs(older))


def test_the_report_places_the_section_after_the_per_class_scores_and_its_tables_are_valid():
    report = render(inputs(CANDIDATE, latency=LATENCY, data=MAIN_DATA))

    assert report.index("### Per class") < report.index("### Served graph") < report.index("### Data\n")
    assert_valid_tables(section(report, "### Served graph"))


def test_long_texts_are_counted_and_their_cost_shown():
    data = {
        **MAIN_DATA,
        "truncation": {
            "max_length": 128,
            "share": 0.4312,
            "rows_longer": 1066,
            "counted_rows": 2473,
            "sampled": False,
            "token_percentiles": {"p5": 40.0, "p50": 201.0, "p95": 812.0, "max": 4000.0},
        },
    }

    line = truncation_line(data, CANDIDATE)

    assert line.startswith("**Long texts:** 43.1% of the texts (1066 of 2473 counted) are longer than")
    assert "`model.max_length` = 128 tokens (median 201, 95th percentile 812 tokens)" in line
    assert "accuracy 0.8333 on the 30 cut texts vs 0.9833 on the rest" in line
    assert "A larger `model.max_length`" in line
    assert "**Long texts:**" in render(inputs(CANDIDATE, data=data))


def test_no_long_text_line_without_the_figures():
    assert truncation_line(MAIN_DATA, PR_EVAL) == ""


@pytest.mark.parametrize("digest", [[1, 2], {}, {"a": 1}, None, 5])
def test_latency_of_graphs_whose_digest_is_no_text_is_left_out(tmp_path, monkeypatch, digest):
    """R14A-11: reports/latency.json with graphs.int8.sha256 a list or an object was a TypeError
    (unhashable type) in the report; the timings are now those of no graph these metrics judged."""
    latency = copy.deepcopy(LATENCY)
    latency["graphs"]["int8"]["sha256"] = digest
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/latency.json").write_text(json.dumps(latency), encoding="utf-8")

    assert report._latency(CANDIDATE) is None
