"""batch-predict's own output files, hostile (issue 27's fresh round): a --report or --job-file that
cannot be written was found only after the transform job had run (the report lost, a traceback) or
had started (no record for batch-stop, the job billing on unseen). Both are checked before anything
starts; a job file that fails anyway stops the job it could not record."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.batch import job
from textclf.config import AwsParams, BatchParams, ServeParams


def run(**files):
    return job.run(
        BatchParams(),
        ServeParams(),
        AwsParams(),
        "s3://textclf-data/batch/in/x/",
        "s3://textclf-data/batch/out/y/",
        "prod",
        print,
        **files,
    )


@pytest.mark.parametrize("flag", ["report", "job_file"])
def test_an_output_file_that_is_a_folder_is_refused_before_anything_starts(tmp_path, flag):
    (tmp_path / "out").mkdir()
    with pytest.raises(job.BatchError, match=r"--(report|job-file) .*out: is a folder; pass a file name"):
        run(**{flag: tmp_path / "out"})


@pytest.mark.parametrize("flag", ["report", "job_file"])
def test_an_output_file_under_a_file_is_refused_before_anything_starts(tmp_path, flag):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(job.BatchError, match="plain is a file where a folder must be"):
        run(**{flag: tmp_path / "plain" / "report.json"})


class Sm:
    def __init__(self) -> None:
        self.stopped: list[str] = []

    def create_transform_job(self, **request):
        return {}

    def stop_transform_job(self, TransformJobName: str):
        self.stopped.append(TransformJobName)


def test_a_job_file_that_fails_after_the_start_stops_the_job(tmp_path, monkeypatch):
    """Between the check and the write the folder became a file: the job is stopped, and the error
    says so (before: an OSError traceback, the job running on with no record)."""
    sm = Sm()
    target = tmp_path / "records" / "job"
    monkeypatch.setattr(
        job, "write_text", lambda path, text: (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
    )
    monkeypatch.setattr(job, "production_model", lambda sm_, endpoint: "model")
    monkeypatch.setattr(job.awsclient, "aws_client", lambda service, region, **_: sm)
    with pytest.raises(
        job.BatchError, match=r"--job-file .*job: cannot be written \(Permission denied\); stopped"
    ):
        job.run(BatchParams(), ServeParams(), AwsParams(),
                "s3://textclf-data/batch/in/x/", "s3://textclf-data/batch/out/y/",
                "prod", print, check=False, job_file=target)  # fmt: skip
    assert len(sm.stopped) == 1 and sm.stopped[0].startswith("textclf-batch-")


def test_atomic_text_writes_leave_no_temporary_file_when_the_target_is_a_folder(tmp_path):
    from textclf import atomic

    (tmp_path / "report.json").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic.write_text(tmp_path / "report.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert isinstance(Path(tmp_path / "report.json"), Path)
