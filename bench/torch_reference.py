"""The benchmark's reference: the server as it was before ONNX Runtime, predicting with PyTorch.

The same HTTP server and request handling as `textclf serve` (`textclf.serving.server.run`), with
the model loaded by transformers and run by torch, as the serving image did before. Only
bench/serve_bench.py starts it: `python bench/torch_reference.py --model-dir DIR --params FILE`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textclf.config import load_params
from textclf.serving import server
from textclf.serving.inference import Prediction, check_model_dir
from textclf.text import normalise


class TorchPredictor:
    """The former `Classifier`: tokenizer and model from the HuggingFace files, fp32, torch."""

    def __init__(self, model_dir: Path, max_length: int, quantize: str = "none") -> None:
        if quantize != "none":
            raise ValueError("the reference serves fp32 only")
        self.labels = check_model_dir(model_dir)
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._torch = torch
        self.max_length = max_length
        self._tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
        # The benchmark compares like with like: it reads the threads torch computes with from this
        # line of the server's log (ONNX Runtime's intra-op threads are one per core as well).
        print(
            json.dumps({"component": "torch_reference", "torch_threads": torch.get_num_threads()}),
            file=sys.stderr,
            flush=True,
        )

    def classify(self, texts: list[str]) -> list[Prediction]:
        """What `Predictor.classify` gives (the server calls it): label, score, tokens seen, cut.
        One tokenization per request, as `Predictor.classify` does: the tokens seen and whether
        model.max_length cut a text come from the encodings the model ran on (a second
        tokenization here would make the reference slower than it was, flattering the ONNX server)."""
        batch = self._tokenizer(
            [normalise(text) for text in texts],
            truncation=True,
            max_length=self.max_length,
            padding=True,  # to the batch's longest text, as the ONNX predictor pads
            return_tensors="pt",
        )
        with self._torch.inference_mode():
            probabilities = self.model(**batch).logits.softmax(dim=-1)
        scores, indices = probabilities.max(dim=-1)
        return [
            # `overflowing` holds what truncation cut off: empty when the whole text fitted.
            Prediction(self.labels[i], round(s, 6), sum(e.attention_mask), bool(e.overflowing))
            for i, s, e in zip(indices.tolist(), scores.tolist(), batch.encodings, strict=True)
        ]

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        return [(p.label, p.score) for p in self.classify(texts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    params = load_params(args.params, needs=("model", "deploy", "deploy.serve"))
    serve = params.deploy.serve.model_copy(update={"quantize": "none"})
    server.run(Path(args.model_dir), "127.0.0.1", args.port, serve, params.model.max_length, TorchPredictor)


if __name__ == "__main__":
    from bench_main import run as run_to_the_end  # a script may define run() itself

    run_to_the_end(main, __file__)
