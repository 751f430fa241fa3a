"""`textclf redeploy --event` when the result record (result/<release_id> in LOCK_TABLE) cannot be
written: the failure is in the printed result and the exit is 1, never botocore's traceback after the
result line (R13B-13: `record.finished` ran outside every guard, which is right inside Lambda, where
the raise makes Lambda retry and the retry writes it, and stays so there)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from redeploy_world import COMMITS, LOCK_TABLE, artifact_url

from textclf.release import redeploy

A = COMMITS[0]


def event_file(tmp_path, world) -> str:
    world.upload(A)
    digest = hashlib.sha256(world.tarballs["good"]).hexdigest()
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"model_data_url": artifact_url(A), "sha256": digest, "release_id": "r1"}))
    return str(path)


def test_a_lock_table_that_does_not_exist_is_one_result_and_exit_1(world, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOCK_TABLE", "nonexistent-table")
    assert redeploy.main_cli(event_file(tmp_path, world)) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["status"] == "failed"
    assert result["result_record_error"].startswith(
        "the result record result/r1 could not be written to LOCK_TABLE nonexistent-table: "
        "ResourceNotFoundException: "
    )


def test_a_deploy_whose_record_cannot_be_written_says_so_and_exits_1(world, tmp_path, monkeypatch, capsys):
    """The endpoint was deployed, but the workflow, which reads the record, would not learn it."""

    def refused(self, result):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateItem")

    monkeypatch.setattr(redeploy.ResultRecord, "finished", refused)
    assert redeploy.main_cli(event_file(tmp_path, world)) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["status"] == "deployed"
    assert result["result_record_error"] == (
        f"the result record result/r1 could not be written to LOCK_TABLE {LOCK_TABLE}: ClientError: "
        "An error occurred (AccessDeniedException) when calling the UpdateItem operation: no"
    )


def test_inside_lambda_the_record_failure_still_raises_for_the_retry(world, tmp_path, monkeypatch):
    def refused(self, result):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "UpdateItem")

    monkeypatch.setattr(redeploy.ResultRecord, "finished", refused)
    event = json.loads(Path(event_file(tmp_path, world)).read_text())
    context = type("Context", (), {"aws_request_id": "req-1"})()
    with pytest.raises(ClientError, match="ThrottlingException"):
        redeploy.handler(event, context)


@pytest.mark.parametrize("table", ["t", "locks; drop", "x" * 300])
def test_a_lock_table_name_dynamodb_refuses_is_a_misconfiguration_not_a_record_write(
    world, monkeypatch, table
):
    """R14C-18: the result record was written before the settings were checked, so an event with a
    release_id and LOCK_TABLE="t" failed in botocore's parameter validation ("failed", retried by
    Lambda, and inside Lambda the record's second write raised botocore's exception with its stack),
    where the same setting without a release_id is `misconfigured`, naming LOCK_TABLE."""
    world.upload(A)
    monkeypatch.setenv("LOCK_TABLE", table)
    digest = hashlib.sha256(world.tarballs["good"]).hexdigest()
    event = {"model_data_url": artifact_url(A), "sha256": digest, "release_id": "r1"}

    result = redeploy.handler(event, None)

    assert result["status"] == "misconfigured" and "is not a DynamoDB table name" in result["reason"], result
    assert "result_record_error" not in result
    assert world.model_names() == []
