"""params.yaml reads alike to the project and to DVC (R13A-3): YAML 1.2 (ruamel.yaml, which DVC reads
params.yaml and .dvc files with) reads `1e3`, `1.0e3`, `+.5` and `0o17` as numbers, YAML 1.1 (PyYAML)
as text. use-data wrote a label `1e3` unquoted, the project read the class '1e3' and dvc.lock and the
report's params diff the number 1000.0; by hand, `task: 1e3` was the task '1e3' here only. Now use-data
quotes such texts, and the loader reads them as DVC does: a number where a setting takes text is
refused (quote it), a number where it takes one is that number."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from textclf.config import ParamsError, parse_params, read_params_bytes
from textclf.pipeline.own_data import META_KEY, set_data_keys, with_record

TEMPLATE = (Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8")
YAML_12_ONLY = ["1e3", "1E5", "+1e3", "1.0e3", "2.5E3", "+.5", "0o17"]


def dvc_reads(text: str):
    """What DVC reads (dvc/utils/serialize/_yaml.py: ruamel.yaml's safe loader, YAML 1.2)."""
    return YAML(typ="safe").load(io.StringIO(text))


def load(text: str):
    return parse_params(read_params_bytes(text.encode("utf-8"), "params.yaml"), "params.yaml")


def with_line(key: str, value: str) -> str:
    text, count = re.subn(rf"(?m)^(\s+{key}:) .*$", rf"\1 {value}", TEMPLATE, count=1)
    assert count == 1
    return text


def test_use_data_quotes_labels_yaml_12_reads_as_numbers() -> None:
    labels = ["billing", *YAML_12_ONLY]
    written = set_data_keys(TEMPLATE, {"labels": labels, "task": "1e3"})

    assert dvc_reads(written)["data"]["labels"] == labels
    assert dvc_reads(written)["data"]["task"] == "1e3"
    assert load(written).data.labels == labels and load(written).data.task == "1e3"


def test_data_dvc_names_files_as_text_for_dvc() -> None:
    written = with_record("outs:\n- path: data/raw\n", {"1e3": "a" * 32})
    assert dvc_reads(written)["meta"][META_KEY] == {"1e3": "a" * 32}


@given(st.text(alphabet="0123456789eE+-._oxb:", min_size=1, max_size=7))
def test_any_number_like_text_reads_back_as_that_text_in_both(text: str) -> None:
    from textclf.config import ParamsDumper

    dumped = yaml.dump([text], Dumper=ParamsDumper, default_flow_style=True)
    assert yaml.safe_load(dumped) == [text]
    assert dvc_reads(dumped) == [text]


@pytest.mark.parametrize("value", [v for v in YAML_12_ONLY if v != "0o17"])
def test_a_yaml_12_number_in_a_text_setting_is_refused(value: str) -> None:
    with pytest.raises(ParamsError, match=r"data\.task: Input should be a valid string \(quote it"):
        load(with_line("task", value))
    with pytest.raises(ParamsError, match=r"data\.labels\.1: Input should be a valid string"):
        load(with_line("labels", f"[billing, {value}]"))


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0o17", r"'0o17' is read by YAML as a number in octal \(0o17 is 15\)"),
        (
            "08",
            r"'08' is read by YAML as a number in decimal by YAML 1.2 \(DVC: 08 is 8\), as text by YAML 1.1",
        ),
        ("+_", r"'\+_' is read by YAML 1.2 \(DVC\) as a number without a digit: quote it"),
    ],
)
def test_a_form_the_two_yamls_read_apart_is_refused_naming_the_setting(value: str, says: str) -> None:
    with pytest.raises(ParamsError, match=rf"data\.task: {says}"):
        load(with_line("task", value))


@pytest.mark.parametrize(("value", "read"), [("5e-5", 5e-5), ("1e-4", 1e-4), ("2.0e-5", 2e-5)])
def test_a_yaml_12_number_in_a_number_setting_is_that_number(value: str, read: float) -> None:
    assert load(with_line("learning_rate", value)).train.learning_rate == read
    assert dvc_reads(with_line("learning_rate", value))["train"]["learning_rate"] == read
