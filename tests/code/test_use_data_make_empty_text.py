"""`make use-data EMPTY_TEXT=drop` (--empty-text drop) sets data.empty_text and drops the rows whose
text is empty; without it, every such row is counted and the first few named, with EMPTY_TEXT=drop
offered; another value is refused naming EMPTY_TEXT=. `textclf prepare` says before training what
shapes it, with train.epochs from params.yaml (issue 29, a newcomer's walk-through)."""

from __future__ import annotations

import json

import yaml

from tests.code.test_use_data import SPAM, USE, clone, jsonl, textclf  # noqa: F401 (clone: the fixture)
from tests.code.test_use_data_make import make_use_data, unfolded

BLANKS = [*SPAM[:3], {"body": " ", "kind": "spam"}, *SPAM[3:20], {"body": "", "kind": "ham"}, *SPAM[20:]]


def test_empty_texts_are_named_and_empty_text_drop_offered(clone):  # noqa: F811
    (clone.parent / "mine/spam.jsonl").write_text(jsonl(BLANKS), encoding="utf-8")

    done = make_use_data(clone, "TEXT=body", "LABEL=kind")

    assert done.returncode == 2
    assert (
        "../mine/spam.jsonl: row 4 (line 4): column 'body' is empty, and in 1 more rows: row 22 (line 22); "
        "fix those 2 rows, or pass EMPTY_TEXT=drop (or set data.empty_text: drop in params.yaml) to drop "
        "such rows"
    ) in unfolded(done.stderr)


def test_empty_text_drop_sets_data_empty_text(clone):  # noqa: F811
    (clone.parent / "mine/spam.jsonl").write_text(jsonl(BLANKS), encoding="utf-8")

    done = make_use_data(clone, "TEXT=body", "LABEL=kind", "EMPTY_TEXT=drop")

    assert "[textclf] params.yaml: data.empty_text 'drop'" in done.stderr, done.stderr
    assert yaml.safe_load((clone / "params.yaml").read_text(encoding="utf-8"))["data"]["empty_text"] == "drop"
    assert "24 rows; classes: ham 12, spam 12" in done.stderr


def test_another_empty_text_is_refused_naming_the_variable(clone):  # noqa: F811
    done = make_use_data(clone, "TEXT=body", "LABEL=kind", "EMPTY_TEXT=skip")

    assert done.returncode == 2
    assert "EMPTY_TEXT= 'skip': is neither error nor drop; pass EMPTY_TEXT=drop" in unfolded(done.stderr)
    assert "--empty-text" not in done.stderr


def test_prepare_says_the_training_size_with_train_epochs(clone):  # noqa: F811
    assert textclf(clone, *USE).returncode == 0

    done = textclf(clone, "prepare")

    assert done.returncode == 0, done.stderr
    rows = json.loads((clone / "metrics/data.json").read_text(encoding="utf-8"))["rows"]["train"]
    assert f"[textclf] training: {rows} rows x 2 epochs (train.epochs) = {2 * rows} samples" in done.stderr
    assert "[textclf] kept all 24 rows: no empty, duplicate or conflicting texts" in done.stderr
    assert max(len(line) for line in done.stderr.splitlines()) <= 100
