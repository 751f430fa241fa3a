"""Stage `prepare`: validate and clean the raw data, then split it by label with a seed.

Reads every CSV, JSONL and Parquet file in `data.raw_dir`. Writes `train.jsonl`,
`validation.jsonl`, `test.jsonl` and `labels.json` to `data.prepared_dir`, and a data summary
(rows per split and class, text length percentiles, what was dropped) to `metrics/data.json`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import random
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textclf import atomic
from textclf.config import PROTECTED_DIRS, DataParams
from textclf.text import normalise

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_FILE = Path("metrics/data.json")
SPLITS = ("train", "validation", "test")
READERS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
# Everything prepare writes into data.prepared_dir: the only files it may replace there.
PREPARED_FILES = frozenset({*(f"{name}.jsonl" for name in SPLITS), "labels.json"})


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
        return raw.decode("utf-8").removeprefix("\ufeff")  # a byte order mark, as Excel writes
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
        if kind == "csv":
            return _read_csv(path, decoded)
        return _read_jsonl(path, decoded)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; remove it or add rows with a header") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise DataError(f"{path}: cannot be read as {kind}: {error}") from None


def _read_csv(path: Path, decoded: str) -> pd.DataFrame:
    import pandas as pd

    header = _csv_header(decoded)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        # pandas would rename the second one to `text.1` and silently read the first.
        raise DataError(f"{path}: line 1: the header names {repeated} more than once; keep one of each")
    with warnings.catch_warnings():
        # A row with one field too many would otherwise shift into the index: text becomes label.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(io.StringIO(decoded), dtype=str, keep_default_na=False, index_col=False)
        except pd.errors.ParserWarning:
            raise DataError(f"{path}: {_first_long_row(decoded)}; quote texts that hold commas") from None


def _csv_header(decoded: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(decoded)), [])
    except csv.Error:  # e.g. a field over the csv module's size limit: pandas says what is wrong
        return []


def _first_long_row(decoded: str) -> str:
    """Where a row has more fields than the header, for the error message."""
    rows = csv.reader(io.StringIO(decoded))
    try:
        width = len(next(rows))
        for row in rows:
            if len(row) > width:
                return f"line {rows.line_num} has {len(row)} fields, the header {width}"
    except csv.Error:
        pass
    return "a row has more fields than the header"


def _read_jsonl(path: Path, decoded: str) -> pd.DataFrame:
    """One JSON object per line, parsed here so an error names its line (pandas names none)."""
    import pandas as pd

    records, line_numbers = [], []
    # Only a newline ends a record: U+2028 and form feeds may sit inside a JSON string.
    for number, line in enumerate(decoded.split("\n"), start=1):
        if not line.strip():
            continue  # a blank line, e.g. at the end of the file
        try:
            record = json.loads(line)
        except ValueError as error:
            raise DataError(f"{path}: line {number}: not valid JSON ({error}); one object per line") from None
        except RecursionError:
            raise DataError(f"{path}: line {number}: nested too deeply; one flat object per line") from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}: line {number}: expected a JSON object such as "
                f'{{"text": "...", "label": "..."}}, got {type(record).__name__}'
            )
        records.append(record)
        line_numbers.append(number)
    frame = pd.DataFrame.from_records(records)
    frame.attrs["lines"] = line_numbers  # for error messages: blank lines are skipped
    return frame


def _row_name(path: Path, index: int, lines: list[int] | None = None) -> str:
    # Rows are counted from 1 as a spreadsheet would show them; a CSV's header is line 1.
    if path.suffix.lower() == ".csv":
        return f"{path}: row {index + 1} (line {index + 2})"
    if lines:
        return f"{path}: row {index + 1} (line {lines[index]})"
    return f"{path}: row {index + 1}"


def _usable_label(label: object) -> bool:
    # Lists, objects and inf would become labels such as "[1]" or "inf" once made text.
    if isinstance(label, str):
        return True
    return isinstance(label, numbers.Real) and math.isfinite(label)


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
            where = _row_name(path, index, frame.attrs.get("lines"))
            if not isinstance(text, str):
                raise DataError(f"{where}: column {params.text_column!r} must be text, got {text!r}")
            if label is None or (isinstance(label, float) and math.isnan(label)) or str(label).strip() == "":
                raise DataError(f"{where}: column {params.label_column!r} is empty")
            if not _usable_label(label):
                raise DataError(
                    f"{where}: column {params.label_column!r} must be a text or a number, got {label!r}"
                )
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


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def checked_output_dir(params: DataParams, summary_file: Path = SUMMARY_FILE) -> Path:
    """data.prepared_dir, once replacing it can destroy nothing but prepare's own earlier outputs.

    params.yaml's check saw the text of the path; this one sees where it leads on disk (symbolic
    links) and what is there now. Paths are relative to the repository root, the working directory.
    """
    prepared_dir = Path(params.prepared_dir)
    where = f"{prepared_dir} (data.prepared_dir in params.yaml)"
    root = Path.cwd().resolve()
    target = prepared_dir.resolve()
    if prepared_dir.is_symlink():
        raise DataError(f"{where}: is a symbolic link; prepare replaces this folder, so name a plain folder")
    if target == root or not _inside(target, root):
        raise DataError(f"{where}: leads to {target}, not to a folder inside the repository {root}")
    for name in PROTECTED_DIRS:
        if _inside(target, (root / name).resolve()):
            raise DataError(f"{where}: leads into {name}/, which prepare must never replace")
    raw_dir = Path(params.raw_dir).resolve()
    if _inside(target, raw_dir) or _inside(raw_dir, target):
        raise DataError(
            f"{where}: leads to {target}, which overlaps the raw data in {raw_dir} (data.raw_dir)"
        )
    if _inside(summary_file.resolve(), target):
        raise DataError(f"{where}: must not hold {summary_file}, the stage's data summary")
    if prepared_dir.exists() and not prepared_dir.is_dir():
        raise DataError(f"{where}: is a file; name a folder for the prepared splits")
    if prepared_dir.is_dir():
        foreign = sorted(
            p.name for p in prepared_dir.iterdir() if p.name not in PREPARED_FILES or not p.is_file()
        )
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise DataError(
                f"{where}: holds files prepare did not write ({shown}) and would replace them; name a "
                "new or empty folder, or move those files away"
            )
    return prepared_dir


def run(params: DataParams, summary_file: Path = SUMMARY_FILE) -> dict:
    """Run the stage; on any error the outputs are removed, never left half written.

    Only prepare's own outputs are ever removed or replaced: checked before anything is read.
    """
    prepared_dir = checked_output_dir(params, summary_file)
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
