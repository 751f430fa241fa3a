"""`textclf bake --seconds`: a finite, positive number of seconds, or one argparse error (exit 2)."""

from __future__ import annotations

import pytest

from textclf import cli


@pytest.mark.parametrize("seconds", ["nan", "NaN", "inf", "-inf", "-100", "0", "1e9", "ten", ""])
def test_bake_refuses_seconds_that_are_not_a_finite_positive_number(seconds, capsys):
    """`nan` once looped on DescribeAlarms without sleeping; `-100` passed after one look."""
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["bake", "--seconds", seconds, "--alarms", "a"])
    assert exit_.value.code == 2
    assert "argument --seconds:" in capsys.readouterr().err


@pytest.mark.parametrize(("seconds", "value"), [("600", 600.0), ("0.5", 0.5), ("86400", 86400.0)])
def test_bake_takes_a_plain_number_of_seconds(seconds, value):
    assert cli.build_parser().parse_args(["bake", "--seconds", seconds]).seconds == value


@pytest.mark.parametrize("seconds", [0, -100])
def test_params_bake_seconds_must_be_positive_too(seconds):
    from textclf.config import ParamsError, parse_params

    with pytest.raises(ParamsError, match=r"deploy\.staging\.bake_seconds: Input should be greater than 0"):
        parse_params({"deploy": {"staging": {"bake_seconds": seconds}}})
