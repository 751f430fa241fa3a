"""Stage `prepare`: validate and clean the raw data, then split it by label with a seed.

Reads every CSV, JSONL and Parquet file in `data.raw_dir`. Writes `train.jsonl`,
`validation.jsonl`, `test.jsonl` and `labels.json` to `data.prepared_dir`, and a data summary
(rows per split and class, text length percentiles, what was dropped) to `metrics/data.json`.
"""

from __future__ import annotations

import io
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textclf import atomic
from textclf.config import DataParams
from textclf.text import normalise

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_FILE = Path("metrics/data.json")
SPLITS = ("train", "validation", "test")
READERS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


class DataError(ValueError):
    """The raw data cannot be used; the message names the file, row or field."""


@dataclass
class Example:
    text: str
    label: str
    source: str  # "file, row N" for error messages


@dataclass
class Cleaned:
    examples: list[Example]
    dropped: Counter = field(default_factory=Counter)


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: bytes that are not UTF-8 ({raw[error.start : error.end]!r}); "
            "re-save the file as UTF-8"
        ) from None


def _read_frame(path: Path) -> pd.DataFrame:
    # pandas is imported here, not at the top: `textclf prepare --help` and the retrain importer
    # should not pay for it.
    import pandas as pd

    kind = READERS[path.suffix.lower()]
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        decoded = _decode(path)
        if not decoded.strip():
            raise pd.errors.EmptyDataError
        text = io.StringIO(decoded)
        if kind == "csv":
            return pd.read_csv(text, dtype=str, keep_default_na=False)
        return pd.read_json(text, lines=True, dtype=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; remove it or add rows with a header") from None
    except ValueError as error:
        raise DataError(f"{path}: cannot be read as {kind}: {error}") from None


def _row_name(path: Path, index: int) -> str:
    # Rows are counted from 1 as a spreadsheet would show them; a CSV's header is line 1.
    if path.suffix.lower() == ".csv":
        return f"{path}: row {index + 1} (line {index + 2})"
    if path.suffix.lower() == ".jsonl":
        return f"{path}: row {index + 1} (line {index + 1})"
    return f"{path}: row {index + 1}"


def read_raw(raw_dir: Path, params: DataParams) -> list[Example]:
    """Every labelled text in the raw folder, checked for schema and types."""
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir}: raw data folder not found (data.raw_dir in params.yaml)")
    files = sorted(p for p in raw_dir.rglob("*") if p.is_file() and p.suffix.lower() in READERS)
    if not files:
        raise DataError(f"{raw_dir}: no .csv, .jsonl or .parquet files found")
    examples: list[Example] = []
    for path in files:
        frame = _read_frame(path)
        if frame.empty:
            raise DataError(f"{path}: the file has no rows")
        for column, setting in ((params.text_column, "text_column"), (params.label_column, "label_column")):
            if column not in frame.columns:
                raise DataError(
                    f"{path}: missing column {column!r} (data.{setting} in params.yaml); "
                    f"found columns {list(map(str, frame.columns))}"
                )
        texts = frame[params.text_column].tolist()
        labels = frame[params.label_column].tolist()
        for index, (text, label) in enumerate(zip(texts, labels, strict=True)):
            where = _row_name(path, index)
            if not isinstance(text, str):
                raise DataError(f"{where}: column {params.text_column!r} must be text, got {text!r}")
            if label is None or (isinstance(label, float) and math.isnan(label)) or str(label).strip() == "":
                raise DataError(f"{where}: column {params.label_column!r} is empty")
            examples.append(Example(text=text, label=str(label).strip(), source=where))
    return examples


def clean(examples: list[Example], params: DataParams) -> Cleaned:
    """Normalise texts, check labels, drop empty texts (if allowed) and duplicates."""
    result = Cleaned(examples=[])
    allowed = set(params.labels) if params.labels is not None else None
    label_of: dict[str, str] = {}
    conflicting: set[str] = set()
    for example in examples:
        text = normalise(example.text)
        if not text:
            if params.empty_text == "error":
                raise DataError(
                    f"{example.source}: column {params.text_column!r} is empty; fix the row, or set "
                    "data.empty_text: drop in params.yaml to drop such rows"
                )
            result.dropped["empty_text"] += 1
            continue
        if allowed is not None and example.label not in allowed:
            raise DataError(
                f"{example.source}: label {example.label!r} is not one of data.labels in params.yaml "
                f"({', '.join(params.labels or [])}); fix the row or add the label there"
            )
        if text in label_of:
            result.dropped["duplicate"] += 1
            if label_of[text] != example.label:
                conflicting.add(text)
            continue
        label_of[text] = example.label
        result.examples.append(Example(text=text, label=example.label, source=example.source))
    if conflicting:
        # The same text under two labels: neither can be trusted, so no copy is kept.
        result.examples = [e for e in result.examples if e.text not in conflicting]
        result.dropped["conflicting_labels"] += len(conflicting)
    return result


def label_set(examples: list[Example], params: DataParams) -> list[str]:
    present = Counter(e.label for e in examples)
    if len(present) < 2:
        only = next(iter(present), "none")
        raise DataError(f"the data holds a single class ({only!r}); a classifier needs at least 2")
    if params.labels is not None:
        missing = [label for label in params.labels if label not in present]
        if missing:
            raise DataError(f"labels {missing} from data.labels in params.yaml have no rows in the data")
        return list(params.labels)
    return sorted(present)


def split(examples: list[Example], params: DataParams) -> dict[str, list[Example]]:
    """Stratified split: every class is shuffled with the seed and cut by the split ratios."""
    ratios = params.split
    smallest = min(ratios.validation, ratios.test, ratios.train)
    needed = max(3, math.ceil(1 / smallest - 1e-9))
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    parts: dict[str, list[Example]] = {name: [] for name in SPLITS}
    rng = random.Random(params.seed)
    for label in sorted(by_label):
        members = by_label[label]
        if len(members) < needed:
            raise DataError(
                f"class {label!r} has {len(members)} rows after cleaning; a stratified split with "
                f"ratios {ratios.train}/{ratios.validation}/{ratios.test} needs at least {needed}"
            )
        rng.shuffle(members)
        n_test = max(1, round(len(members) * ratios.test))
        n_validation = max(1, round(len(members) * ratios.validation))
        parts["test"] += members[:n_test]
        parts["validation"] += members[n_test : n_test + n_validation]
        parts["train"] += members[n_test + n_validation :]
    for name in SPLITS:
        rng.shuffle(parts[name])
    _check_disjoint(parts)
    return parts


def _check_disjoint(parts: dict[str, list[Example]]) -> None:
    seen: dict[str, str] = {}
    for name, members in parts.items():
        for example in members:
            other = seen.setdefault(example.text, name)
            if other != name:
                raise DataError(f"text appears in both {other} and {name}: {example.text[:80]!r}")


def _percentiles(values: list[int]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

    return {"p5": at(0.05), "p50": at(0.5), "p95": at(0.95), "max": float(ordered[-1])}


def summarise(parts: dict[str, list[Example]], labels: list[str], dropped: Counter, raw_rows: int) -> dict:
    all_examples = [e for members in parts.values() for e in members]
    return {
        "rows": {"raw": raw_rows, **{name: len(parts[name]) for name in SPLITS}},
        "dropped": {key: dropped.get(key, 0) for key in ("empty_text", "duplicate", "conflicting_labels")},
        "classes": {
            name: {label: sum(e.label == label for e in parts[name]) for label in labels} for name in SPLITS
        },
        "text_chars": _percentiles([len(e.text) for e in all_examples]),
        "text_words": _percentiles([len(e.text.split()) for e in all_examples]),
    }


def _write_jsonl(path: Path, examples: list[Example]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(
                json.dumps({"text": example.text, "label": example.label}, ensure_ascii=False) + "\n"
            )


def run(params: DataParams, summary_file: Path = SUMMARY_FILE) -> dict:
    """Run the stage; on any error the outputs are removed, never left half written."""
    prepared_dir = Path(params.prepared_dir)
    try:
        raw = read_raw(Path(params.raw_dir), params)
        cleaned = clean(raw, params)
        labels = label_set(cleaned.examples, params)
        parts = split(cleaned.examples, params)
        summary = summarise(parts, labels, cleaned.dropped, raw_rows=len(raw))
        with atomic.atomic_dir(prepared_dir) as staging:
            for name in SPLITS:
                _write_jsonl(staging / f"{name}.jsonl", parts[name])
            atomic.write_json(staging / "labels.json", {"labels": labels})
        atomic.write_json(summary_file, summary)
    except DataError:
        atomic.remove(prepared_dir, summary_file)
        raise
    return summary
