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


def _bake(tmp_path, monkeypatch, *args: str) -> int:
    from pathlib import Path

    (tmp_path / "params.yaml").write_bytes((Path(__file__).parents[2] / "params.yaml").read_bytes())
    monkeypatch.chdir(tmp_path)
    # Nothing answers: the alarms cannot be read, as without credentials or with the wrong region.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return cli.main(["bake", "--seconds", "1", *args])


def test_bake_refuses_a_previous_commit_that_is_not_a_commit_before_watching(tmp_path, monkeypatch, capsys):
    """It was checked only once an alarm had fired, when the rollback then could not happen."""
    assert _bake(tmp_path, monkeypatch, "--alarms", "a", "--previous", "x y") == 2
    err = capsys.readouterr().err
    assert "commit 'x y' is not a full git commit sha" in err and "baking" not in err


def test_bake_that_cannot_read_the_alarms_fails_with_one_message(tmp_path, monkeypatch, capsys):
    """A botocore error (no credentials, an endpoint that does not answer) was a traceback."""
    assert _bake(tmp_path, monkeypatch, "--alarms", "a") == 2
    err = capsys.readouterr().err
    assert "error: cannot read the alarms ['a']" in err and "the bake cannot tell" in err
