"""Stage `evaluate`: score the trained model on the test split and judge it against thresholds.

The test split goes through the serving code (`textclf.serving.inference`) and the ONNX graph the
endpoint will serve (the model folder's serving.json names it: textclf.pipeline.export chose it;
a folder without it serves the graph `deploy.serve.quantize` names): the gate judges exactly what
is served. The folder's other graph, when it has one (fp32 next to a served int8, or int8 next to
a served fp32), is scored on the same batches for the report: `graphs` in the metrics gives both
graphs' accuracy, macro-F1, lowest class recall and agreement with the served one; their speed
(one text per call, p50, and the batches' texts per second, taking turns on the same batches) goes
to `reports/latency.json`, outside the tracked files, because timings differ on every run.

Writes `metrics/eval.json` (accuracy, macro-F1, per-class precision/recall/F1 of the served graph,
which graph was judged: file and SHA-256, `served_files`: the SHA-256 of every file of the model
folder the server reads, which publish and the release compare with the folder or archive they
ship, both graphs' figures, and `truncation`: how many test texts were longer than
`model.max_length` tokens and the accuracy on them and on the rest), the
confusion matrix as `plots/confusion.csv` (one row per test text, DVC's confusion template), the
threshold verdict `metrics/gate.json`, and the reference distributions the drift check compares
live traffic with, `metrics/reference.json` (class priors of the predictions and the labels, text
length and score histograms on fixed bins: textclf.monitoring.drift). The champion comparison
runs later, in `textclf gate`, because the production model's metrics live outside the repository.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textclf import atomic
from textclf.batches import batches
from textclf.config import Params
from textclf.monitoring.drift import build_reference
from textclf.pipeline.prepare import DataError
from textclf.pipeline.train import MODEL_DIR, PendingOutputs, json_text
from textclf.serving.inference import (
    GRAPH_FILES,
    REQUIRED_FILES,
    SERVING_FILE,
    ModelDirError,
    Predictor,
    file_digest,
    not_regular,
    softmax,
)
from textclf.text import lone_surrogate
from textclf.verdict import judge

EVAL_METRICS_FILE = Path("metrics/eval.json")
VERDICT_FILE = Path("metrics/gate.json")
CONFUSION_PLOT = Path("plots/confusion.csv")
REFERENCE_FILE = Path("metrics/reference.json")
# Each test row's probabilities: the held-out predictions the PR report's label-error check reads
# (textclf.review.data_checks). Numbers only, no text.
HELDOUT_FILE = Path("plots/heldout_probabilities.csv")
# Both graphs' speed on this machine in this run: not a DVC output (timings differ on every run and
# would leave tracked files modified); the PR report shows it when the file is there.
LATENCY_FILE = Path("reports/latency.json")
# Single-text calls per graph for the latency p50 (the first test texts, graphs taking turns).
LATENCY_CALLS = 30


# eval.json's record of the evaluated model folder: {file name: SHA-256} of every file the server
# reads (textclf.serving.inference: the tokenizer, its settings, config.json's id2label, labels.json,
# serving.json when the folder has one, and the served graph). `textclf publish` refuses a folder
# that differs from it in any file (textclf.release.promote.check_evaluated_model), and the release
# an archive that does (verify_archive), so the model shipped answers as the model evaluated did.
SERVED_FILES_KEY = "served_files"


class EvaluateError(DataError):
    """The test split or the model cannot be evaluated as they are; the message says why."""


def iter_test_split(path: Path) -> Iterator[tuple[str, str]]:
    """(text, label) of each row of the prepared test split, streamed; a bad row names its line."""
    if not path.is_file():
        kind = not_regular(path) if path.exists() or path.is_symlink() else None
        if kind:  # a FIFO would block evaluate, a device be read without end
            raise EvaluateError(
                f"{path}: not a regular file ({kind}); run the prepare stage again (dvc repro)"
            )
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
                row = json.loads(line, object_pairs_hook=atomic.unique_keys)
                text, label = row["text"], row["label"]
            except atomic.DuplicateKey as duplicate:  # JSON's last-wins would pick one silently
                raise EvaluateError(
                    f"{path}: line {number}: key {duplicate.key!r} is given twice; rerun the prepare stage"
                ) from None
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
            if (bad := lone_surrogate(text) or lone_surrogate(label)) is not None:
                # The tokenizer's TypeError otherwise (R14A-9); prepare refuses it in a raw row.
                raise EvaluateError(
                    f"{path}: line {number}: holds a lone surrogate (U+{ord(bad):04X}), which is no "
                    "character; rerun the prepare stage"
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


def load_predictor(model_dir: Path, params: Params, graph: str | None = None) -> Predictor:
    """The served graph's predictor, or the `graph` (`none`, `int8`) one."""
    if not model_dir.is_dir():  # the serving message suggests a --model-dir that evaluate lacks
        raise EvaluateError(
            f"model folder {model_dir} does not exist: run the train stage first (dvc repro, or make repro)"
        )
    try:
        return Predictor(model_dir, params.model.max_length, params.deploy.serve.quantize, graph=graph)
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


def served_file_names(model_dir: Path, graph: str) -> list[str]:
    """The files of `model_dir` the server reads when it serves the graph file `graph`."""
    optional = [SERVING_FILE] if (model_dir / SERVING_FILE).is_file() else []
    return sorted({*REQUIRED_FILES, *optional, graph})


def served_files(model_dir: Path, graph: str) -> dict[str, str]:
    """{name: SHA-256} of each file the server reads from `model_dir` serving `graph` (a missing
    one: the server refuses the folder, so it has no digest and publish refuses it)."""
    return {
        name: file_digest(model_dir / name)
        for name in served_file_names(model_dir, graph)
        if (model_dir / name).is_file()
    }


def serving_record(model_dir: Path) -> dict[str, Any]:
    """What the folder's serving.json says of the choice (rule, reason, tolerance); {} without it."""
    path = model_dir / SERVING_FILE
    if not path.is_file():
        return {}
    record = atomic.read_json_object(path, EvaluateError, "train again (dvc repro)")
    return {key: record[key] for key in ("rule", "reason", "int8_tolerance", "scores") if key in record}


class Scoring:
    """One graph's pass over the test split: probabilities, what max_length cut, seconds spent."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.parts: list[np.ndarray] = []
        self.cut: list[bool] = []
        self.seconds = 0.0

    def add(self, texts: list[str]) -> None:
        started = time.perf_counter()
        # Each text cut to model.max_length x CHARS_PER_TOKEN characters before it is tokenized.
        encodings, cut = self.predictor.encode_cut(texts)
        self.parts.append(softmax(self.predictor.logits_of(encodings)))
        self.seconds += time.perf_counter() - started
        self.cut += cut

    def probabilities(self) -> np.ndarray:
        return np.concatenate(self.parts)

    def predicted(self) -> list[str]:
        labels = self.predictor.labels
        return [labels[i] for i in self.probabilities().argmax(axis=-1).tolist()]


def graph_figures(
    predictor: Predictor, actual: list[str], predicted: list[str], served: list[str], is_served: bool
) -> dict[str, Any]:
    """A graph's accuracy, macro-F1, lowest class recall and agreement with the served graph."""
    scores = score(actual, predicted, predictor.labels)
    return {
        **predictor.describe(),
        "served": is_served,
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "min_class_recall": min(c["recall"] for c in scores["per_class"].values()),
        "agreement_with_served": round(
            sum(a == b for a, b in zip(predicted, served, strict=True)) / len(served), 4
        ),
    }


def truncation(cut: list[bool], actual: list[str], predicted: list[str], max_length: int) -> dict[str, Any]:
    """How many test texts were longer than max_length tokens, and the accuracy on them vs the rest."""

    def accuracy(rows: list[int]) -> float | None:
        return round(sum(actual[i] == predicted[i] for i in rows) / len(rows), 4) if rows else None

    long_rows = [i for i, flag in enumerate(cut) if flag]
    rest = [i for i, flag in enumerate(cut) if not flag]
    return {
        "max_length": max_length,
        "truncated_rows": len(long_rows),
        "rows": len(cut),
        "share": round(len(long_rows) / len(cut), 4) if cut else 0.0,
        "accuracy_truncated": accuracy(long_rows),
        "accuracy_rest": accuracy(rest),
    }


def single_text_latency(predictors: list[Predictor], texts: list[str]) -> list[float]:
    """p50 milliseconds of one text per call, for each predictor, taking turns text by text."""
    timings: list[list[float]] = [[] for _ in predictors]
    for text in texts:
        for index, predictor in enumerate(predictors):
            started = time.perf_counter()
            predictor.predict([text])
            timings[index].append((time.perf_counter() - started) * 1000)
    return [round(statistics.median(t), 3) if t else 0.0 for t in timings]


def latency_record(scorings: list[Scoring], test_file: Path, rows: int) -> dict[str, Any]:
    """reports/latency.json: both graphs' speed, one text per call and in the test split's batches."""
    texts = [text for (text, _), _ in zip(iter_test_split(test_file), range(LATENCY_CALLS), strict=False)]
    p50 = single_text_latency([s.predictor for s in scorings], texts)
    return {
        "what": f"one text per call: p50 of {len(texts)} calls; batches: the test split's {rows} "
        "texts in evaluate.batch_size batches, the graphs taking turns; this machine, this run",
        "graphs": {
            s.predictor.quantize: {
                "file": s.predictor.graph.name,
                "sha256": s.predictor.describe()["sha256"],
                "single_text_p50_ms": ms,
                "batch_texts_per_second": round(rows / s.seconds, 1) if s.seconds else None,
            }
            for s, ms in zip(scorings, p50, strict=True)
        },
    }


def run(params: Params, model_dir: Path = MODEL_DIR) -> dict[str, Any]:
    """Score the test split batch by batch (texts are not all held at once), then judge it.

    The test split and the model folder are checked before anything is scored, and the outputs are
    written together at the end (PendingOutputs): a run that fails, on its inputs or half way,
    leaves the previous run's metrics, verdict, reference and plots as they were (`dvc repro`
    removes a stage's outputs itself before it runs the stage)."""
    test_file = Path(params.data.prepared_dir) / "test.jsonl"
    actual = [label for _, label in iter_test_split(test_file)]  # a first, cheap pass: labels
    if not actual:
        raise EvaluateError(f"{test_file}: the test split is empty; the prepare stage must give it rows")
    predictor = load_predictor(model_dir, params)
    check_known_labels(actual, predictor.labels, test_file)
    scorings = [Scoring(predictor)]
    other = "none" if predictor.quantize == "int8" else "int8"
    if other == "none" and not (model_dir / GRAPH_FILES[other]).is_file():
        # The gate judges a served int8 graph against fp32's: without it, it failed those checks
        # saying eval.json had been edited, though nobody had (R14A minor).
        raise EvaluateError(
            f"{model_dir / GRAPH_FILES[other]}: missing; the int8 graph is served and the gate compares it "
            "with this fp32 graph, which the train stage exports beside it: run the train stage again "
            "(dvc repro train)"
        )
    if (model_dir / GRAPH_FILES[other]).is_file():
        scorings.append(Scoring(load_predictor(model_dir, params, graph=other)))
    lengths: list[int] = []
    for texts, _ in batches(iter_test_split(test_file), params.evaluate.batch_size):
        for scoring in scorings:  # the graphs take turns on each batch: their speeds compare
            scoring.add(texts)
        lengths += [len(text) for text in texts]  # characters as the server records them
    served = scorings[0]
    probabilities = served.probabilities()
    predicted = served.predicted()
    # What Predictor.predict returns: the argmax label's probability, rounded alike.
    confidences = [round(float(p), 6) for p in probabilities.max(axis=-1).tolist()]
    graphs = {
        s.predictor.quantize: graph_figures(
            s.predictor, actual, predicted if s is served else s.predicted(), predicted, s is served
        )
        for s in scorings
    }
    metrics = {
        **score(actual, predicted, predictor.labels),
        "graph": predictor.describe(),
        SERVED_FILES_KEY: served_files(model_dir, predictor.graph.name),
        "graphs": graphs,
        "serving": serving_record(model_dir),
        "truncation": truncation(served.cut, actual, predicted, params.model.max_length),
    }
    verdict = judge(metrics, params.evaluate, serve=params.deploy.serve)
    # Characters as the server records them (textclf.serving.signals): the text as received.
    reference = build_reference(predictor.labels, predicted, confidences, actual, lengths)
    pending = PendingOutputs(
        {
            LATENCY_FILE: json_text(latency_record(scorings, test_file, len(actual))),
            CONFUSION_PLOT: _confusion_csv(actual, predicted),
            EVAL_METRICS_FILE: json_text(metrics),
            REFERENCE_FILE: json_text(reference),
            HELDOUT_FILE: _heldout_csv(predictor.labels, probabilities.tolist()),
            VERDICT_FILE: json_text(verdict),
        }
    )
    try:
        pending.commit()
    finally:
        pending.discard()
    return verdict
