"""params.yaml keeps the user's raw data and a local base model out of the folders a stage or
`make clean` writes or removes (issue 27 round 7, D-a): with `data.raw_dir: work/raw` or
`model.name: work/base-model`, params.yaml loaded and `make clean` removed them with work/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from textclf.config import CLEANED_DIRS, OTHER_OUTPUTS, ParamsError, parse_params

REPO = Path(__file__).resolve().parents[2]


RAW_DIRS = ("work/raw", "work", "reports", "build/x", "dvc_plots", "models/model", "./models//model/")
MODEL_NAMES = (
    "work/base-model",
    "work/base",
    "models/model",
    "./models/model",
    "models//model/",
    "data/prepared",
)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        *(("data", "raw_dir", raw_dir) for raw_dir in (*RAW_DIRS, "data/prepared/raw", "metrics", "data")),
        *(("model", "name", name) for name in (*MODEL_NAMES, "reports", "build/m", "dvc_plots/x", "./work")),
    ],
)
def test_a_folder_a_stage_writes_or_make_clean_removes_is_refused(section: str, key: str, value: str) -> None:
    with pytest.raises(ParamsError) as error:
        parse_params({section: {key: value}})
    message = str(error.value)
    assert message.startswith(f"params.yaml: {section}.{key}: "), message
    assert "a stage writes or `make clean` removes" in message, message
    assert "e.g. data/raw" in message or "e.g. models/my-base" in message, message


@pytest.mark.parametrize(
    "name",
    [
        "sentence-transformers/all-MiniLM-L6-v2",
        "bert-base-uncased",
        "models/my-base",
        "./models/my-base",
        "prajjwal1/bert-tiny",
    ],
)
def test_hub_ids_and_own_folders_still_load(name: str) -> None:
    assert parse_params({"model": {"name": name}}).model.name == name


def test_raw_dir_elsewhere_still_loads() -> None:
    assert parse_params({"data": {"raw_dir": "mydata/raw"}}).data.raw_dir == "mydata/raw"


def test_cleaned_dirs_are_the_folders_make_clean_removes() -> None:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^clean:.*\n((?:\t.*\n)+)", text, re.MULTILINE).group(1)
    listed = {
        name: set(re.search(rf"{name}=\(([^)]*)\)", recipe).group(1).replace("\\", " ").split())
        for name in ("outs", "made")
    }
    folders = {path for path in listed["outs"] if not path.startswith(tuple(f"{o}/" for o in OTHER_OUTPUTS))}
    assert folders | listed["made"] == set(CLEANED_DIRS)
