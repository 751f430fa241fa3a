"""MONITOR_MIN_PREDICTIONS below 1 or fractional (issue 27's fresh round): before, `0.5` passed the
"greater than 0" check and truncated to 0, so a window without a single prediction was scored and
the check failed every run with "PSI needs at least one value on each side"."""

from __future__ import annotations

import pytest

from textclf.monitoring import drift


@pytest.mark.parametrize("value", ["0.5", "0.999", "1.5", "200.25"])
def test_a_minimum_that_is_not_a_whole_number_of_at_least_one_is_refused(monkeypatch, value):
    monkeypatch.setenv("ENDPOINT_NAME", "e")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "bucket-b")
    monkeypatch.setenv("MONITOR_MIN_PREDICTIONS", value)
    with pytest.raises(drift.DriftError, match=r"PREDICTIONS=.* a whole number from 1 to 10000000"):
        drift.settings_from_env()


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("200", 200), ("5e2", 500), (None, 200)])
def test_whole_numbers_pass(monkeypatch, value, expected):
    monkeypatch.setenv("ENDPOINT_NAME", "e")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "bucket-b")
    if value is not None:
        monkeypatch.setenv("MONITOR_MIN_PREDICTIONS", value)
    assert drift.settings_from_env()["min_predictions"] == expected
