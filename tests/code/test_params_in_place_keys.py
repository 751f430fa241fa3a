"""What the gate judges by besides its thresholds (champion_tolerance, main_metric, data.task, the
int8 rule, the data rules) is written in its own section, not brought by a YAML merge or alias from
another place (issue 27, round 9, F-i: `<<: {task: other}` skipped the champion comparison,
`<<: {champion_tolerance: 0.9}` let a worse model pass, while the section showed neither)."""

from __future__ import annotations

import pytest

from textclf.config import IN_PLACE_KEYS, ParamsError, read_params_bytes


def nested(dotted: str, value: str) -> str:
    """`a.b.c: v` as YAML flow mappings, the last key given through a merge: {a: {b: {<<: {c: v}}}}."""
    *parents, last = dotted.split(".")
    text = f"{{<<: {{{last}: {value}}}}}"
    for part in reversed(parents):
        text = f"{{{part}: {text}}}"
    return text


@pytest.mark.parametrize("dotted", [key for key in IN_PLACE_KEYS if key.count(".") >= 1])
def test_each_key_through_a_merge_is_refused(dotted: str) -> None:
    value = (
        "[a]"
        if dotted == "data.labels"
        else "x"
        if dotted.endswith(("task", "metric", "quantize"))
        else "0.5"
    )
    text = nested(dotted, value)[1:-1] + "\n"  # the top level as a block
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    assert str(error.value).startswith(f"params.yaml: {dotted} comes through a YAML merge (<<)"), error.value


@pytest.mark.parametrize(
    "text",
    [
        "t: &t other\ndata:\n  task: *t\n",
        "x: &x 0.9\nevaluate:\n  champion_tolerance: *x\n",
        "r: &r {max_leaked_test_rows: 100}\nreview:\n  data_gate: *r\n",
    ],
)
def test_an_alias_is_refused_too(text: str) -> None:
    with pytest.raises(ParamsError, match="comes through a YAML alias"):
        read_params_bytes(text.encode(), "params.yaml")


def test_the_keys_written_in_place_load() -> None:
    text = "data:\n  task: mine\nevaluate:\n  champion_tolerance: 0.02\n  main_metric: accuracy\n"
    assert read_params_bytes(text.encode(), "p")["evaluate"]["champion_tolerance"] == 0.02
