"""batch-predict's record check refuses what JSON is not (NaN, Infinity) and names the digit limit
plainly (U-b1); --endpoint is checked with the staging check's endpoint-name rule before any AWS call
(U-b2); batch-stop on a path that holds no job file says so and exits 2, nothing stopped (U-d3: it
said "no transform job was started", exit 0, and a mistyped path left a job running unseen).
Issue 27 round 8."""

from __future__ import annotations

import pytest
from batch_world import INPUT, OUTPUT

from textclf import cli
from textclf.batch import job
from textclf.config import AwsParams, ServeParams

MB = 1024 * 1024


@pytest.mark.parametrize(
    "line",
    [
        '{"inputs": "hello", "id": NaN}',
        '{"inputs": "hello", "id": Infinity}',
        '{"inputs": "hello", "meta": {"score": [1, -Infinity]}}',
    ],
)
def test_nan_and_infinity_are_not_json(line):
    with pytest.raises(
        job.BatchError, match=r"^s3://b/in\.jsonl line 3: -?(NaN|Infinity) is not a JSON number"
    ):
        job.check_record(line, "s3://b/in.jsonl line 3", ServeParams(), 6 * MB)


def test_a_number_too_long_to_read_is_named_plainly():
    line = '{"inputs": "hello", "id": ' + "9" * 5000 + "}"

    with pytest.raises(job.BatchError) as raised:
        job.check_record(line, "s3://b/in.jsonl line 1", ServeParams(), 6 * MB)

    message = str(raised.value)
    assert "a number of 5,000 digits, longer than can be read" in message, message
    assert "write a long id as a JSON string" in message
    assert "set_int_max_str_digits" not in message


def test_ordinary_numbers_still_pass():
    assert job.check_record('{"inputs": "hello", "id": -12, "w": 1.5e3}', "x", ServeParams(), 6 * MB) > 0


@pytest.fixture
def workdir(tmp_path, repo_root, monkeypatch):
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may be called
    return tmp_path


@pytest.mark.parametrize("endpoint", ["-x", "a b", "e" * 80, "a\nb", "", "x-"])
def test_batch_predict_refuses_an_endpoint_name_before_any_aws_call(workdir, capsys, endpoint):
    argv = ["batch-predict", "--input", INPUT, "--output", OUTPUT, f"--endpoint={endpoint}"]

    assert cli.main(argv) == 2

    err = capsys.readouterr().err
    assert "is not a SageMaker endpoint name (1 to 63 letters, digits and hyphens" in err, err
    assert "--endpoint (or TEXTCLF_ENDPOINT_NAME)" in err and "Could not connect" not in err


def test_batch_stop_without_a_job_file_stops_nothing_and_says_so(workdir, capsys):
    assert cli.main(["batch-stop", "--job-file", "build/batch/jbo"]) == 2

    err = capsys.readouterr().err
    assert "no job file at build/batch/jbo" in err and "nothing was stopped" in err, err
    assert "no transform job was started" not in err


def test_stop_recorded_without_a_job_file_is_an_error(tmp_path):
    with pytest.raises(job.BatchError, match=r"^no job file at .*missing.*: nothing was stopped"):
        job.stop_recorded(tmp_path / "missing", AwsParams(), print)


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_a_float_python_reads_as_infinite_is_refused(number):
    """Round 9 (F-e's note): 1e999 still passed, read by Python as inf."""
    with pytest.raises(job.BatchError, match="is a number too large to read; write it as a JSON string"):
        job.check_record(f'{{"inputs": "hello", "score": {number}}}', "x line 1", ServeParams(), 6 * MB)
