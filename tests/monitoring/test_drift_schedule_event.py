"""The drift check takes only what its schedule sends, {}, and a replay's window_end_ms (issue 27:
an event of {"foo": 1} was accepted and the key ignored, because the schedule's target had no
`input` and the handler got, and had to tolerate, EventBridge's whole scheduled event). Any other
key is a DriftError naming it, before any AWS call; terraform/drift.tf's schedule target sends {}
(terraform/tests/drift.tftest.hcl checks it):
a target's Input is sent in place of the event ("Target", EventBridge API Reference,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html)."""

from __future__ import annotations

import json

import pytest

from textclf.monitoring import drift

NOW = 1_800_000_000.0
# What a scheduled rule sends a Lambda target that has no Input ("Invoke a Lambda function on a
# schedule", https://docs.aws.amazon.com/lambda/latest/dg/with-scheduled-events.html).
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-07T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/textclf-prod-drift-schedule"],
    "detail": {},
}


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"foo": 1}, "unknown key 'foo':"),
        ({"window_end_ms": 1_700_000_000_000, "window_hours": 1}, "unknown key 'window_hours':"),
        ({"Window_End_Ms": 1_700_000_000_000}, "unknown key 'Window_End_Ms':"),
        (SCHEDULED_EVENT, "unknown keys 'account', 'detail', 'detail-type', 'id', 'region', ..."),
    ],
)
def test_an_event_with_a_key_the_check_does_not_take_is_refused_naming_it(monkeypatch, event, named):
    with pytest.raises(drift.DriftError, match="takes only window_end_ms") as raised:
        drift.window_end(event, NOW)
    assert str(raised.value).startswith(f"event: {named}"), raised.value

    # The handler refuses it before it makes any AWS client (none could be made here).
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "textclf-artifacts")
    monkeypatch.setattr(drift, "_client", lambda service: pytest.fail(f"an AWS {service} client was made"))
    with pytest.raises(drift.DriftError, match="takes only window_end_ms"):
        drift.handler(event)


def test_what_the_schedule_sends_and_a_replay_are_taken():
    assert drift.window_end(json.loads("{}"), NOW) == int(NOW * 1000)
    assert drift.window_end({"window_end_ms": 1_799_000_000_000}, NOW) == 1_799_000_000_000
