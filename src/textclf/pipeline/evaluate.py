"""Stage `evaluate`: score the trained model on the test split and judge it against thresholds.

Writes `metrics/eval.json` (accuracy, macro-F1, per-class precision/recall/F1), the confusion
matrix as `plots/confusion.csv` (one row per test text, DVC's confusion template), and the
threshold verdict `metrics/gate.json`. The champion comparison runs later, in `textclf gate`,
because the production model's metrics live outside the repository.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from textclf import atomic
from textclf.config import Params
from textclf.pipeline.train import MODEL_DIR
from textclf.verdict import judge

EVAL_METRICS_FILE = Path("metrics/eval.json")
VERDICT_FILE = Path("metrics/gate.json")
CONFUSION_PLOT = Path("plots/confusion.csv")


def predict(model_dir: Path, texts: list[str], max_length: int, batch_size: int) -> list[str]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    id2label = model.config.id2label
    predicted: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            ids = model(**batch).logits.argmax(dim=-1).tolist()
            predicted += [id2label[i] for i in ids]
    return predicted


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


def run(params: Params, model_dir: Path = MODEL_DIR) -> dict[str, Any]:
    prepared = Path(params.data.prepared_dir)
    with (prepared / "test.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    labels = json.loads((model_dir / "labels.json").read_text(encoding="utf-8"))["labels"]
    texts = [r["text"] for r in rows]
    actual = [r["label"] for r in rows]
    try:
        predicted = predict(model_dir, texts, params.model.max_length, params.evaluate.batch_size)
        metrics = score(actual, predicted, labels)
        verdict = judge(metrics, params.evaluate)
        atomic.write_text(CONFUSION_PLOT, _confusion_csv(actual, predicted))
        atomic.write_json(EVAL_METRICS_FILE, metrics)
        atomic.write_json(VERDICT_FILE, verdict)
    except BaseException:
        atomic.remove(EVAL_METRICS_FILE, VERDICT_FILE, CONFUSION_PLOT)
        raise
    return verdict
