"""`textclf champion record --metrics <file>` names the file it was given in every refusal (round 9,
U-c2): each message said metrics/eval.json, whatever file was read."""

from __future__ import annotations

import json

import pytest

from tests.review.conftest import MAIN_EVAL
from textclf.config import AwsParams
from textclf.review import champion
from textclf.review.champion import ChampionError

RELEASED = "a" * 40


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({**MAIN_EVAL, "accuracy": 7.0}, "`accuracy` is missing or not a number from 0 to 1"),
        ({**MAIN_EVAL, "per_class": [1]}, "per_class must be an object of classes"),
        ({**MAIN_EVAL, "graph": "x"}, "graph must be an object"),
        (
            {**MAIN_EVAL, "per_class": {**MAIN_EVAL["per_class"], "billing": {"recall": 3}}},
            "per_class.billing.recall is not a number from 0 to 1",
        ),
    ],
)
def test_each_refusal_names_the_file_given(tmp_path, metrics, message):
    given = tmp_path / "released" / "m.json"
    given.parent.mkdir()
    given.write_text(json.dumps(metrics), encoding="utf-8")

    with pytest.raises(ChampionError) as refused:
        champion.record(AwsParams(), given, RELEASED, "macro_f1")

    assert str(refused.value).startswith(f"{given}: ") and message in str(refused.value)
    assert "metrics/eval.json" not in str(refused.value)
