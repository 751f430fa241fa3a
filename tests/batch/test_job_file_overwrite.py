"""batch-predict --job-file / --report over an existing file (issue 27 round 7, D-b): both were written
over whatever was there, README.md or params.yaml included. A file batch-predict did not write is
refused before any AWS call, naming the option, the make variable and the file; its own previous
files (recognised by their content) are replaced as before."""

from __future__ import annotations

import json

import pytest

from textclf.batch import job
from textclf.config import AwsParams, BatchParams, ServeParams

FLAGS = {"report": ("--report", "BATCH_REPORT"), "job_file": ("--job-file", "BATCH_JOB_FILE")}


class Sm:
    def create_transform_job(self, **request):
        return {}

    def describe_transform_job(self, TransformJobName: str):
        return {"TransformJobName": TransformJobName, "TransformJobStatus": "Failed", "FailureReason": "x"}

    def stop_transform_job(self, TransformJobName: str):
        pass


@pytest.fixture
def aws_calls(monkeypatch):
    calls: list[str] = []

    def client(service, region, **_):
        calls.append(service)
        return Sm()

    monkeypatch.setattr(job.awsclient, "aws_client", client)
    monkeypatch.setattr(job, "production_model", lambda sm, endpoint: "model")
    return calls


def run(**files):
    return job.run(BatchParams(), ServeParams(), AwsParams(),
                   "s3://textclf-data/batch/in/x/", "s3://textclf-data/batch/out/y/",
                   "prod", print, check=False, sleep=lambda s: None, **files)  # fmt: skip


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize(
    "content",
    ["# My project\n", "textclf-batch-20261207-061406 and notes\n", '{"job_name": "x"}\n', ""],
    ids=["readme", "name-plus-text", "other-json", "empty"],
)
def test_an_existing_file_batch_predict_did_not_write_is_kept(tmp_path, aws_calls, flag, content):
    mine = tmp_path / "README.md"
    mine.write_text(content)
    option, variable = FLAGS[flag]
    with pytest.raises(job.BatchError) as refused:
        run(**{flag: mine})
    message = str(refused.value)
    assert f"{option} {mine}: exists and is not a file batch-predict wrote" in message
    assert variable in message and "nothing was started" in message
    assert mine.read_text() == content and aws_calls == []


@pytest.mark.parametrize("flag", FLAGS)
def test_a_link_to_a_users_file_is_refused_and_the_file_kept(tmp_path, aws_calls, flag):
    (tmp_path / "params.yaml").write_text("data: {}\n")
    (tmp_path / "link").symlink_to(tmp_path / "params.yaml")
    with pytest.raises(job.BatchError, match="exists and is not a file batch-predict wrote"):
        run(**{flag: tmp_path / "link"})
    assert (tmp_path / "params.yaml").read_text() == "data: {}\n" and aws_calls == []


def test_a_fifo_in_place_of_the_job_file_is_refused_without_blocking(tmp_path, aws_calls):
    import os

    os.mkfifo(tmp_path / "job")
    with pytest.raises(job.BatchError, match=r"--job-file .*job: exists and is not a file batch-predict"):
        run(job_file=tmp_path / "job")


def test_the_files_of_a_previous_run_are_replaced(tmp_path, aws_calls):
    job_file, report = tmp_path / "job", tmp_path / "report.json"
    job_file.write_text("textclf-batch-20261207-061406\n")
    facts = {"status": "Failed", "input": "s3://a/b", "output": "s3://c/d", "endpoint": "prod"}
    report.write_text(json.dumps({"job_name": "textclf-batch-20261207-061406", **facts}))
    with pytest.raises(job.BatchError, match="Failed: x"):
        run(job_file=job_file, report=report)
    name = job_file.read_text().strip()
    assert name != "textclf-batch-20261207-061406" and job.JOB_NAME.fullmatch(name)
    assert json.loads(report.read_text())["job_name"] == name
