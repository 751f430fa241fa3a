"""Two programs started the wrong way say what to do instead of a traceback or pydantic's words:
the training image's `train-job` outside a training job, and the server given a file for a folder."""

from __future__ import annotations

import json

import pytest

from textclf.pipeline.train import _job_hyperparameters
from textclf.serving.inference import ModelDirError, check_model_dir


def test_train_job_outside_a_training_job_says_where_it_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("SM_HPS", raising=False)
    with pytest.raises(
        FileNotFoundError, match=r"hyperparameters.json not found and SM_HPS not set: .*make repro"
    ):
        _job_hyperparameters(tmp_path)


def test_train_job_hyperparameters_name_each_missing_key_and_their_source(tmp_path, monkeypatch):
    monkeypatch.setenv("SM_HPS", json.dumps({"epochs": "2"}))
    with pytest.raises(ValueError) as raised:
        _job_hyperparameters(tmp_path)
    message = str(raised.value)
    assert message.startswith(
        "SM_HPS: the job's hyperparameters are not what textclf.training.sagemaker sends"
    )
    assert "missing " in message and "max_length" in message and "Field required" not in message

    monkeypatch.delenv("SM_HPS")
    (tmp_path / "hyperparameters.json").write_text(json.dumps({"epochs": "two"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"hyperparameters.json: the job's hyperparameters .*epochs: "):
        _job_hyperparameters(tmp_path)


def test_a_file_given_as_the_model_folder_is_named_as_a_file(tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    with pytest.raises(ModelDirError, match=r"model.tar.gz is a file, not a model folder: .*tar -xzf"):
        check_model_dir(archive)
