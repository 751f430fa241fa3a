"""batch-predict and batch-stop make their AWS clients through the shared guard (textclf.awsclient):
an AWS setting of the environment boto3 cannot use is one line naming it, exit 2, not botocore's
ValueError traceback (issue 27, round 8, T-g)."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_world import INPUT, OUTPUT
from tests.release.test_aws_settings import BAD, keys  # noqa: F401 (the settings, and AWS keys without them)

from textclf import cli


def answers_in_one_line(argv: list[str], name: str, value: str, capsys) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{name}={value!r}" in err and "Traceback" not in err, err
    return err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("name", "value"), BAD)
def test_batch_predict_names_the_setting(monkeypatch, capsys, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    argv = ["batch-predict", "--input", INPUT, "--output", OUTPUT]
    err = answers_in_one_line([*argv, "--endpoint", "textclf-prod"], name, value, capsys)
    assert "cannot make an AWS sagemaker client" in err, err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("name", "value"), BAD)
def test_batch_stop_names_the_setting(monkeypatch, capsys, tmp_path: Path, name: str, value: str) -> None:
    job_file = tmp_path / "job"
    job_file.write_text("textclf-batch-20261207-061406\n", encoding="utf-8")
    monkeypatch.setenv(name, value)
    err = answers_in_one_line(["batch-stop", "--job-file", str(job_file)], name, value, capsys)
    assert "stopping transform job textclf-batch-20261207-061406" in err, err
