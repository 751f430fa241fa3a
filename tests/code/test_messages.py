"""Messages that say what is wrong: a missing split share named as such, a JSON key given twice
refused instead of silently taking the last value, a missing model folder without a flag the
command lacks."""

from __future__ import annotations

import pytest

from textclf.config import ParamsError, parse_params
from textclf.review.gate import GateError, load_metrics
from textclf.serving.inference import ModelDirError, check_model_dir
from textclf.serving.server import RequestError, parse_json, parse_jsonlines


def test_a_missing_split_share_is_named_not_summed():
    with pytest.raises(ParamsError, match=r"data\.split: give all three shares.*\(missing: test\)") as error:
        parse_params({"data": {"split": {"train": 0.85, "validation": 0.15}}})
    assert "must sum to 1" not in str(error.value)


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parse_json, '{"inputs": "a", "inputs": "b"}'),
        (parse_jsonlines, '"ok"\n{"inputs": "a", "inputs": "b"}\n'),
    ],
)
def test_a_key_given_twice_in_a_request_is_a_400(parse, body):
    with pytest.raises(RequestError) as refused:
        parse(body)
    assert refused.value.status == 400 and "key 'inputs' is given twice" in refused.value.message


def test_a_key_given_twice_in_the_metrics_is_refused(tmp_path):
    (tmp_path / "eval.json").write_text('{"accuracy": 0.1, "accuracy": 0.99}', encoding="utf-8")
    with pytest.raises(GateError, match=r"eval\.json: key 'accuracy' is given twice"):
        load_metrics(tmp_path / "eval.json")


def test_a_missing_model_folder_does_not_offer_a_flag_evaluate_lacks(tmp_path):
    with pytest.raises(ModelDirError) as missing:
        check_model_dir(tmp_path / "models/model")
    assert "make repro" in str(missing.value) and "`textclf serve` also takes" in str(missing.value)
