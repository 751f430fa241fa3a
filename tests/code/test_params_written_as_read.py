"""Every setting of params.yaml is read where it is written: a YAML merge or alias is refused
anywhere in the file, not only for the gate's keys (issue 27, round 10, F-m: `bake_seconds: *one`
made the bake watch production's alarms for 1 s; `network_isolation: *no` turned off the training
job's isolation; `<<: {latency_p95_ms: 60000}` widened staging's latency bound)."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.config import ParamsError, load_params, read_params_bytes

TEMPLATE = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sagemaker:\n  instance_count: &one 1\ndeploy:\n  staging:\n    bake_seconds: *one\n", "line 2"),
        ("sagemaker:\n  spot: &no false\n  network_isolation: *no\n", "line 2"),
        ("data:\n  split: {validation: &v 0.15}\ndeploy:\n  serve:\n    capture_fraction: *v\n", "line 2"),
        ("b: &b {latency_p95_ms: 60000}\ndeploy:\n  staging: *b\n", "line 1"),
        ("monitor: &m {psi_prediction_mix: 10}\nx: [*m]\n", "line 1"),
    ],
)
def test_an_alias_anywhere_is_refused_naming_the_key_and_the_anchor_line(text: str, where: str) -> None:
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    message = str(error.value)
    assert (
        message.startswith("params.yaml: ") and "comes through a YAML alias (*name) from " + where in message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "deploy:\n  staging:\n    <<: {latency_p95_ms: 60000}\n",
            "deploy.staging takes keys through a YAML merge",
        ),
        ("monitor:\n  <<: {psi_prediction_mix: 10}\n", "monitor takes keys through a YAML merge"),
        ("<<: {monitor: {min_predictions: 1}}\n", "the top level takes keys through a YAML merge"),
    ],
)
def test_a_merge_anywhere_is_refused_naming_the_section(text: str, named: str) -> None:
    with pytest.raises(ParamsError, match=named):
        read_params_bytes(text.encode(), "params.yaml")


def test_the_template_loads_and_repeated_plain_values_are_no_aliases(tmp_path: Path) -> None:
    assert load_params(TEMPLATE).data.labels
    # The same scalar written twice is two values, not an alias.
    assert read_params_bytes(b"a: {x: 1}\nb: {x: 1}\n", "p") == {"a": {"x": 1}, "b": {"x": 1}}


@pytest.mark.parametrize(
    "text",
    [
        "evaluate:\n  thresholds:\n    accuracy: !!binary MC4w\n",  # base64 of "0.0" (round 10, F-t)
        "evaluate:\n  champion_tolerance: !!binary MC45\n",
        "data:\n  task: !!binary c3BhbS1maWx0ZXI=\n",
        "data:\n  labels: [!!binary YWNjb3VudA==, b]\n",
        "deploy:\n  staging:\n    bake_seconds: !local 5\n",
        "train:\n  seed: !!timestamp 2026-12-07\n",
    ],
)
def test_a_tag_that_changes_what_the_value_means_is_refused(text: str) -> None:
    with pytest.raises(
        ParamsError, match=r"a YAML tag \(.*\) changes what the value means without showing it"
    ):
        read_params_bytes(text.encode(), "params.yaml")
