"""sagemaker.poll_seconds and batch.poll_seconds are bounded per element (issue 27 round 7, H-a):
[1e-300, 1e-300] loaded and made 200,000 DescribeTransformJob calls in 18 s; [1e300, 1e300] loaded
and time.sleep raised OverflowError after the job had started."""

from __future__ import annotations

import pytest

from textclf.config import ParamsError, parse_params


@pytest.mark.parametrize("section", ["sagemaker", "batch"])
@pytest.mark.parametrize(
    ("poll", "index", "words"),
    [
        ([1e-300, 1e-300], 0, "greater than or equal to 0.1"),
        ([0, 60], 0, "greater than or equal to 0.1"),
        ([5, 1e300], 1, "less than or equal to 3600"),
        ([1e300, 1e300], 0, "less than or equal to 3600"),
        ([-1, 5], 0, "greater than or equal to 0.1"),
    ],
)
def test_poll_seconds_out_of_bounds_are_refused(
    section: str, poll: list[float], index: int, words: str
) -> None:
    with pytest.raises(ParamsError) as error:
        parse_params({section: {"poll_seconds": poll}})
    assert f"params.yaml: {section}.poll_seconds.{index}: Input should be {words}" in str(error.value)


@pytest.mark.parametrize("section", ["sagemaker", "batch"])
def test_first_longer_than_longest_is_refused(section: str) -> None:
    with pytest.raises(ParamsError) as error:
        parse_params({section: {"poll_seconds": [60, 5]}})
    assert f"params.yaml: {section}: poll_seconds must be [first, longest] with first <= longest" in str(
        error.value
    )


@pytest.mark.parametrize("section", ["sagemaker", "batch"])
@pytest.mark.parametrize("poll", [[0.1, 0.1], [5, 60], [3600, 3600], [0.2, 1.0]])
def test_poll_seconds_within_bounds_load(section: str, poll: list[float]) -> None:
    assert list(getattr(parse_params({section: {"poll_seconds": poll}}), section).poll_seconds) == poll
