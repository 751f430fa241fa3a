"""The gate's thresholds and data.labels (config.GATE_KEYS) are written in their own section, not
brought there by a YAML merge or alias from another place (issue 27 round 8, F-d's params half):
`evaluate: {thresholds: {<<: *t}}` with `&t` on sagemaker.tags loaded thresholds of 0.01 that the
evaluate section did not show. Merges stay allowed elsewhere in params.yaml."""

from __future__ import annotations

import pytest

from textclf.config import ParamsError, read_params_bytes

TAGS = "sagemaker:\n  tags: &t {accuracy: '0.01', macro_f1: '0.01', min_class_recall: '0.0'}\n"


@pytest.mark.parametrize(
    ("text", "key", "how", "line"),
    [
        (TAGS + "evaluate:\n  thresholds: {<<: *t}\n", "evaluate.thresholds.accuracy", "merge", 2),
        (
            TAGS + "evaluate:\n  thresholds: {<<: [*t], accuracy: 0.9}\n",
            "evaluate.thresholds.macro_f1",
            "merge",
            2,
        ),
        ("x: &t {accuracy: 0.1}\nevaluate:\n  thresholds: *t\n", "evaluate.thresholds", "alias", 1),
        (
            "evaluate:\n  thresholds:\n    accuracy: &a 0.8\n    macro_f1: *a\n",
            "evaluate.thresholds.macro_f1",
            "alias",
            3,
        ),
        ("x: &l [a, b]\ndata:\n  labels: *l\n", "data.labels", "alias", 1),
        ("<<: {evaluate: {thresholds: {accuracy: 1}}}\n", "evaluate", "merge", 1),
    ],
)
def test_gate_keys_through_a_merge_or_alias_are_refused(text: str, key: str, how: str, line: int) -> None:
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    message = str(error.value)
    assert message.startswith(f"params.yaml: {key} comes through a YAML {how} "), message
    assert f"from line {line};" in message and "write the values there" in message, message


@pytest.mark.parametrize(
    "text",
    [
        "d: &d {epochs: 3}\ntrain:\n  <<: *d\n  seed: 1\nevaluate:\n  thresholds: {accuracy: 0.9}\n",
        "evaluate:\n  thresholds: &t {accuracy: 0.8}\nreview: {x: *t}\n",
    ],
)
def test_merges_and_aliases_elsewhere_are_refused_too(text: str) -> None:
    # Round 10's F-m: every setting is read where it is written (test_params_written_as_read.py).
    with pytest.raises(ParamsError, match=r"through a YAML (merge|alias)"):
        read_params_bytes(text.encode(), "params.yaml")


def test_an_anchor_no_alias_uses_still_loads() -> None:
    text = "d: &d {accuracy: 0.1}\nevaluate:\n  thresholds:\n    accuracy: 0.9\n"
    assert read_params_bytes(text.encode(), "params.yaml")["evaluate"]["thresholds"]["accuracy"] == 0.9
