"""The report's refusals of metrics/data.json, train.json and reference.json name the key and the
remedy (R13A-5): `classes.train.delivery = -1` was "classes must map each split to counts per class"
(which split, which class, what to do?), `dropped.empty_text = []` and `text_chars.max = ""` the
same, and a file holding [] or null "expected a JSON object" with no remedy."""

from __future__ import annotations

import json

import pytest

from tests.review.conftest import MAIN_DATA
from textclf import cli

AGAIN = "the pipeline writes no such value: run it again (dvc repro)"


@pytest.mark.parametrize(
    ("name", "change", "said"),
    [
        ("metrics/data.json", ("classes", "train", "delivery", -1), "classes.train.delivery is -1"),
        ("metrics/data.json", ("classes", "test", "returns", None), "classes.test.returns is None"),
        ("metrics/data.json", ("classes", "test", None, "NaN"), "classes.test is str"),
        ("metrics/data.json", ("dropped", "empty_text", None, []), "dropped.empty_text is []"),
        ("metrics/data.json", ("text_chars", "max", None, ""), "text_chars.max is ''"),
    ],
)
def test_a_wrong_value_in_data_json_is_named_with_its_key(
    pr_repo, no_aws, capsys, name, change, said
) -> None:
    payload = json.loads(json.dumps(MAIN_DATA))
    section, key, inner, value = change
    if inner is None:
        payload[section][key] = value
    else:
        payload[section][key][inner] = value
    pr_repo.write(name, json.dumps(payload))

    assert cli.main(["report", "--champion", "main"]) == 2

    err = capsys.readouterr().err
    assert f"{name}: " in err and f": {said}; {AGAIN}" in err, err


@pytest.mark.parametrize("name", ["metrics/data.json", "metrics/train.json", "metrics/reference.json"])
@pytest.mark.parametrize(("text", "kind"), [("[]", "list"), ("null", "null"), ("1", "int")])
def test_a_file_that_is_no_object_says_what_it_is_and_what_to_do(pr_repo, no_aws, capsys, name, text, kind):
    pr_repo.write(name, text)

    assert cli.main(["report", "--champion", "main"]) == 2

    assert f"{name}: expected a JSON object, not {kind}; {AGAIN}" in capsys.readouterr().err
