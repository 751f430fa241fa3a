"""`make clean` and params.yaml keep the user's raw data and a local base model when they reach a
folder make clean removes through a symbolic link or another letter case (issue 27 round 8, D-c):
with data/raw a link to the folder mydata in work, params.yaml loaded and `make clean` removed
work/ with the data."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.workflows.test_make_clean import make_clean
from textclf.config import ParamsError, folders_to_keep, parse_params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The Makefile, a venv whose python is this one (no packages of its own), data/raw -> work/."""
    root = tmp_path / "repo"
    (root / ".venv/bin").mkdir(parents=True)
    shutil.copy(REPO / "Makefile", root)
    shutil.copytree(REPO / "mk", root / "mk")
    python = root / ".venv/bin/python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    (root / "work/mydata").mkdir(parents=True)
    (root / "work/mydata/messages.csv").write_text("text,label\nhi,a\n")
    (root / "data").mkdir()
    (root / "data/raw").symlink_to(Path("..", "work", "mydata"))
    (root / "models/model").mkdir(parents=True)
    return root


def test_clean_refuses_a_folder_holding_raw_data_through_a_link(root: Path) -> None:
    result = make_clean(root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "work holds data.raw_dir (data/raw)" in result.stderr, result.stderr
    assert (root / "work/mydata/messages.csv").exists(), "make clean removed the raw data"
    assert (root / "models/model").exists(), "make clean removed files before refusing"


def test_clean_refuses_a_folder_holding_a_local_model(root: Path) -> None:
    (root / "data/raw").unlink()
    (root / "data/raw").mkdir()
    (root / "work/base").mkdir()
    (root / "params.yaml").write_text("model:\n  name: work/base\n")
    result = make_clean(root)
    assert result.returncode == 2, result.stderr
    assert "work holds model.name (work/base)" in result.stderr, result.stderr
    assert (root / "work/base").exists()


def test_clean_refuses_when_params_cannot_be_read(root: Path) -> None:
    (root / "params.yaml").write_text("data:\n  raw_dir: [x\n")
    result = make_clean(root)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and "nothing was removed" in result.stderr, result.stderr
    assert (root / "models/model").exists()


def test_clean_without_the_venv_still_keeps_data_raw(root: Path) -> None:
    shutil.rmtree(root / ".venv")
    result = make_clean(root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "only data/raw is kept safe" in result.stderr, result.stderr
    assert (root / "work/mydata/messages.csv").exists()


def test_clean_still_removes_work_when_the_data_is_elsewhere(root: Path) -> None:
    (root / "data/raw").unlink()
    shutil.move(root / "work/mydata", root / "data/raw")
    result = make_clean(root)
    assert result.returncode == 0, result.stderr
    assert not (root / "work").exists() and not (root / "models/model").exists()
    assert (root / "data/raw/messages.csv").exists()


def test_params_refuse_raw_dir_reaching_work_through_a_link(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)
    with pytest.raises(ParamsError) as error:
        parse_params({"data": {"raw_dir": "data/raw"}})
    message = str(error.value)
    assert message.startswith(
        "params.yaml: data.raw_dir: 'data/raw' (a symbolic link leads it to work/mydata)"
    )
    assert "a stage writes or `make clean` removes" in message, message


def test_params_refuse_a_local_model_reaching_work_through_a_link(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)
    (root / "models/base").symlink_to(Path("..", "work", "mydata"))
    with pytest.raises(
        ParamsError, match=r"model.name: 'models/base' \(a symbolic link leads it to work/mydata\)"
    ):
        parse_params({"model": {"name": "models/base"}})


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("data", "raw_dir", "Work/raw"), ("data", "raw_dir", "REPORTS"), ("model", "name", "Models/Model/x")],
)
def test_params_compare_folders_without_regard_to_case(section: str, key: str, value: str) -> None:
    # macOS's and Windows' default file systems: Work/raw is work/raw, which make clean removes.
    with pytest.raises(ParamsError, match="a stage writes or `make clean` removes"):
        parse_params({section: {key: value}})


def test_folders_to_keep_reads_an_invalid_params_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # params refuse raw_dir work/raw; make clean must keep it all the more.
    monkeypatch.chdir(root)
    (root / "work/raw").mkdir()
    (root / "params.yaml").write_text("data:\n  raw_dir: work/raw\nmodel:\n  name: org/hub-id\n")
    assert folders_to_keep() == [("data.raw_dir (work/raw)", os.path.realpath("work/raw"))]
    (root / "params.yaml").unlink()
    assert folders_to_keep() == [("data.raw_dir (data/raw)", os.path.realpath("work/mydata"))]
