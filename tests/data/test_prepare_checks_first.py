"""prepare checks what it can before it touches its earlier outputs (issue 27, round 7, U-10 and
U-8): a base model whose tokenizer cannot load, a pipe or a folder named like a data file in
data.raw_dir are refused by name, and data/prepared and metrics/data.json stay as they were."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from textclf.config import ModelParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

from .test_prepare_hostile import GOOD_CSV, OUTPUTS, data, snapshot


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A repository root with raw data and prepare's earlier outputs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/a.csv").write_text(GOOD_CSV, encoding="utf-8")
    return tmp_path


def _earlier_outputs(root) -> dict[str, str]:
    prepare.run(data())
    return snapshot(root, skip=())


def test_a_base_model_without_a_tokenizer_leaves_the_earlier_outputs(project):
    _earlier_outputs(project)
    (project / "my-base").mkdir()
    (project / "my-base/config.json").write_text("{}\n", encoding="utf-8")
    before = snapshot(project, skip=())

    with pytest.raises(DataError, match=r"model.name's tokenizer, which cannot be loaded"):
        prepare.run(data(), model=ModelParams(name="my-base"))

    assert snapshot(project, skip=()) == before  # data/prepared and metrics/data.json kept
    assert all((project / output).exists() for output in OUTPUTS)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_named_like_a_data_file_is_refused_by_name(project):
    before = _earlier_outputs(project)
    os.mkfifo(project / "data/raw/x.csv")

    with pytest.raises(DataError, match=r"data/raw/x.csv: not a regular file \(a pipe"):
        prepare.run(data())

    assert snapshot(project, skip=()) == before


def test_a_folder_named_like_a_data_file_is_refused_by_name(project):
    before = _earlier_outputs(project)
    (project / "data/raw/x.csv").mkdir()

    with pytest.raises(DataError, match=r"data/raw/x.csv: a folder named like a data file"):
        prepare.run(data())

    assert snapshot(project, skip=()) == before


def test_a_folder_dvcignore_hides_is_not_refused(project):
    (project / "data/raw/x.csv").mkdir()
    (project / "data/raw/x.csv/rows.csv").write_text("text,label\n", encoding="utf-8")
    (project / ".dvcignore").write_text("x.csv/\n", encoding="utf-8")

    assert prepare.data_files(Path("data/raw")) == [Path("data/raw/a.csv")]
