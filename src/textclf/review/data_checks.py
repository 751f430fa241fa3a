"""Checks of the data itself for the PR report, against the base branch: shifts, leakage, label errors.

A data PR is otherwise judged only by its effect on the metrics. These say whether the data looks
wrong, with counts and row numbers (never the texts: the comment may be more public than the data):

- **Class prior shift**: PSI of the train split's class counts (`metrics/data.json`) against the
  base branch's, with the drift check's statistic (textclf.monitoring.drift.psi).
- **Length shift**: PSI of the test split's text lengths against the base branch's reference
  (`metrics/reference.json`, the same bins as the drift check).
- **Leakage**: test rows whose text, normalised (textclf.text.normalise, case and punctuation
  folded), also is a train row; and near-duplicates, Jaccard similarity of word 3-gram sets of at
  least NEAR_DUPLICATE_JACCARD (Broder, "On the resemblance and containment of documents", 1997).
- **Suspected label errors** from the held-out predictions (the evaluate stage's test-split
  probabilities, `plots/heldout_probabilities.csv`): the confident-learning rule of Northcutt,
  Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70 (2021),
  section 3.1: a class's threshold is the mean probability the model gives that class on the rows
  labelled with it; a row whose confidently-predicted class (the most probable class at or above
  its threshold) is not its label is suspect. Implemented here (a few lines, standard library)
  rather than with cleanlab, whose dependencies (pandas, scikit-learn, termcolor, tqdm) the review
  job would have to install; cleanlab's `find_label_issues(..., filter_by="confident_learning")`
  is the same rule with more options.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from textclf.monitoring.drift import LENGTH_BOUNDS, DriftError, histogram, psi
from textclf.review.champion import committed_json
from textclf.text import normalise

DATA_METRICS_FILE = Path("metrics/data.json")
REFERENCE_FILE = Path("metrics/reference.json")
HELDOUT_FILE = Path("plots/heldout_probabilities.csv")
NEAR_DUPLICATE_JACCARD = 0.8
SHINGLE_WORDS = 3
# A shingle shared by more train rows than this is boilerplate ("i would like to"), not evidence
# of a copy: skipping it keeps the candidate pairs few without missing real near-duplicates.
COMMON_SHINGLE_ROWS = 50
# Above this PSI a shift is flagged in the report (the drift check's customary "large shift").
SHIFT_FLAG = 0.25
ROWS_LISTED = 20
_WORD = re.compile(r"\w+")


class DataCheckError(RuntimeError):
    """An input of the data checks is missing or malformed; the message says which and why."""


def read_split(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of a prepared split (JSON lines); row numbers are 1-based lines."""
    if not path.is_file():
        raise DataCheckError(f"{path}: not found; run the prepare stage first (dvc repro)")
    texts, labels = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
            texts.append(str(row["text"]))
            labels.append(str(row["label"]))
        except (ValueError, KeyError, TypeError) as error:
            raise DataCheckError(
                f"{path}: line {number}: not a prepared row ({error}); rerun prepare"
            ) from None
    return texts, labels


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text).casefold())


def shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    if len(tokens) < SHINGLE_WORDS:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def leakage(train: list[str], test: list[str]) -> dict[str, Any]:
    """Test rows that are train rows after normalisation (exact) or nearly (near), 1-based rows."""
    train_words = [words(text) for text in train]
    exact_index: dict[str, int] = {}
    for row, tokens in enumerate(train_words, start=1):
        exact_index.setdefault(" ".join(tokens), row)
    train_shingles = [shingles(tokens) for tokens in train_words]
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, grams in enumerate(train_shingles):
        for gram in grams:
            postings[gram].append(index)
    exact, near = [], []
    for test_row, text in enumerate(test, start=1):
        tokens = words(text)
        key = " ".join(tokens)
        if key in exact_index:
            exact.append({"test_row": test_row, "train_row": exact_index[key]})
            continue
        grams = shingles(tokens)
        candidates = Counter(
            index
            for gram in grams
            if len(postings.get(gram, ())) <= COMMON_SHINGLE_ROWS
            for index in postings[gram]
        )
        best = (0.0, 0)
        for index, shared in candidates.items():
            similarity = shared / len(grams | train_shingles[index])
            best = max(best, (similarity, -index))
        if best[0] >= NEAR_DUPLICATE_JACCARD:
            near.append({"test_row": test_row, "train_row": -best[1] + 1, "jaccard": round(best[0], 3)})
    return {"exact": exact, "near": near, "test_rows": len(test), "threshold": NEAR_DUPLICATE_JACCARD}


def label_issues(
    labels: list[str], given: list[str], probabilities: list[list[float]]
) -> list[dict[str, Any]]:
    """Rows whose confidently-predicted class is not their label (confident learning, see above),
    most suspicious first (lowest probability of the given label)."""
    column = {label: j for j, label in enumerate(labels)}
    unknown = sorted(set(given) - set(column))
    if unknown:
        raise DataCheckError(f"labels {unknown} are not among the model's {labels}")
    sums, counts = [0.0] * len(labels), [0] * len(labels)
    for label, row in zip(given, probabilities, strict=True):
        sums[column[label]] += row[column[label]]
        counts[column[label]] += 1
    # A class without rows cannot be confidently predicted: threshold above any probability.
    thresholds = [total / count if count else 2.0 for total, count in zip(sums, counts, strict=True)]
    issues = []
    for number, (label, row) in enumerate(zip(given, probabilities, strict=True), start=1):
        confident = [j for j, p in enumerate(row) if p >= thresholds[j]]
        if not confident:
            continue
        predicted = max(confident, key=lambda j: row[j])
        if predicted != column[label]:
            issues.append(
                {
                    "row": number,
                    "given": label,
                    "suggested": labels[predicted],
                    "p_given": round(row[column[label]], 4),
                    "p_suggested": round(row[predicted], 4),
                }
            )
    return sorted(issues, key=lambda issue: (issue["p_given"], issue["row"]))


def read_heldout(path: Path, rows: int) -> tuple[list[str], list[list[float]]]:
    if not path.is_file():
        raise DataCheckError(f"{path}: not found; the evaluate stage writes it (dvc repro)")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or header[0] != "row":
            raise DataCheckError(f"{path}: expected a header row,<label>,...; rerun the evaluate stage")
        try:
            probabilities = [[float(value) for value in line[1:]] for line in reader]
        except ValueError as error:
            raise DataCheckError(f"{path}: {error}; rerun the evaluate stage") from None
    if len(probabilities) != rows:
        raise DataCheckError(
            f"{path}: {len(probabilities)} rows for a test split of {rows}: it is from another run; "
            "rerun the evaluate stage"
        )
    return header[1:], probabilities


def _class_prior_psi(data: dict[str, Any] | None, base: dict[str, Any] | None) -> float | None:
    new = ((data or {}).get("classes") or {}).get("train") or {}
    old = ((base or {}).get("classes") or {}).get("train") or {}
    if not new or not old:
        return None
    labels = sorted(set(new) | set(old))
    return round(psi([old.get(label, 0) for label in labels], [new.get(label, 0) for label in labels]), 4)


def _length_psi(test_texts: list[str], base_reference: dict[str, Any] | None) -> float | None:
    counts = ((base_reference or {}).get("length_chars") or {}).get("counts")
    bounds = ((base_reference or {}).get("length_chars") or {}).get("lower_bounds")
    if not counts or tuple(bounds or ()) != LENGTH_BOUNDS:
        return None
    try:
        return round(psi(counts, histogram((len(text) for text in test_texts), LENGTH_BOUNDS)), 4)
    except DriftError:
        return None


def run(prepared_dir: Path, base_ref: str = "main", heldout_file: Path = HELDOUT_FILE) -> dict[str, Any]:
    """Every check on this workspace's prepared data and held-out predictions, against `base_ref`."""
    train_texts, _ = read_split(prepared_dir / "train.jsonl")
    test_texts, test_labels = read_split(prepared_dir / "test.jsonl")
    labels, probabilities = read_heldout(heldout_file, len(test_texts))
    data = json.loads(DATA_METRICS_FILE.read_text(encoding="utf-8")) if DATA_METRICS_FILE.is_file() else None
    return {
        "base_ref": base_ref,
        "class_prior_psi": _class_prior_psi(data, committed_json(base_ref, DATA_METRICS_FILE)),
        "length_psi": _length_psi(test_texts, committed_json(base_ref, REFERENCE_FILE)),
        "leakage": leakage(train_texts, test_texts),
        "label_issues": label_issues(labels, test_labels, probabilities),
        "test_rows": len(test_texts),
    }


# ---------------------------------------------------------------------------------------------
# The report section (markdown; numbers and row numbers only)


def _rows(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:ROWS_LISTED])
    return shown + (f" and {len(numbers) - ROWS_LISTED} more" if len(numbers) > ROWS_LISTED else "")


def _psi_cell(value: float | None, missing: str) -> str:
    if value is None:
        return missing
    return f"{value:.3f} **(shifted)**" if value > SHIFT_FLAG else f"{value:.3f}"


def section(checks: dict[str, Any]) -> str:
    base = checks["base_ref"]
    leaks, issues, rows = checks["leakage"], checks["label_issues"], checks["test_rows"]
    share = f"{len(issues) / rows:.1%}" if rows else "0"
    table = [
        "| Check | Result |",
        "|:--|:--|",
        f"| Class prior shift, train split (PSI vs `{base}`) | "
        f"{_psi_cell(checks['class_prior_psi'], f'`{base}` has no class counts')} |",
        f"| Text length shift, test split (PSI vs `{base}`'s reference) | "
        f"{_psi_cell(checks['length_psi'], f'`{base}` has no reference yet')} |",
        f"| Test rows also in train (normalised) | {len(leaks['exact'])} of {rows} |",
        f"| Test rows nearly in train (Jaccard ≥ {leaks['threshold']}) | {len(leaks['near'])} of {rows} |",
        f"| Suspected label errors, test split (confident learning) | {len(issues)} of {rows} ({share}) |",
    ]
    parts = [f"### Data checks vs `{base}`", "\n".join(table)]
    listed = [
        ("Test rows also in train", [leak["test_row"] for leak in leaks["exact"]]),
        ("Test rows nearly in train", [leak["test_row"] for leak in leaks["near"]]),
        ("Suspected label errors (test rows, most suspicious first)", [issue["row"] for issue in issues]),
    ]
    lines = [f"- {title}: {_rows(numbers)}" for title, numbers in listed if numbers]
    if lines:
        parts.append(
            "Row numbers are lines of `data/prepared/test.jsonl`; check them there (texts stay out of "
            "the comment).\n\n" + "\n".join(lines)
        )
    return "\n\n".join(parts)
