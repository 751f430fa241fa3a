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


class IncomingBucket:
    """The S3 calls retrain-import makes, on a dict of key -> bytes (no network)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_paginator(self, _name: str):
        objects = self.objects

        class Pages:
            def paginate(self, **_):
                return [{"Contents": [{"Key": key} for key in sorted(objects)]}]

        return Pages()

    def download_file(self, _bucket: str, key: str, path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(self.objects[key])


def test_a_file_dvcignore_hides_is_skipped_not_reported_as_new(tmp_path, monkeypatch):
    from textclf.config import AwsParams, DataParams

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvcignore").write_text(".*.partial\n**/.*.tmp*\n", encoding="utf-8")
    (tmp_path / "data/raw").mkdir(parents=True)
    rows = b"text,label\n" + b"".join(b"message %d,billing\nother %d,returns\n" % (i, i) for i in range(20))
    bucket = IncomingBucket({"incoming/batch.csv": rows, "incoming/.x.tmp.csv": rows})

    summary = retrain.import_incoming(AwsParams(), DataParams(labels=None), s3=bucket)

    assert summary.new == ["incoming/batch.csv"] and summary.skipped == ["incoming/.x.tmp.csv"]
    assert not (tmp_path / "data/raw/incoming/.x.tmp.csv").exists()
    assert retrain.hidden_by_dvcignore(tmp_path / "data/raw/incoming/.y.tmp.jsonl")
    assert not retrain.hidden_by_dvcignore(tmp_path / "data/raw/incoming/y.jsonl")


@pytest.mark.parametrize("base", ["", "-x", "--force", "main..dev", "a b", "main\n"])
def test_retrain_pr_refuses_a_base_that_is_not_a_branch_before_any_git(base, monkeypatch):
    """An empty base said "no new data" and exited 0 without comparing anything."""
    monkeypatch.setattr(retrain, "run", lambda *a, **k: pytest.fail("git or gh ran"))
    with pytest.raises(retrain.RetrainError, match="is not a branch name"):
        retrain.open_pr(base=base)


def test_a_long_key_list_is_cut_to_what_a_pull_request_body_holds():
    """Round 8, U-r1: 1,200 keys of 160 characters made a body GitHub refuses (and one argument past
    the kernel's limit)."""
    keys = ["incoming/" + "x" * 150 + f"{i}.csv" for i in range(1200)]
    body = retrain.pr_body({"bucket": "b", "rows": 3, "new": keys})
    assert len(body) < 65_536
    _, content = block_of(body)
    shown = content.splitlines()
    assert shown == [f"new: s3://b/{key}" for key in keys[: len(shown)]] and shown
    assert f"and {1200 - len(shown)} more of the 1200 objects, not listed" in body
