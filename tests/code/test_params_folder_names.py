"""Folder names in params.yaml that only look like paths: a NUL or other control character (the
error named another setting, data.prepared_dir, when data.raw_dir held it), and `~` or `$VAR`, which
no shell expands here, so prepare made a folder literally called `~` or `$HOME` without a word."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from textclf.config import ParamsError, parse_params

TEMPLATE = Path(__file__).resolve().parents[2] / "params.yaml"


def with_value(section: str, key: str, value: str) -> dict:
    """The template params.yaml, loaded, with `section.key` set to `value`."""
    raw = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    raw[section][key] = value
    return raw


def with_data(key: str, value: str) -> dict:
    return with_value("data", key, value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("raw_dir", "data\x00raw", r"data\.raw_dir: .*control character U\+0000"),
        ("prepared_dir", "data/pre\x07pared", r"data\.prepared_dir: .*control character U\+0007"),
        ("raw_dir", "data/raw\nx", r"data\.raw_dir: .*control character U\+000A"),
        ("prepared_dir", "~", r"data\.prepared_dir: .*no shell expands"),
        ("prepared_dir", "~/prepared", r"data\.prepared_dir: .*no shell expands"),
        ("prepared_dir", "$HOME/x", r"data\.prepared_dir: .*no shell expands"),
        ("raw_dir", "${DATA}/raw", r"data\.raw_dir: .*no shell expands"),
    ],
)
def test_folder_names_a_shell_would_read_otherwise_are_refused(key, value, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(with_data(key, value))


@pytest.mark.parametrize("value", ["data/prepared~old", "data/cost$", "data/prépared"])
def test_those_characters_inside_a_name_are_fine(value):
    assert parse_params(with_data("prepared_dir", value)).data.prepared_dir == value
