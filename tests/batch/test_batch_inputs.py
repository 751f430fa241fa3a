"""batch-predict and batch-stop without credentials, with an empty or foreign job file, and a
payload setting the serving image would refuse: one message each, nothing started or stopped."""

from __future__ import annotations

import pytest
from batch_world import INPUT, OUTPUT

from textclf import cli
from textclf.batch import job
from textclf.config import AwsParams, BatchParams, ParamsError, ServeParams, parse_params


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)


def test_batch_predict_without_credentials_says_what_to_configure(no_credentials):
    with pytest.raises(
        job.BatchError,
        match=r"reading the model endpoint prod serves: Unable to locate credentials.*configure AWS",
    ):
        job.run(BatchParams(), ServeParams(), AwsParams(), INPUT, OUTPUT, "prod", print)


def test_batch_stop_without_credentials_says_what_to_configure(no_credentials, tmp_path):
    (tmp_path / "job").write_text("textclf-batch-20261206-120000\n", encoding="utf-8")
    with pytest.raises(job.BatchError, match="stopping transform job textclf-batch-20261206-120000: Unable"):
        job.stop_recorded(tmp_path / "job", AwsParams(), print)


@pytest.mark.parametrize("text", ["", "\n", "not a job name!", "x" * 70, "a\nb"])
def test_batch_stop_with_a_job_file_that_names_no_job_stops_nothing(no_credentials, tmp_path, text):
    (tmp_path / "job").write_text(text, encoding="utf-8")
    with pytest.raises(job.BatchError, match="does not hold a transform job name"):
        job.stop_recorded(tmp_path / "job", AwsParams(), print)


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.symlink_to(p.parent / "gone")])
def test_batch_stop_on_a_path_that_is_not_a_file_is_an_error_not_nothing_started(
    no_credentials, tmp_path, make
):
    """A folder was reported as "no transform job was started" (exit 0): the job kept running."""
    make(tmp_path / "job")
    with pytest.raises(job.BatchError, match="job: not a file; pass the file batch-predict --job-file wrote"):
        job.stop_recorded(tmp_path / "job", AwsParams(), print)


def test_batch_stop_on_a_file_of_other_bytes_is_one_message(tmp_path, capsys, repo_root, monkeypatch):
    (tmp_path / "job").write_bytes(b"\xff\xfe")
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["batch-stop", "--job-file", "job"]) == 2
    assert "job: cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize(("megabytes", "ok"), [(6, True), (7, False), (100, False)])
def test_max_payload_is_capped_at_what_the_server_accepts(megabytes, ok):
    raw = {"batch": {"max_payload_mb": megabytes}}
    if ok:
        assert parse_params(raw).batch.max_payload_mb == megabytes
    else:
        with pytest.raises(
            ParamsError, match=r"batch\.max_payload_mb: Input should be less than or equal to 6"
        ):
            parse_params(raw)
