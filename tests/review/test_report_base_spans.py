"""The base ref is shown in code spans nothing in it can close (issue 27, round 9, U-m2: the report
wrote `` `{md(base)}` ``, and md() escapes a backtick as \\`, which a code span keeps: a branch named
x`@octocat`y ended the span early in the headings and notes)."""

from __future__ import annotations

import re

import pytest

from tests.review.conftest import PR_EVAL
from tests.review.test_render import inputs
from textclf.review.report import render, section_data, section_metrics

BASE = "x`@octocat`y"


@pytest.mark.parametrize(
    "text",
    [
        lambda: section_metrics(inputs(PR_EVAL, base_ref=BASE)),
        lambda: section_metrics(
            inputs(PR_EVAL, base_ref=BASE, params_diff={"params.yaml": {"a": {"old": 1}}})
        ),
        lambda: section_data(inputs(PR_EVAL, base_ref=BASE, data={"rows": {}})),
        lambda: render(inputs(PR_EVAL, base_ref=BASE)),
    ],
)
def test_the_base_is_one_whole_code_span(text) -> None:
    shown = text()
    assert "`x\\`" not in shown, shown
    spans = re.findall(r"(`+)x`@octocat`y\1", shown)
    assert spans and set(spans) == {"``"}, shown
