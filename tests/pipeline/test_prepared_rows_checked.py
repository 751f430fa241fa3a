"""A prepared split's rows as train and evaluate read them (R14A-9): a lone surrogate (`"\\ud800"`,
valid JSON) was a tokenizer's TypeError in evaluate and datasets' UnicodeEncodeError in train, and a
line giving a key twice was read with JSON's last-wins; both are now named with their file and
line, and "rerun the prepare stage", as every other malformed line is."""

from __future__ import annotations

import json

import pytest

from textclf.pipeline import evaluate, train

GOOD = json.dumps({"text": "where is my parcel", "label": "delivery"}) + "\n"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('{"text": "\\ud800", "label": "delivery"}\n', "line 2: holds a lone surrogate (U+D800)"),
        ('{"text": "ok \\udfff there", "label": "delivery"}\n', "line 2: holds a lone surrogate (U+DFFF)"),
        ('{"text": "a", "label": "\\ud83d"}\n', "line 2: holds a lone surrogate (U+D83D)"),
        ('{"text": "a", "text": "b", "label": "delivery"}\n', "line 2: key 'text' is given twice"),
    ],
)
def test_evaluate_names_the_line_of_a_test_split_it_cannot_score(tmp_path, line, said):
    path = tmp_path / "test.jsonl"
    path.write_text(GOOD + line, encoding="utf-8")
    with pytest.raises(evaluate.EvaluateError) as refused:
        list(evaluate.iter_test_split(path))
    assert str(refused.value).startswith(f"{path}: {said}"), refused.value
    assert str(refused.value).endswith("rerun the prepare stage")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('{"text": "ok \\ud800", "label": "delivery"}\n', "line 2: holds a lone surrogate (U+D800)"),
        ('{"text": "a", "label": "delivery", "label": "billing"}\n', "line 2: key 'label' is given twice"),
    ],
)
def test_train_names_the_line_of_a_split_it_cannot_train_on(tmp_path, line, said):
    (tmp_path / "train.jsonl").write_text(GOOD + line, encoding="utf-8")
    with pytest.raises(train.PreparedDataError) as refused:
        train._read_split(tmp_path, "train", ["billing", "delivery"])
    assert str(refused.value).startswith(f"{tmp_path / 'train.jsonl'} {said}"), refused.value
    assert "run the prepare stage again" in str(refused.value)


def test_a_well_formed_split_still_reads(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text(GOOD + json.dumps({"text": "emoji 🙂, accents é", "label": "delivery"}) + "\n")
    assert [text for text, _ in evaluate.iter_test_split(path)] == [
        "where is my parcel",
        "emoji 🙂, accents é",
    ]
