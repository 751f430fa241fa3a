"""Export the trained model to the ONNX graph the endpoint serves, and check it before it ships.

Called by training (rank 0) once the model folder is saved. Writes `model.onnx` (fp32) and, when
`deploy.serve.quantize` is `int8` or `auto`, `model.int8.onnx` (dynamic int8 quantization of the
weights by ONNX Runtime). Then it runs the validation split through the PyTorch model and through
each graph with the serving code (`textclf.serving.inference`), so the check covers the tokenizer
the server uses too: the fp32 logits must agree within `FP32_TOLERANCE`, else the stage fails with
the numbers. For int8 the share of identical predictions is reported (int8 changes the numbers by
design) with both graphs' validation accuracy and macro-F1.

Last it writes the folder's `serving.json`, the graph it serves (textclf.serving.inference reads
it): `none` and `int8` fix it; `auto` takes int8 when its accuracy and macro-F1 are within
`deploy.serve.int8_tolerance` of fp32's, here on the validation split; the train stage then
decides again on the prepared validation and test splits (`rechoose`), the split the gate judges:
int8 is served only when it passes the gate's tolerance check there (textclf.verdict).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from textclf import atomic
from textclf.serving.inference import GRAPH_FILES, SERVING_FILE, Predictor

# Largest absolute difference of a logit between PyTorch and the fp32 graph. Float reordering
# gives ~1e-5 on MiniLM; a wrong export (another tokenizer, a dropped input) gives 1e-1 and more.
FP32_TOLERANCE = 1e-3
OPSET = 17
CHECK_BATCH = 32


class ExportCheckError(RuntimeError):
    """The exported graph does not compute what the trained model computes."""


def export_fp32(model, graph: Path) -> None:
    """The legacy TorchScript exporter: the dynamo one needs onnxscript and gives the same graph."""
    import torch

    model = model.eval().to("cpu")
    sample = {
        "input_ids": torch.ones((2, 8), dtype=torch.long),
        "attention_mask": torch.ones((2, 8), dtype=torch.long),
        "token_type_ids": torch.zeros((2, 8), dtype=torch.long),
    }
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # TracerWarnings about python control flow in transformers
        torch.onnx.export(
            model,
            tuple(sample.values()),  # forward's first three parameters, in this order
            str(graph),
            input_names=list(sample),
            output_names=["logits"],
            dynamic_axes={**dict.fromkeys(sample, axes), "logits": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def export_int8(fp32_graph: Path, int8_graph: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # "consider pre-processing": shape inference gains nothing here
    try:
        quantize_dynamic(str(fp32_graph), str(int8_graph), weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


def torch_logits(model, tokenizer, texts: list[str], max_length: int):
    import numpy as np
    import torch

    from textclf.text import normalise

    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), CHECK_BATCH):
            batch = tokenizer(
                [normalise(text) for text in texts[start : start + CHECK_BATCH]],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            chunks.append(model(**batch).logits.float().numpy())
    return np.concatenate(chunks)


def graph_logits(predictor: Predictor, texts: list[str], batch: int = CHECK_BATCH):
    import numpy as np

    return np.concatenate(
        [predictor.logits(texts[start : start + batch]) for start in range(0, len(texts), batch)]
    )


def validation_scores(logits, labels: list[str], actual: list[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of a graph's logits against the validation labels."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = [labels[i] for i in logits.argmax(-1).tolist()]
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), 4),
        "macro_f1": round(
            float(f1_score(actual, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
    }


def choose_graph(
    quantize: str, scores: dict[str, dict[str, dict[str, float]]], tolerance: float
) -> dict[str, Any]:
    """serving.json: the graph the folder serves and why. `scores`: per split, per graph (`none`,
    `int8`), accuracy and macro-F1. `auto` takes int8 when it is within `tolerance` of fp32 on
    every split scored."""
    if quantize != "auto":
        return {
            "quantize": quantize,
            "graph": GRAPH_FILES[quantize],
            "rule": quantize,
            "reason": f"deploy.serve.quantize is {quantize}",
            "scores": scores,
        }
    keys = ("accuracy", "macro_f1")
    # Metrics carry 4 decimals; rounding the bound keeps 0.9703 - 0.01 from failing 0.9603.
    within = all(
        split["int8"][key] >= round(split["none"][key] - tolerance, 6)
        for split in scores.values()
        for key in keys
    )
    chosen = "int8" if within else "none"
    shown = "; ".join(
        f"{name}: " + ", ".join(f"{key} {split['int8'][key]:.4f} vs {split['none'][key]:.4f}" for key in keys)
        for name, split in scores.items()
    )
    return {
        "quantize": chosen,
        "graph": GRAPH_FILES[chosen],
        "rule": "auto",
        "int8_tolerance": tolerance,
        "reason": f"int8 {'within' if within else 'more than'} {tolerance:g} of fp32 on the "
        f"{' and '.join(scores)} split{'s' if len(scores) > 1 else ''} ({shown})",
        "scores": scores,
    }


def split_scores(
    model_dir: Path, max_length: int, texts: list[str], actual: list[str], batch: int
) -> dict[str, Any]:
    """Accuracy and macro-F1 of each graph in `model_dir` on `texts` with their labels `actual`,
    `batch` texts per call."""
    scores = {}
    for quantize, graph in GRAPH_FILES.items():
        if (model_dir / graph).is_file():
            predictor = Predictor(model_dir, max_length, graph=quantize)
            logits = graph_logits(predictor, texts, batch)
            scores[quantize] = validation_scores(logits, predictor.labels, actual)
    return scores


def rechoose(
    model_dir: Path,
    max_length: int,
    splits: dict[str, tuple[list[str], list[str]]],
    tolerance: float,
    batch: int,
) -> dict[str, Any]:
    """`auto` once more, on the prepared validation and test splits (the train stage calls it after
    any backend, so a SageMaker job, which sees no test split, is judged alike): serving.json again.

    `batch` is evaluate.batch_size: dynamic int8 quantizes the activations of each call as a whole,
    so an int8 graph's answers depend on the batch a text comes in (measured on the sample: test
    accuracy 0.9628 in batches of 32, 0.9554 in batches of 64). Scored in the evaluate stage's
    batches, the choice sees the figures the gate will judge."""
    scores = {name: split_scores(model_dir, max_length, *rows, batch) for name, rows in splits.items()}
    serving = choose_graph("auto", scores, tolerance) | {"batch_size": batch}
    atomic.write_json(model_dir / SERVING_FILE, serving)
    return {key: serving[key] for key in ("graph", "rule", "reason")}


def export_and_check(
    model,
    tokenizer,
    model_dir: Path,
    quantize: str,
    texts: list[str],
    max_length: int,
    actual: list[str] | None = None,
    int8_tolerance: float = 0.01,
) -> dict[str, Any]:
    """Write the graphs and serving.json into `model_dir`, checked on `texts` (with their labels
    `actual`, which `auto` needs); returns the check's figures."""
    if quantize == "auto" and actual is None:
        raise ValueError("deploy.serve.quantize auto chooses on the validation labels: pass them")
    fp32_graph = model_dir / GRAPH_FILES["none"]
    export_fp32(model, fp32_graph)
    if quantize != "none":
        export_int8(fp32_graph, model_dir / GRAPH_FILES["int8"])
    reference = torch_logits(model.eval().to("cpu"), tokenizer, texts, max_length)
    predictor = Predictor(model_dir, max_length, graph="none")
    fp32 = graph_logits(predictor, texts)
    max_diff = float(abs(fp32 - reference).max())
    figures: dict[str, Any] = {
        "opset": OPSET,
        "checked_texts": len(texts),
        "fp32_max_abs_logit_diff": round(max_diff, 7),
        "fp32_tolerance": FP32_TOLERANCE,
        "fp32_agreement": round(float((fp32.argmax(-1) == reference.argmax(-1)).mean()), 4),
    }
    if not max_diff <= FP32_TOLERANCE:  # also catches NaN
        raise ExportCheckError(
            f"{fp32_graph}: logits differ from the PyTorch model by up to {max_diff:.3g} on {len(texts)} "
            f"validation texts (tolerance {FP32_TOLERANCE}); predictions agree on "
            f"{figures['fp32_agreement']:.2%}. The export is wrong: the stage fails rather than ship it"
        )
    graphs = {"none": validation_scores(fp32, predictor.labels, actual)} if actual is not None else {}
    if quantize != "none":
        int8 = graph_logits(Predictor(model_dir, max_length, graph="int8"), texts)
        figures["int8_agreement"] = round(float((int8.argmax(-1) == reference.argmax(-1)).mean()), 4)
        figures["int8_max_abs_logit_diff"] = round(float(abs(int8 - reference).max()), 5)
        if actual is not None:
            graphs["int8"] = validation_scores(int8, predictor.labels, actual)
    serving = choose_graph(quantize, {"validation": graphs} if graphs else {}, int8_tolerance)
    atomic.write_json(model_dir / SERVING_FILE, serving)
    figures["served"] = {key: serving[key] for key in ("graph", "rule", "reason")}
    return figures
