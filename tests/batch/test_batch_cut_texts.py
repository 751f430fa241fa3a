"""batch-predict's input check refuses a long text whose kept part shows nothing, as the serving
image now does (R14C-5, 90d4e1c; asked in needs_C.md): with long_text truncate the container gets
the first deploy.serve.max_text_chars characters and answers 400 when they are blank, so the job
would fail on the record after instances were paid for."""

from __future__ import annotations

import json

import pytest

from textclf.batch import job
from textclf.config import ServeParams
from textclf.serving.server import Limits, RequestError, check_texts

SERVE = ServeParams(max_text_chars=300, long_text="truncate")


@pytest.mark.parametrize("blank", [" ", "\u200b", "\u0301", "\t"])
def test_a_text_blank_in_its_kept_part_is_refused_naming_the_setting(blank):
    line = json.dumps({"inputs": blank * 300 + "hello"})

    with pytest.raises(job.BatchError) as refused:
        job.check_record(line, "s3://textclf-data/batch/in/x.jsonl line 4", SERVE, job.MB)

    message = str(refused.value)
    assert message.startswith(
        "s3://textclf-data/batch/in/x.jsonl line 4: the text is empty once cut to its first 300"
    )
    assert "deploy.serve.max_text_chars" in message
    with pytest.raises(RequestError):  # the server refuses the same text
        check_texts([blank * 300 + "hello"], Limits(32, 300, "truncate"))


def test_a_long_text_with_something_in_its_kept_part_passes():
    assert job.check_record(json.dumps({"inputs": "hi" + " " * 400}), "x line 1", SERVE, job.MB) > 0
