"""A small random BERT for the plumbing: the tests' tiny models and the rehearsal's pull requests.
Kept out of modeling.py, which the train stage depends on (dvc.yaml)."""

from __future__ import annotations

from pathlib import Path

from textclf.pipeline.modeling import resolve_model


def build_small_bert(folder: Path, labels: list[str]) -> Path:
    """A randomly initialised 2-layer, hidden-64 BERT with the default model's tokenizer, saved as a
    base model (`model.name` may name this folder). It trains the sample in seconds on a CPU: right
    for the plumbing (the tests, the rehearsal's pull requests), useless for quality."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    base, _ = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(base)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    folder.mkdir(parents=True, exist_ok=True)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
