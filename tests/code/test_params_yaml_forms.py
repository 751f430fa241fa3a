"""params.yaml forms YAML 1.1 reads otherwise than they look, and tags SageMaker refuses (issue 27
round 8, U-p1, U-p2, U-p3): a `!!set` of labels loaded in another order in every process, `1:30`
loaded as 90 and `010` as 8, and sagemaker.tags took 60 tags and characters SageMaker refuses."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from textclf.config import MAX_USER_TAGS, ParamsError, parse_params, read_params_bytes


def load(text: str):
    return parse_params(read_params_bytes(text.encode(), "params.yaml"))


@pytest.mark.parametrize("labels", ["{a: 1, b: 2}", "\n    ? a\n    ? b"])
def test_labels_must_be_a_sequence(labels: str) -> None:
    with pytest.raises(ParamsError, match=r"^params.yaml: data.labels: must be a YAML list in the order"):
        load(f"data:\n  labels: {labels}\n")


@pytest.mark.parametrize("labels", ["!!set {a, b, c}", "!!set\n    a:\n    b:"])
def test_a_set_of_labels_is_refused_for_its_tag(labels: str) -> None:
    # params.yaml takes no YAML tags (round 11, F-u); a set given to parse_params is still named.
    with pytest.raises(ParamsError, match=r"^params.yaml: line 2: data.labels: a YAML tag \(!!set\)"):
        load(f"data:\n  labels: {labels}\n")
    with pytest.raises(ParamsError, match=r"^p: data.labels: .*not a set, whose order changes"):
        parse_params({"data": {"labels": {"a", "b"}}}, "p")


def test_a_set_of_labels_is_refused_in_every_process() -> None:
    # Before: each process printed the set in its own hash order.
    code = (
        "from textclf.config import ParamsError, parse_params, read_params_bytes\n"
        "try: parse_params(read_params_bytes(b'data: {labels: !!set {a, b, c, d, e}}', 'p'))\n"
        "except ParamsError as e: print('refused', 'a YAML tag (!!set)' in str(e))\n"
    )
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout for _ in "12"}
    assert runs == {"refused True\n"}


def test_labels_as_a_list_keep_their_order() -> None:
    assert load("data:\n  labels:\n    - c\n    - a\n    - b\n").data.labels == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("value", "read"),
    [("1:30", "base 60"), ("-1:30", "base 60"), ("12:30:00", "base 60"), ("1:30.5", "base 60"),
     ("010", "octal"), ("+07", "octal")],
)  # fmt: skip
def test_base_60_and_octal_numbers_are_refused(value: str, read: str) -> None:
    with pytest.raises(ParamsError) as error:
        load(f"train:\n  epochs: {value}\n")
    message = str(error.value)
    assert message.startswith("params.yaml: line 2: "), message
    assert f"is read by YAML as a number in {read}" in message and "plain digits" in message, message


@pytest.mark.parametrize(
    ("value", "number"), [("0", 0), ("10", 10), ("1_000", 1000), ("0.5", 0.5), ("10.0", 10.0)]
)
def test_plain_numbers_still_load(value: str, number: float) -> None:
    assert read_params_bytes(f"x: {value}\n".encode(), "params.yaml") == {"x": number}


def test_a_quoted_zero_padded_text_still_loads() -> None:
    assert read_params_bytes(b"x: '010'\n", "params.yaml") == {"x": "010"}


def test_more_tags_than_sagemaker_takes_are_refused() -> None:
    # botocore's sagemaker model: TagList max 50, of which the project sets 4 on every job.
    assert MAX_USER_TAGS == 46
    parse_params({"sagemaker": {"tags": {f"k{i}": "v" for i in range(46)}}})
    with pytest.raises(ParamsError, match=r"47 tags: a SageMaker job takes at most 50.*give at most 46"):
        parse_params({"sagemaker": {"tags": {f"k{i}": "v" for i in range(47)}}})


@pytest.mark.parametrize(
    ("tags", "what"),
    [({"a;b": "x"}, "key holds U+003B"), ({"k": "x*y"}, "value holds U+002A"),
     ({"k": "a#b"}, "value holds U+0023"), ({"k\u200b": "v"}, "key holds U+200B")],
)  # fmt: skip
def test_tag_characters_sagemaker_refuses(tags: dict[str, str], what: str) -> None:
    with pytest.raises(ParamsError, match=f"sagemaker.tags: tag .*: the {re.escape(what)}"):
        parse_params({"sagemaker": {"tags": tags}})


def test_the_projects_own_tags_are_refused() -> None:
    with pytest.raises(ParamsError, match="tag 'git-commit' is set by the project itself"):
        parse_params({"sagemaker": {"tags": {"git-commit": "x"}}})


def test_tags_sagemaker_takes_still_load() -> None:
    tags = {"Team": "ml ops", "cost-centre": "a_b.c:d/e=f+g-h@i", "café": "ünï 42"}
    assert parse_params({"sagemaker": {"tags": tags}}).sagemaker.tags == tags
