"""metrics/eval.json's `graph.quantize` as an object or a list (valid JSON, no graph's name): the
gate's shape check (champion.check_eval, which `textclf gate` and `textclf summary` ask of the PR's
file and of the champion's) looked it up in GRAPH_FILES and ended in `TypeError: unhashable type`
(issue 27, T-b). It is refused naming the file and key, as a number or another name is."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.review.conftest import PR_EVAL
from tests.review.test_summary_refused import summary_and_gate
from textclf.review.champion import ChampionError, check_eval

SHAPES = [{"a": 1}, ["int8"], {}, []]


@pytest.mark.parametrize("quantize", SHAPES)
@pytest.mark.parametrize("where", ["metrics/eval.json", "main:metrics/eval.json"])
def test_check_eval_names_the_key(quantize: Any, where: str) -> None:
    metrics = copy.deepcopy(PR_EVAL)
    metrics["graph"]["quantize"] = quantize

    with pytest.raises(ChampionError) as refused:
        check_eval(metrics, where, ChampionError)

    message = str(refused.value)
    assert message.startswith(f"{where}: graph.quantize {quantize!r} does not go with graph.file"), message
    assert "run `dvc repro evaluate`" in message and "\n" not in message


@pytest.mark.parametrize("quantize", [{"a": 1}, ["int8"]])
def test_gate_and_summary_refuse_it_without_a_traceback(pr_repo, no_aws, capsys, quantize: Any) -> None:
    metrics = copy.deepcopy(PR_EVAL)
    metrics["graph"]["quantize"] = quantize

    shown, status, err = summary_and_gate(pr_repo, metrics, capsys)

    assert status == 2, err
    assert f"error: metrics/eval.json: graph.quantize {quantize!r} does not go with graph.file" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "Gate: CANNOT JUDGE (metrics/eval.json; make gate refuses it, exit 2)" in shown
