"""Batch input lines the serving image would refuse, or that read two ways, are refused by the
check that runs before any instance is paid for (issue 27's fresh round): a text holding a lone
surrogate (JSON's \\ud800 escape), and an object giving a key twice."""

from __future__ import annotations

import json
import re

import pytest

from textclf.batch import job
from textclf.config import ServeParams
from textclf.serving.server import Limits, RequestError, check_texts

PAYLOAD = 6 * job.MB


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"inputs": "hi \\ud800 there"}', "line 3: the text holds a lone surrogate (U+D800"),
        ('{"inputs": "\\udfff"}', "lone surrogate (U+DFFF"),
        ('{"inputs": "a", "inputs": "b"}', "line 3: key 'inputs' is given twice in one object"),
        ('{"id": 1, "inputs": "a", "id": 2}', "key 'id' is given twice"),
        ('{"inputs": "a", "meta": {"k": 1, "k": 2}}', "key 'k' is given twice"),
    ],
)
def test_a_line_the_serving_image_would_refuse_or_read_two_ways_is_named(line, message):
    """Before: both passed the check; the job then paid for instances to fail on the record (the
    server refuses lone surrogates), or the InputFilter picked one of the two values unseen."""
    with pytest.raises(job.BatchError, match=re.escape(message)):
        job.check_record(line, "s3://in/x.jsonl line 3", ServeParams(), PAYLOAD)


def test_the_server_refuses_what_the_check_now_refuses():
    """The check follows the server: the same text is a 400 there."""
    text = '{"inputs": "hi \\ud800"}'
    with pytest.raises(RequestError, match="lone surrogate"):
        check_texts([json.loads(text)["inputs"]], Limits(32, 1000, "truncate"))


def test_escaped_characters_that_are_valid_still_pass():
    assert job.check_record('{"inputs": "caf\\u00e9 \\ud83d\\ude00"}', "x line 1", ServeParams(), PAYLOAD) > 0
