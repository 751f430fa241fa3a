"""Prepared files that are not regular files (issue 27, rounds 8 and 9: U-s3 and D-g one step to
the side): a FIFO as data/prepared/test.jsonl was reported as "test split not found" (it exists),
and as labels.json or a split as "lacks ..."; each is now named as what it is, before anything is
read (a FIFO blocks its reader) and with the previous outputs kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from textclf.config import load_params
from textclf.pipeline import evaluate, train


def fifo_in_place_of(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.parametrize("name", ["labels.json", "train.jsonl", "validation.jsonl"])
def test_a_prepared_file_that_is_a_fifo_is_named_before_training(tiny_project, monkeypatch, name):
    monkeypatch.chdir(tiny_project)
    fifo_in_place_of(tiny_project / "data/prepared" / name)

    with pytest.raises(train.PreparedDataError, match=rf"{name} is not a regular file \(a FIFO"):
        train.check_prepared(Path("data/prepared"))


def test_a_test_split_that_is_a_fifo_is_named_and_the_outputs_kept(tiny_project, monkeypatch):
    monkeypatch.chdir(tiny_project)
    (tiny_project / "metrics").mkdir(exist_ok=True)
    (tiny_project / "metrics/eval.json").write_text("{}")
    fifo_in_place_of(tiny_project / "data/prepared/test.jsonl")

    with pytest.raises(evaluate.EvaluateError, match=r"test\.jsonl: not a regular file \(a FIFO"):
        evaluate.run(load_params())

    assert (tiny_project / "metrics/eval.json").read_text() == "{}"
