"""The one batcher (textclf.batches) the evaluate stage and the data checks share."""

from __future__ import annotations

import pytest

from textclf.batches import batches


def test_pairs_come_in_batches_of_the_size_in_order_the_last_one_shorter():
    pairs = [(f"text {i}", f"label {i % 2}") for i in range(7)]

    got = list(batches(iter(pairs), 3))

    assert [len(texts) for texts, _ in got] == [3, 3, 1]
    assert [t for texts, _ in got for t in texts] == [t for t, _ in pairs]
    assert [label for _, labels in got for label in labels] == [label for _, label in pairs]


def test_nothing_in_gives_no_batch_and_a_size_below_one_is_refused():
    assert list(batches(iter([]), 4)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(batches(iter([("a", "b")]), 0))


def test_evaluate_and_the_data_checks_use_it():
    import inspect

    from textclf.pipeline import evaluate
    from textclf.review import data_checks

    assert evaluate.batches is batches and data_checks.batches is batches
    assert "_batches" not in vars(evaluate)
    assert "texts.append" not in inspect.getsource(data_checks.Split)
