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
`deploy.serve.int8_tolerance` of fp32's on the validation split. The choice is made once, here, by
the training program, on a SageMaker job or on this machine alike, and travels with the model: the
train stage takes the folder's record as it is (`recorded_choice` checks it was made under this
params.yaml's rule) and never chooses again. Never on the test split: that split is the gate's,
which judges the served graph there against the same tolerance (textclf.verdict), so a choice
made on it would be judged on the data it was made on.
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
# The split `auto` chooses on: the training program's own (a SageMaker job gets no other), never
# the test split the gate judges on.
CHOICE_SPLIT = "validation"


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
    `int8`), accuracy and macro-F1: the validation split's (CHOICE_SPLIT). `auto` takes int8 when
    it is within `tolerance` of fp32 there."""
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


class ServingRecordError(ValueError):
    """A model folder's serving.json is not a choice made under this params.yaml's deploy.serve."""


def recorded_choice(model_dir: Path, quantize: str, tolerance: float) -> dict[str, Any]:
    """The graph the training program chose for `model_dir` and why ({graph, rule, reason}), read
    from its serving.json once it is a choice under deploy.serve `quantize` (and, for `auto`,
    `tolerance`) that choose_graph's rule gives from the validation figures it records. Else
    ServingRecordError: the folder was trained with other settings (a SageMaker job started with
    other hyperparameters) or its record was edited."""
    path = model_dir / SERVING_FILE
    hint = "train again with this params.yaml (dvc repro train)"
    record = atomic.read_json_object(path, ServingRecordError, f"the training program writes it; {hint}")
    chosen = record.get("quantize")
    problem = None
    if record.get("rule") != quantize:
        problem = f"rule {record.get('rule')!r}, but params.yaml deploy.serve.quantize is {quantize!r}"
    elif chosen not in GRAPH_FILES or record.get("graph") != GRAPH_FILES[chosen]:
        problem = f"quantize {chosen!r} with graph {record.get('graph')!r}, not one of {GRAPH_FILES}"
    elif not (model_dir / GRAPH_FILES[chosen]).is_file():
        problem = f"the graph it serves, {GRAPH_FILES[chosen]}, is not in the folder"
    elif quantize != "auto" and chosen != quantize:
        problem = f"quantize {chosen!r} under rule {quantize!r}"
    elif quantize == "auto":
        problem = _auto_problem(record, tolerance)
    if problem:
        raise ServingRecordError(f"{path}: {problem}; {hint}")
    return {key: record[key] for key in ("graph", "rule", "reason")}


def _auto_problem(record: dict[str, Any], tolerance: float) -> str | None:
    """What is wrong with an `auto` record: chosen with another tolerance, on another split than
    validation, or not what choose_graph gives from its own figures."""
    if record.get("int8_tolerance") != tolerance:
        return (
            f"chosen with int8_tolerance {record.get('int8_tolerance')!r}, but params.yaml "
            f"deploy.serve.int8_tolerance is {tolerance!r}"
        )
    scores = record.get("scores")
    if not isinstance(scores, dict) or set(scores) != {CHOICE_SPLIT}:
        shown = sorted(scores) if isinstance(scores, dict) else scores
        return f"auto chooses on the {CHOICE_SPLIT} split only, the record scores {shown!r}"
    try:
        again = choose_graph("auto", scores, tolerance)["quantize"]
    except (KeyError, TypeError, ValueError):
        return f"its {CHOICE_SPLIT} scores are not both graphs' accuracy and macro_f1"
    if again != record["quantize"]:
        return f"it serves {record['quantize']}, but its own {CHOICE_SPLIT} scores give {again}"
    return None


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
    serving = choose_graph(quantize, {CHOICE_SPLIT: graphs} if graphs else {}, int8_tolerance)
    atomic.write_json(model_dir / SERVING_FILE, serving)
    figures["served"] = {key: serving[key] for key in ("graph", "rule", "reason")}
    return figures
