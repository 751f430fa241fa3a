"""`textclf production-commit` prints a full commit or nothing (R13B-21).

release.yml keeps its output as the bake's rollback target before `make promote`; a production
record without `model_version` printed "unknown" (a short sha printed itself), which the bake
refused only after promote had changed production, so the release went out with no bake.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.review.test_champion import RELEASED
from textclf import cli
from textclf.review.champion import PRODUCTION_KEY

METRICS = {"accuracy": 0.9, "macro_f1": 0.9}


def record(bucket: str, **fields: object) -> None:
    body = json.dumps({"metrics": METRICS, "main_metric": "macro_f1", **fields}).encode()
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=body)


@pytest.mark.parametrize("fields", [{}, {"model_version": RELEASED[:7]}, {"model_version": None}])
def test_a_record_without_a_full_commit_stops_the_release(pr_repo, bucket, capsys, fields):
    record(bucket, **fields)
    assert cli.main(["production-commit"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "is not a full git commit (40 lowercase hex digits)" in captured.err, captured.err
    assert "make champion-record MODEL_VERSION=" in captured.err and "Traceback" not in captured.err


def test_a_full_commit_is_printed(pr_repo, bucket, capsys):
    record(bucket, model_version=RELEASED)
    assert cli.main(["production-commit"]) == 0
    assert capsys.readouterr().out == f"{RELEASED}\n"


def test_nothing_recorded_prints_nothing(pr_repo, bucket, capsys):
    assert cli.main(["production-commit"]) == 0
    assert capsys.readouterr().out == "\n"
