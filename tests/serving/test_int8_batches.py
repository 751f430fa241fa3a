"""The int8 graph gives a text the same scores alone and in any batch (its activations are
quantized per call, so the Predictor calls it once per text)."""

from __future__ import annotations

import numpy as np

from textclf.serving.inference import Predictor

TEXTS = [
    "Where is my parcel?",
    "I was charged twice for the same order last month and nobody answers my emails, please refund",
    "Cancel my subscription",
    "The lamp arrived broken, how do I send it back and get another one in a bigger size?",
    "Can I change the e-mail address of my account?",
]


def test_the_int8_graph_scores_a_text_the_same_alone_and_in_a_batch(tiny_model_dir):
    predictor = Predictor(tiny_model_dir, 64, graph="int8")
    alone = np.concatenate([predictor.logits([text]) for text in TEXTS])
    together = predictor.logits(TEXTS)
    reversed_batch = predictor.logits(TEXTS[::-1])[::-1]
    assert np.array_equal(alone, together)
    assert np.array_equal(alone, reversed_batch)


def test_the_fp32_graph_keeps_its_batches_and_scores_alike(tiny_model_dir):
    predictor = Predictor(tiny_model_dir, 64, graph="none")
    assert not predictor.one_text_per_call
    alone = np.concatenate([predictor.logits([text]) for text in TEXTS])
    np.testing.assert_allclose(predictor.logits(TEXTS), alone, atol=1e-5)
