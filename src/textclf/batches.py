"""Pairs in batches: (texts, labels) lists of at most `size` rows from a stream of (text, label).

Shared ground: the evaluate stage scores the test split in these batches and the PR report's data
checks read the splits in them, so neither holds a whole split at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def batches(pairs: Iterable[tuple[A, B]], size: int) -> Iterator[tuple[list[A], list[B]]]:
    """Two lists (firsts, seconds) of `size` pairs at a time, in order; the last may be shorter."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    firsts: list[A] = []
    seconds: list[B] = []
    for first, second in pairs:
        firsts.append(first)
        seconds.append(second)
        if len(firsts) == size:
            yield firsts, seconds
            firsts, seconds = [], []
    if firsts:
        yield firsts, seconds
