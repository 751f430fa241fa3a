"""The retraining pull request's body shows S3 keys as text: a key cannot close its code block,
so no markdown, link or @mention in an object's name is rendered."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.release import retrain

HOSTILE = [
    "incoming/a` @octocat `b.csv",
    "incoming/``` @org/team ```.csv",
    "incoming/[click](https://evil.example).csv",
    "incoming/<img src=x onerror=alert(1)>.jsonl",
]


def block_of(body: str) -> tuple[str, str]:
    """The fenced block: its fence and its content."""
    match = re.search(r"^(`{3,})text\n(.*?)\n\1$", body, flags=re.S | re.M)
    assert match, body
    return match.group(1), match.group(2)


def test_keys_with_backticks_stay_inside_one_code_block():
    body = retrain.pr_body({"bucket": "data", "rows": 12, "new": HOSTILE[:2], "updated": HOSTILE[2:]})
    fence, content = block_of(body)
    assert len(fence) == 4  # longer than the three backticks a key holds
    assert content.splitlines() == [f"new: s3://data/{HOSTILE[0]}", f"new: s3://data/{HOSTILE[1]}"] + [
        f"changed: s3://data/{key}" for key in HOSTILE[2:]
    ]
    outside = body.replace(content, "")
    assert "@" not in outside and "evil.example" not in outside


def test_a_rows_value_that_is_not_a_count_is_shown_as_unknown():
    assert "(after clean-up): unknown" in retrain.pr_body({"bucket": "b", "rows": "`@all`", "new": []})


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(
        st.text(alphabet=st.sampled_from("ab`@ []()<>!*_#~|\\-:/."), min_size=1, max_size=30),
        min_size=1,
        max_size=4,
    )
)
def test_no_key_escapes_its_block(keys):
    body = retrain.pr_body({"bucket": "b", "rows": 1, "new": [f"incoming/{key}" for key in keys]})
    _, content = block_of(body)
    assert content.splitlines() == [f"new: s3://b/incoming/{key}" for key in keys]


@pytest.mark.parametrize(
    "text", ["", "- a\n- b\n", "outs:\n- path: data/raw\n", "outs:\n- md5: `@x`\n", "outs: [[1]]\n", "{{{"]
)
def test_a_malformed_data_dvc_is_a_retrain_error(tmp_path, text):
    (tmp_path / "data.dvc").write_text(text, encoding="utf-8")
    with pytest.raises(retrain.RetrainError, match=r"data\.dvc: "):
        retrain.dataset_hash(tmp_path / "data.dvc")
