"""A train stage that cannot start its SageMaker job (a setting unset, an AWS setting boto3 cannot
use) stops before it removes the previous run's outputs: before, `textclf train` deleted the
git-tracked metrics/train.json and plots, then failed, leaving the old model without its metrics
(issue 27, round 8, U-10b)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from textclf.config import load_params
from textclf.training import backends
from textclf.training.sagemaker import SageMakerError

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ("metrics/train.json", "plots/train_loss.csv", "plots/validation.csv")


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "training_image"),
        (
            {
                "TEXTCLF_TRAINING_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:abc",
                "TEXTCLF_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
                "AWS_PROFILE": "nosuch",
            },
            "AWS_PROFILE",
        ),
    ],
)
def test_a_sagemaker_run_that_cannot_start_keeps_the_tracked_outputs(
    tmp_path, monkeypatch, environment, named
):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    for name in OUTPUTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("kept\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for key in ("TEXTCLF_TRAINING_IMAGE_URI", "TEXTCLF_SAGEMAKER_ROLE_ARN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TEXTCLF_TRAIN_BACKEND", "sagemaker")
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SageMakerError, match=named):
        backends.run_train_stage(load_params())
    assert all((tmp_path / name).read_text(encoding="utf-8") == "kept\n" for name in OUTPUTS)
