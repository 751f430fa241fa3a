"""make repro's summary says a reports/train_job.json holding `{}` holds no job facts, as the report
does, not that the model was not trained in this workspace (round 8, U-j1, the summary's half)."""

from __future__ import annotations

from textclf.review import summary


def test_an_empty_job_file_is_not_a_missing_one():
    assert summary.training_line({}) == (
        "Training: reports/train_job.json holds no job facts; train again (dvc repro --force train)"
    )
    assert "not trained in this workspace" in summary.training_line(None)
