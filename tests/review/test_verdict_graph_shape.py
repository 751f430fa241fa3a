"""metrics/eval.json's `graph.quantize` of a shape JSON allows but no graph has (an object, a list):
the verdict's served-graph check looked it up in GRAPH_FILES and ended in `TypeError: unhashable
type` (issue 27, round 11, T-b). It is a failed check naming the file and key, as a number or a
string of another name is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.review.conftest import EVALUATE, MAIN_EVAL
from textclf.config import EvaluateParams, ServeParams
from textclf.verdict import judge


@pytest.mark.parametrize("quantize", [{"a": 1}, ["int8"], [], {}])
@pytest.mark.parametrize("rule", ["auto", "none", "int8"])
def test_a_graph_quantize_of_another_shape_is_a_failed_check_naming_the_key(quantize: Any, rule: str) -> None:
    metrics = {**MAIN_EVAL, "graph": {"file": "model.onnx", "quantize": quantize, "sha256": "2" * 64}}
    verdict = judge(metrics, EvaluateParams(**EVALUATE), serve=ServeParams(quantize=rule))
    assert verdict["verdict"] == "fail"
    served = [check for check in verdict["checks"] if check["check"] == "served graph"]
    assert len(served) == 1 and served[0]["passed"] is False, verdict["checks"]
    reason = served[0]["problem"]
    assert reason.startswith(f"metrics/eval.json: graph.quantize is {quantize!r}, but params.yaml"), reason
    assert "run `dvc repro`" in reason and "\n" not in reason, reason


@pytest.mark.parametrize("quantize", [{"a": 1}, ["int8"]])
def test_the_evaluate_stage_judging_by_the_folder_does_not_look_it_up(quantize: Any) -> None:
    """Without params.yaml's deploy.serve (the evaluate stage) only an int8 graph is compared with fp32."""
    metrics = {
        **MAIN_EVAL,
        "graph": {"quantize": quantize},
        "serving": {"rule": "auto", "int8_tolerance": 0.01},
    }
    verdict = judge(metrics, EvaluateParams(**EVALUATE))
    assert not [check for check in verdict["checks"] if "int8" in check["check"]], verdict["checks"]
