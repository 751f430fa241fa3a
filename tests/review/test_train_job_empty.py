"""reports/train_job.json holding `{}` is said to hold no job facts, not to be missing (issue 27,
round 8, U-j1: the report said "No reports/train_job.json in this workspace" of a file that is there)."""

from __future__ import annotations

from tests.review.conftest import PR_EVAL
from tests.review.test_render import inputs
from textclf.config import TRAIN_JOB_FILE
from textclf.review.report import section_training


def test_an_empty_job_file_holds_no_facts() -> None:
    text = section_training(inputs(PR_EVAL, train_job={}))
    assert f"{TRAIN_JOB_FILE} holds no job facts (an empty object)" in text, text
    assert "dvc repro --force train" in text
    assert f"No {TRAIN_JOB_FILE}" not in text


def test_a_missing_job_file_is_still_missing() -> None:
    text = section_training(inputs(PR_EVAL, train_job=None))
    assert f"No {TRAIN_JOB_FILE} in this workspace" in text, text
