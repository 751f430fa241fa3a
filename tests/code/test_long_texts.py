"""A very long text (a 10 MB test row) is cut to model.max_length x CHARS_PER_TOKEN characters before
it is tokenized: evaluate took 163 s and 2.7 GB on one such row. The graph sees the same tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.pipeline.evaluate import Scoring
from textclf.serving.inference import CHARS_PER_TOKEN, Predictor
from textclf.text import normalise

MAX_LENGTH = 16
LONG = "word  \t" * 5_000 + "end"  # 35 KB, whitespace runs that normalising collapses


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: Path) -> Predictor:
    return Predictor(tiny_model_dir, max_length=MAX_LENGTH)


@pytest.fixture
def tokenized(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the tokenizer is given."""
    lengths: list[int] = []
    encode_batch = predictor.tokenizer.encode_batch

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(encode_batch.__self__, name)

        def encode_batch(self, texts: list[str]) -> list:
            lengths.extend(len(text) for text in texts)
            return encode_batch(texts)

    monkeypatch.setattr(predictor, "tokenizer", Spy())
    return lengths


def test_the_tokenizer_never_gets_more_than_max_length_x_chars_per_token(
    predictor: Predictor, tokenized: list[int]
) -> None:
    (long, short) = predictor.classify([LONG, "my card was charged twice"])
    assert max(tokenized) <= MAX_LENGTH * CHARS_PER_TOKEN, (
        f"the tokenizer got a text of {max(tokenized)} characters: cut texts to model.max_length x "
        "CHARS_PER_TOKEN characters before tokenizing"
    )
    assert long.truncated and long.tokens == MAX_LENGTH
    assert not short.truncated


def test_the_cut_keeps_the_tokens_the_graph_sees(predictor: Predictor) -> None:
    """The cut lies beyond what max_length tokens cover: the encodings are those of the whole text."""
    whole = predictor.tokenizer.encode_batch([normalise(LONG)])[0]
    (cut,), (truncated,) = predictor.encode_cut([LONG])
    assert cut.ids == whole.ids and truncated
    assert (predictor.logits([LONG]) == predictor.logits_of([whole])).all()


def test_evaluate_counts_a_cut_row_as_truncated(predictor: Predictor, tokenized: list[int]) -> None:
    scoring = Scoring(predictor)
    scoring.add(["refund please", LONG, "x" * (MAX_LENGTH * CHARS_PER_TOKEN + 1)])
    assert scoring.cut == [False, True, True]
    assert max(tokenized) <= MAX_LENGTH * CHARS_PER_TOKEN
