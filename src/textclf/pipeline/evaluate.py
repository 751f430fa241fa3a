"""Stage `evaluate`: score the trained model on the test split and judge it against thresholds.

The test split goes through the serving code (`textclf.serving.inference`) and the ONNX graph the
endpoint will serve (`deploy.serve.quantize` picks fp32 or int8): the gate judges exactly what is
served. Writes `metrics/eval.json` (accuracy, macro-F1, per-class precision/recall/F1, and which
graph was judged: file and SHA-256), the confusion
matrix as `plots/confusion.csv` (one row per test text, DVC's confusion template), the
threshold verdict `metrics/gate.json`, and the reference distributions the drift check compares
live traffic with, `metrics/reference.json` (class priors of the predictions and the labels, text
length and score histograms on fixed bins: textclf.monitoring.drift). The champion comparison
runs later, in `textclf gate`, because the production model's metrics live outside the repository.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textclf import atomic
from textclf.config import Params
from textclf.monitoring.drift import build_reference
from textclf.pipeline.prepare import DataError
from textclf.pipeline.train import MODEL_DIR
from textclf.serving.inference import ModelDirError, Predictor, softmax
from textclf.verdict import judge

EVAL_METRICS_FILE = Path("metrics/eval.json")
VERDICT_FILE = Path("metrics/gate.json")
CONFUSION_PLOT = Path("plots/confusion.csv")
REFERENCE_FILE = Path("metrics/reference.json")
# Each test row's probabilities: the held-out predictions the PR report's label-error check reads
# (textclf.review.data_checks). Numbers only, no text.
HELDOUT_FILE = Path("plots/heldout_probabilities.csv")


class EvaluateError(DataError):
    """The test split or the model cannot be evaluated as they are; the message says why."""


def iter_test_split(path: Path) -> Iterator[tuple[str, str]]:
    """(text, label) of each row of the prepared test split, streamed; a bad row names its line."""
    if not path.is_file():
        raise EvaluateError(f"{path}: test split not found; run the prepare stage first (dvc repro)")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise EvaluateError(
                    f"{path}: line {number}: bytes that are not UTF-8; rerun the prepare stage"
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (ValueError, KeyError, TypeError, RecursionError) as error:
                raise EvaluateError(
                    f'{path}: line {number} is not a {{"text": ..., "label": ...}} object ({error!r}); '
                    "rerun the prepare stage"
                ) from None
            if not isinstance(text, str) or not isinstance(label, str):
                raise EvaluateError(
                    f"{path}: line {number}: text and label must be strings, got "
                    f"{type(text).__name__} and {type(label).__name__}; rerun the prepare stage"
                )
            yield text, label


def read_test_split(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of the prepared test split."""
    texts, actual = [], []
    for text, label in iter_test_split(path):
        texts.append(text)
        actual.append(label)
    if not texts:
        raise EvaluateError(f"{path}: the test split is empty; the prepare stage must give it rows")
    return texts, actual


def check_known_labels(actual: list[str], labels: list[str], test_file: Path) -> None:
    """Every test label must be one the model predicts, or its rows would vanish from the scores."""
    unknown = sorted(set(actual) - set(labels))
    if unknown:
        rows = sum(label in unknown for label in actual)
        raise EvaluateError(
            f"{test_file}: {rows} test rows have labels the model does not know: {unknown} "
            f"(the model's labels: {labels}). Retrain on data with these labels, or fix the test split"
        )


def load_predictor(model_dir: Path, params: Params) -> Predictor:
    if not model_dir.is_dir():  # the serving message suggests a --model-dir that evaluate lacks
        raise EvaluateError(
            f"model folder {model_dir} does not exist: run the train stage first (dvc repro, or make repro)"
        )
    try:
        return Predictor(model_dir, params.model.max_length, params.deploy.serve.quantize)
    except ModelDirError as error:
        raise EvaluateError(str(error)) from None
    except Exception as error:  # a damaged file: ONNX Runtime, tokenizers and JSON raise their own
        raise EvaluateError(
            f"model folder {model_dir}: cannot be loaded ({type(error).__name__}: {str(error)[:300]}); a "
            "file in it is damaged or from another model: retrain (dvc repro) or restore the folder"
        ) from None


def score(actual: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        actual, predicted, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), 4),
        "macro_f1": round(float(sum(f1) / len(f1)), 4),
        "test_rows": len(actual),
        "per_class": per_class,
        "confusion_matrix": {
            "labels": labels,
            "rows_actual_columns_predicted": confusion_matrix(actual, predicted, labels=labels).tolist(),
        },
    }


def _confusion_csv(actual: list[str], predicted: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["actual", "predicted"])
    writer.writerows(zip(actual, predicted, strict=True))
    return buffer.getvalue()


def _heldout_csv(labels: list[str], probabilities: list[list[float]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", *labels])  # row: the test row's number, 1 = the first row of test.jsonl
    writer.writerows([number, *(f"{p:.6f}" for p in row)] for number, row in enumerate(probabilities, 1))
    return buffer.getvalue()


def _batches(pairs: Iterator[tuple[str, str]], size: int) -> Iterator[tuple[list[str], list[str]]]:
    texts: list[str] = []
    labels: list[str] = []
    for text, label in pairs:
        texts.append(text)
        labels.append(label)
        if len(texts) == size:
            yield texts, labels
            texts, labels = [], []
    if texts:
        yield texts, labels


def run(params: Params, model_dir: Path = MODEL_DIR) -> dict[str, Any]:
    """Score the test split batch by batch (texts are not all held at once), then judge it."""
    test_file = Path(params.data.prepared_dir) / "test.jsonl"
    try:
        actual = [label for _, label in iter_test_split(test_file)]  # a first, cheap pass: labels
        if not actual:
            raise EvaluateError(f"{test_file}: the test split is empty; the prepare stage must give it rows")
        predictor = load_predictor(model_dir, params)
        check_known_labels(actual, predictor.labels, test_file)
        parts, lengths = [], []
        for texts, _ in _batches(iter_test_split(test_file), params.evaluate.batch_size):
            parts.append(softmax(predictor.logits(texts)))
            lengths += [len(text) for text in texts]  # characters as the server records them
        probabilities = np.concatenate(parts).tolist()
        del parts
        # What Predictor.predict returns: the argmax label and its probability, rounded alike.
        results = [(predictor.labels[row.index(max(row))], round(max(row), 6)) for row in probabilities]
        predicted = [label for label, _ in results]
        metrics = {**score(actual, predicted, predictor.labels), "graph": predictor.describe()}
        verdict = judge(metrics, params.evaluate)
        # Characters as the server records them (textclf.serving.signals): the text as received.
        reference = build_reference(predictor.labels, predicted, [s for _, s in results], actual, lengths)
        atomic.write_text(CONFUSION_PLOT, _confusion_csv(actual, predicted))
        atomic.write_json(EVAL_METRICS_FILE, metrics)
        atomic.write_json(REFERENCE_FILE, reference)
        atomic.write_text(HELDOUT_FILE, _heldout_csv(predictor.labels, probabilities))
        atomic.write_json(VERDICT_FILE, verdict)
    except BaseException:
        # No outputs of an earlier run may stay behind to be read as this run's.
        atomic.remove(EVAL_METRICS_FILE, VERDICT_FILE, CONFUSION_PLOT, REFERENCE_FILE, HELDOUT_FILE)
        raise
    return verdict
