"""The API proxy Lambda's limits and its duplicate-key check, hostile (issue 27's fresh round): a
body of thousands of keys each given twice costs one pass, not a count per key; a limit in
the function's environment that is not a whole number in range is a 500 naming the setting in the
log (and no traceback at import, which failed every request before)."""

from __future__ import annotations

import copy
import json
import time

import pytest
from test_proxy_events import GOOD, Runtime, answer
from test_proxy_events import runtime as runtime  # the fixture, re-exported

from textclf.frontdoor import proxy


def with_body(body: str) -> dict:
    event = copy.deepcopy(GOOD)
    event["body"] = body
    return event


def test_a_body_of_keys_given_twice_is_refused_in_one_pass():
    """Before: 12,000 keys each given twice took a list count per key, about 600 million string
    comparisons (8 s of Lambda time for one 218 KB request, for anyone who may call the API)."""
    body = '{"inputs": "x",' + ",".join(f'"{i}":1,"{i}":1' for i in range(12_000)) + "}"
    assert len(body) < 256 * 1024
    # This thread's CPU time, not the wall clock: a busy machine (the suite's other worker) stretched
    # the wall time of the one-pass check to 3.9 s once; the quadratic count needed about 8 s of CPU.
    started = time.thread_time()

    status, payload = answer(with_body(body))

    assert time.thread_time() - started < 1.0
    assert status == 400 and payload["error"] == "key '0' is given twice in one object: send it once"
    assert Runtime.calls == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_TEXTS", "abc"), ("MAX_TEXTS", "0"), ("MAX_TEXTS", "-1"), ("MAX_CHARS", "1e3"),
     ("MAX_BODY_BYTES", "99999999999"), ("MAX_BODY_BYTES", " ")],
)  # fmt: skip
def test_a_limit_that_is_not_a_whole_number_in_range_is_a_500_naming_it(monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)

    status, payload = answer(GOOD)

    assert status == 500 and payload == {"error": "the front door is misconfigured (see its log)"}
    assert f"{name}=" in capsys.readouterr().out and Runtime.calls == []


def test_limits_set_in_range_apply(monkeypatch):
    monkeypatch.setenv("MAX_TEXTS", "1")
    status, payload = answer(with_body(json.dumps({"inputs": ["a", "b"]})))
    assert status == 413 and payload["error"] == "send 1 to 1 texts; got 2"
    assert proxy.limit("MAX_TEXTS", {}) == 32
