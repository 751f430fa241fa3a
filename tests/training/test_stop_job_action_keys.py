"""A start or publish request holding a key the training-run function does not take is refused naming
it (R14C-20), as a stop request is (exactly job_name and token) and as the drift check refuses an
event key it would ignore: a key the function ignored was a setting silently not applied (a runner's
`"dry_run": true`, a misspelt `"Job"` beside the real one)."""

from __future__ import annotations

import pytest

from tests.training.test_stop_job import FUNCTION, PREFIX, REPOSITORY
from textclf.training import stop_job

CONTEXT = type("Context", (), {"function_name": FUNCTION})()


@pytest.mark.parametrize(
    ("event", "unknown"),
    [
        ({"action": "start", "token": "x", "merge_commit": "", "job": {}, "dry_run": True}, "'dry_run'"),
        ({"action": "start", "token": "x", "merge_commit": "", "job": {}, "Job": {}}, "'Job'"),
        (
            {"action": "publish", "token": "x", "merge_commit": "", "job_name": "j", "files": {}, "job": {}},
            "'job'",
        ),
    ],
)
def test_a_key_the_action_does_not_take_is_refused_by_name_before_anything_else(monkeypatch, event, unknown):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", PREFIX)
    monkeypatch.setattr(stop_job, "_issuer_keys", lambda kid: pytest.fail("the keys were fetched"))
    answer = stop_job.handler(event, CONTEXT)
    assert answer["ok"] is False and answer["status"] == "refused"
    assert answer["reason"].startswith(f"the {event['action']} request holds {unknown}, which the function")
