"""Checks of the data itself for the PR report, against the base branch: shifts, leakage, label errors.

A data PR is otherwise judged only by its effect on the metrics. These say whether the data looks
wrong, with counts and row numbers (never the texts: the comment may be more public than the data):

- **Class prior shift**: PSI of the train split's class counts (`metrics/data.json`) against the
  base branch's, with the drift check's statistic (textclf.monitoring.drift.psi).
- **Length shift**: PSI of the test split's text lengths against the base branch's reference
  (`metrics/reference.json`, the same bins as the drift check).
- **Leakage**: test rows whose text, normalised (textclf.text.normalise, case and punctuation
  folded), also is a train row; and near-duplicates: Jaccard similarity of word 3-gram sets of at
  least NEAR_DUPLICATE_JACCARD (Broder, "On the resemblance and containment of documents", 1997).
  Candidates come from MinHash signatures with locality-sensitive hashing by bands (Leskovec,
  Rajaraman and Ullman, "Mining of Massive Datasets", 3rd ed., section 3.4; what datasketch's
  MinHashLSH does): NUM_PERM hash functions in BANDS bands of ROWS_PER_BAND, so a pair at the
  threshold shares a band with probability 1 - (1 - 0.8^4)^16 > 0.9997; each candidate's
  signature agreement estimates its Jaccard, and the best few of each test row are checked with the
  exact Jaccard of their 3-gram sets, so what is reported is exact. Time and memory grow with the
  rows (chunks of CHUNK_ROWS; per train row a signature and a file offset, not its text) and with
  the distinct words (an id each; see `run`).
- **Suspected label errors in the whole dataset** (train, validation and test): out-of-fold class
  scores for every row from a fast model (multinomial naive Bayes on binary word 1- and 2-grams,
  FOLDS folds: each row is scored by a model that never saw it; the folds' class counts are
  additive, so two streaming passes train all folds and score every row; the counts are kept
  sparse, only the features each class was seen with, so memory does not grow with the classes),
  then confident learning
  (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
  JAIR 70 (2021); cleanlab's default `find_label_issues(filter_by="prune_by_noise_rate")`):
  per-class thresholds t_j (the mean probability of class j on the rows labelled j) give the
  confident joint of given and likely labels (section 3.1), calibrated to the label counts; for
  each pair of classes (given i, likely j) that many rows labelled i with the largest margin
  p_j - p_i are flagged (prune by noise rate, section 3.2), and, as cleanlab does, a row whose
  predicted class is its given label is never flagged. The flags are ranked by normalised margin
  (p_given - the largest other p; most suspicious first).
  Two steps make the list one a reviewer can act on. Naive Bayes multiplies word likelihoods as if
  independent, so its probabilities are near 0 and 1 whether it is right or not (on a clean
  human-labelled sentiment set it flagged 13 % of the rows, most with p_given 0.0); the per-class
  thresholds then mean nothing and every disagreement is "confident". The out-of-fold scores are
  first calibrated by temperature scaling (Guo et al., "On Calibration of Modern Neural Networks",
  ICML 2017: one temperature T, fitted by the likelihood of the given labels on out-of-fold
  scores, so on rows no fold model saw), with a second parameter for the labels' noise (a share
  of labels changed at random), so that flipped labels are explained as noise rather than by
  softening every probability; the fitted share is reported as the estimated noise. Then only
  rows whose calibrated probability of their given label is below MAX_P_GIVEN are listed: on
  clean data the rest are rows the check model finds hard (negations, mixed topics), not wrong
  labels; they are counted in the report.
  `bench/label_errors.py` measures the flag rate on clean data and precision and recall on data
  with flipped labels, before and after. Implemented here (numpy and scikit-learn, already
  dependencies) rather than with cleanlab, which would add cleanlab, termcolor and their pins to
  every lock for a few dozen lines. `label_issues` (the "confident learning" filter of section
  3.1 on given probabilities) stays for callers that have held-out probabilities of their own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textclf import atomic
from textclf.batches import batches
from textclf.config import DataGateParams
from textclf.monitoring.drift import LENGTH_BOUNDS, DriftError, histogram, psi
from textclf.review.champion import committed_json
from textclf.text import normalise

DATA_METRICS_FILE = Path("metrics/data.json")
REFERENCE_FILE = Path("metrics/reference.json")
# The evaluate stage's held-out probabilities of the test split (the fine-tuned model's opinion).
HELDOUT_FILE = Path("plots/heldout_probabilities.csv")
# Every flagged row, for the reviewer (the PR workflow uploads it): where it is in the raw data,
# given and suggested label, never its text.
FLAGGED_FILE = Path("reports/flagged_rows.csv")
FLAGGED_COLUMNS = (
    "check",
    "split",
    "prepared_row",
    "raw_file",
    "raw_row",
    "raw_line",
    "given",
    "suggested",
    "p_given",
    "p_suggested",
    "train_prepared_row",
    "train_raw_file",
    "train_raw_row",
    "jaccard",
)
# Flags the fine-tuned model mostly disagrees with are likely the check model's own mistakes.
CAVEAT_SHARE = 0.5
SPLIT_NAMES = ("train", "validation", "test")
NEAR_DUPLICATE_JACCARD = 0.8
SHINGLE_WORDS = 3
NUM_PERM = 64
BANDS = 16
ROWS_PER_BAND = NUM_PERM // BANDS
# A band bucket larger than this (many train rows sharing 4 minimum hashes: copies of one text) is
# sampled, not skipped: the test row still meets some of the copies.
BUCKET_CAP = 100
# Candidates whose estimated Jaccard is at least the threshold minus this (3 standard deviations of
# the estimate at 64 hash functions) are checked exactly, the VERIFY_TOP best of each test row.
ESTIMATE_MARGIN = 0.15
VERIFY_TOP = 5
CHUNK_ROWS = 2000
QUERY_ROWS = 500
FOLDS = 5
NB_FEATURES = 2**18
NB_ALPHA = 0.3
# The naive Bayes weights are made for a block of rows at a time, for the features in it: at most
# this many features x classes (float32 and float64 copies: about 25 MB), at least one row.
SCORE_BLOCK_CELLS = 2**20
# The label-error check holds rows x classes scores (float64), about SCORE_COPIES copies of them at
# its peak (softmax, calibration, prune by noise rate); more rows x classes than this are refused
# with the memory they would need (about 1.2 GiB at the bound) rather than fill the machine.
MAX_SCORE_CELLS = 2**25
SCORE_COPIES = 5
# A row is flagged only when the calibrated check model gives its label less than this probability
# (bench/label_errors.py: on the bundled sample and a clean human-labelled sentiment set, the rows
# kept above it are mostly the check model's own mistakes).
MAX_P_GIVEN = 0.1
# The calibration's fit (fit_calibration): rounds of coordinate descent, rows it is fitted on.
CALIBRATION_ROUNDS = 6
CALIBRATION_ROWS = 100_000
SEED = 20261206
# Above this PSI a shift is flagged in the report (the drift check's customary "large shift").
SHIFT_FLAG = 0.25
ROWS_LISTED = 20
_WORD = re.compile(r"\w+")
_U64 = np.uint64
# Odd 64-bit constants (splitmix64's) for mixing word ids into shingle and band hashes.
_MIX1, _MIX2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_SHINGLE_MULTIPLIERS = (_U64(0x9E3779B97F4A7C15), _U64(0xC2B2AE3D27D4EB4F), _U64(0x165667B19E3779F9))
# Word ids padding a text of fewer than SHINGLE_WORDS words to one shingle (never a vocabulary id).
_PAD = (_U64(2**62 + 1), _U64(2**62 + 2))


class DataCheckError(RuntimeError):
    """An input of the data checks is missing or malformed; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Reading the prepared splits: streamed in chunks, any row read again by its file offset


class Split:
    """A prepared split (JSON lines), read in chunks; row numbers are 1-based lines."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            if path.exists():  # a device would be read without end, a pipe would block the report
                raise DataCheckError(
                    f"{path}: a folder, device, pipe or socket, not a regular file; remove it and rerun "
                    "the prepare stage (dvc repro)"
                )
            raise DataCheckError(f"{path}: not found; run the prepare stage first (dvc repro)")
        self.path = path
        self.offsets: array | None = None  # each row's byte offset, known after one full pass

    def _row(self, line: bytes, number: int) -> tuple[str, str]:
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
            if not isinstance(text, str) or not isinstance(label, str):
                raise TypeError("text and label must be strings")
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise DataCheckError(
                f"{self.path}: line {number}: not a prepared row ({error}); rerun prepare"
            ) from None
        return text, label

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[str], list[str]]]:
        """(texts, labels) of `size` rows at a time, in file order."""
        offsets = array("q")
        yield from batches(self._pairs(offsets), size)
        self.offsets = offsets

    def _pairs(self, offsets: array) -> Iterator[tuple[str, str]]:
        """(text, label) of each row, noting each row's byte offset in `offsets`."""
        with self.path.open("rb") as handle:
            offset = 0
            for number, line in enumerate(handle, start=1):
                offsets.append(offset)
                offset += len(line)
                yield self._row(line, number)

    def text(self, index: int) -> str:
        """The text of row `index` (0-based), read again from the file."""
        assert self.offsets is not None, "read the split once first"
        with self.path.open("rb") as handle:
            handle.seek(self.offsets[index])
            return self._row(handle.readline(), index + 1)[0]

    def sources(self, indices: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Where rows `indices` (0-based) came from: the raw file and row prepare recorded in their
        `source` (textclf.pipeline.prepare); rows prepared without one are left out."""
        assert self.offsets is not None, "read the split once first"
        found: dict[int, dict[str, Any]] = {}
        with self.path.open("rb") as handle:
            for index in sorted(set(indices)):
                handle.seek(self.offsets[index])
                try:
                    source = json.loads(handle.readline()).get("source")
                except (ValueError, AttributeError, RecursionError):
                    continue
                if isinstance(source, dict) and isinstance(source.get("file"), str):
                    found[index] = source
        return found

    def __len__(self) -> int:
        assert self.offsets is not None, "read the split once first"
        return len(self.offsets)


class Rows:
    """Texts (and labels) in memory with Split's interface: for callers that hold lists."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str] | None = None) -> None:
        self.texts = list(texts)
        self.labels = list(labels) if labels is not None else [""] * len(self.texts)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[str], list[str]]]:
        for start in range(0, len(self.texts), size):
            yield self.texts[start : start + size], self.labels[start : start + size]

    def text(self, index: int) -> str:
        return self.texts[index]

    def sources(self, indices: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {}

    def __len__(self) -> int:
        return len(self.texts)


def read_split(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of a prepared split, all in memory (small splits)."""
    texts, labels = [], []
    for chunk_texts, chunk_labels in Split(path).chunks():
        texts += chunk_texts
        labels += chunk_labels
    return texts, labels


# ---------------------------------------------------------------------------------------------
# Words, shingles, exact keys


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text).casefold())


def shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    if len(tokens) < SHINGLE_WORDS:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _exact_key(tokens: list[str]) -> int:
    """64 bits of the normalised text: equal texts, equal keys (a collision among a million rows
    has a probability of about 1e-8)."""
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest(), "little")


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads uint64 values over all bits (wraps on overflow, as meant)."""
    h = h ^ (h >> _U64(30))
    h = h * _MIX1
    h = h ^ (h >> _U64(27))
    h = h * _MIX2
    return h ^ (h >> _U64(31))


class Vocabulary:
    """Word ids, in order of first appearance: the same data gives the same ids on every run."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All rows' word ids end to end, and each row's word count."""
        ids = self.ids
        flat = [ids.setdefault(word, len(ids)) for tokens in token_lists for word in tokens]
        lengths = np.fromiter((len(tokens) for tokens in token_lists), dtype=np.int64, count=len(token_lists))
        return np.array(flat, dtype=np.uint64), lengths


def _grams(flat: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of each row's word n-grams (a row shorter than n: one gram of its words, padded), and
    each row's gram count (0 for a row without words)."""
    short = (lengths > 0) & (lengths < n)
    if short.any():  # pad short rows to n words: rebuild the flat array with padding ids
        pieces, start = [], 0
        for length in lengths.tolist():
            pieces.append(flat[start : start + length])
            if 0 < length < n:
                pieces.append(np.array(_PAD[: n - length], dtype=np.uint64))
            start += length
        flat = np.concatenate(pieces) if pieces else flat
        lengths = np.where(short, n, lengths)
    counts = np.where(lengths > 0, lengths - n + 1, 0)
    row_starts = np.cumsum(lengths) - lengths
    # The index of each gram's first word: row start + 0 .. count-1.
    gram_rows = np.repeat(np.arange(len(lengths)), counts)
    firsts = np.repeat(row_starts, counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    h = np.zeros(len(firsts), dtype=np.uint64)
    for k in range(n):
        h = h + _mix(flat[firsts + k] + _U64(k)) * _SHINGLE_MULTIPLIERS[k]
    del gram_rows
    return _mix(h), counts


# ---------------------------------------------------------------------------------------------
# Leakage: exact copies and near-duplicates (MinHash, LSH by bands, exact Jaccard at the end)


class MinHasher:
    def __init__(self, vocabulary: Vocabulary, num_perm: int = NUM_PERM, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        self.vocabulary = vocabulary
        self.a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * _U64(2) + _U64(1)  # odd
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self.band_multipliers = rng.integers(1, 2**63, size=ROWS_PER_BAND, dtype=np.uint64) * _U64(2) + _U64(
            1
        )

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(MinHash signatures (rows x NUM_PERM, uint32), exact keys (uint64), has-words mask)."""
        token_lists = [words(text) for text in texts]
        keys = np.array([_exact_key(tokens) for tokens in token_lists], dtype=np.uint64)
        flat, lengths = self.vocabulary.encode(token_lists)
        hashes, counts = _grams(flat, lengths, SHINGLE_WORDS)
        present = counts > 0
        signatures = np.full((len(texts), len(self.a)), np.iinfo(np.uint32).max, dtype=np.uint32)
        starts = (np.cumsum(counts) - counts)[present]
        if len(starts):
            for k in range(len(self.a)):  # multiply-shift hashing: the high 32 bits of a*h + b
                values = ((hashes * self.a[k] + self.b[k]) >> _U64(32)).astype(np.uint32)
                signatures[present, k] = np.minimum.reduceat(values, starts)
        return signatures, keys, present

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One uint64 per band and row: rows that agree on a band's ROWS_PER_BAND values share it."""
        banded = signatures.reshape(len(signatures), BANDS, ROWS_PER_BAND).astype(np.uint64)
        combined = (banded * self.band_multipliers).sum(axis=2, dtype=np.uint64)
        return _mix(combined + np.arange(BANDS, dtype=np.uint64))


class _TrainIndex:
    """The train split's signatures, exact keys and band buckets (sorted arrays, not dicts)."""

    def __init__(self, hasher: MinHasher, train) -> None:
        signatures, keys, bands = [], [], []
        for texts, _ in train.chunks():
            s, k, present = hasher.signatures(texts)
            b = hasher.band_keys(s)  # per chunk: the 64-bit temporaries stay chunk-sized
            b[~present] = 0  # rows without words are nobody's near-duplicate
            signatures.append(s)
            keys.append(k)
            bands.append(b)
        self.signatures = np.concatenate(signatures) if signatures else np.zeros((0, NUM_PERM), np.uint32)
        del signatures
        keys_all = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        bands_all = np.concatenate(bands) if bands else np.zeros((0, BANDS), np.uint64)
        del keys, bands
        self.rows = len(keys_all)
        self.key_order = np.argsort(keys_all, kind="stable")  # equal keys: the first row first
        self.sorted_keys = keys_all[self.key_order]
        del keys_all
        self.band_order, self.band_sorted = [], []
        for b in range(BANDS):
            column = np.ascontiguousarray(bands_all[:, b])
            order = np.argsort(column, kind="stable")
            self.band_order.append(order)
            self.band_sorted.append(column[order])

    def exact(self, keys: np.ndarray) -> np.ndarray:
        """The first train row with each key, or -1."""
        where = np.searchsorted(self.sorted_keys, keys)
        found = where < len(self.sorted_keys)
        found[found] = self.sorted_keys[where[found]] == keys[found]
        rows = np.full(len(keys), -1, dtype=np.int64)
        rows[found] = self.key_order[where[found]]
        return rows

    def candidates(self, bands: np.ndarray, queried: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, train row) pairs sharing at least one band, each pair once."""
        pairs_q, pairs_t = [], []
        rows = np.nonzero(queried)[0]
        for b in range(BANDS):
            sorted_b = self.band_sorted[b]
            low = np.searchsorted(sorted_b, bands[rows, b], side="left")
            high = np.searchsorted(sorted_b, bands[rows, b], side="right")
            size = np.minimum(high - low, BUCKET_CAP)
            total = int(size.sum())
            if not total:
                continue
            within = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
            pairs_q.append(np.repeat(rows, size))
            pairs_t.append(self.band_order[b][np.repeat(low, size) + within])
        if not pairs_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        joined = np.unique(np.concatenate(pairs_q) * self.rows + np.concatenate(pairs_t))
        return joined // self.rows, joined % self.rows


def near_duplicates(train, test) -> dict[str, Any]:
    """Test rows that are train rows after normalisation (exact) or nearly (near), 1-based rows.

    `train` and `test` are Split or Rows: read in chunks; memory grows with the train rows by a
    signature (NUM_PERM x 4 bytes), its band keys and an offset each."""
    started = time.perf_counter()
    vocabulary = Vocabulary()
    hasher = MinHasher(vocabulary)
    index = _TrainIndex(hasher, train)
    exact, near = [], []
    checked = test_rows = 0
    for texts, _ in test.chunks(QUERY_ROWS):
        signatures, keys, present = hasher.signatures(texts)
        copies = index.exact(keys) if len(index.sorted_keys) else np.full(len(texts), -1)
        for offset in np.nonzero(copies >= 0)[0].tolist():
            exact.append({"test_row": test_rows + offset + 1, "train_row": int(copies[offset]) + 1})
        queried = present & (copies < 0)
        query_rows, train_rows = index.candidates(hasher.band_keys(signatures), queried)
        if len(query_rows):
            estimates = (signatures[query_rows] == index.signatures[train_rows]).mean(axis=1)
            keep = estimates >= NEAR_DUPLICATE_JACCARD - ESTIMATE_MARGIN
            query_rows, train_rows, estimates = query_rows[keep], train_rows[keep], estimates[keep]
            order = np.lexsort((train_rows, -estimates, query_rows))
            query_rows, train_rows = query_rows[order], train_rows[order]
            firsts = np.searchsorted(query_rows, query_rows, side="left")
            rank = np.arange(len(query_rows)) - firsts
            take = rank < VERIFY_TOP
            best: dict[int, tuple[float, int]] = {}
            grams_of: dict[int, set] = {}
            for q, t in zip(query_rows[take].tolist(), train_rows[take].tolist(), strict=True):
                if q not in grams_of:
                    grams_of[q] = shingles(words(texts[q]))
                similarity = jaccard(grams_of[q], shingles(words(train.text(t))))
                checked += 1
                if similarity >= NEAR_DUPLICATE_JACCARD and (similarity, -t) > best.get(q, (0.0, 0)):
                    best[q] = (similarity, -t)
            for q in sorted(best):
                similarity, t = best[q]
                near.append(
                    {"test_row": test_rows + q + 1, "train_row": -t + 1, "jaccard": round(similarity, 3)}
                )
        test_rows += len(texts)
    return {
        "exact": exact,
        "near": near,
        "test_rows": test_rows,
        "train_rows": index.rows,
        "threshold": NEAR_DUPLICATE_JACCARD,
        "method": f"MinHash {NUM_PERM}, LSH {BANDS} bands x {ROWS_PER_BAND}, exact Jaccard of the best",
        "pairs_checked_exactly": checked,
        "seconds": round(time.perf_counter() - started, 2),
    }


def leakage(train: list[str], test: list[str]) -> dict[str, Any]:
    """near_duplicates on texts held in lists."""
    return near_duplicates(Rows(train), Rows(test))


# ---------------------------------------------------------------------------------------------
# Label errors


def label_issues(
    labels: list[str], given: list[str], probabilities: list[list[float]]
) -> list[dict[str, Any]]:
    """Rows whose confidently-predicted class is not their label (the "confident learning" filter,
    section 3.1), most suspicious first (lowest probability of the given label)."""
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


def prune_by_noise_rate(given: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confident learning's prune-by-noise-rate (section 3.2): a mask of the suspected rows and, for
    each row, the class its removal was counted for (the likely label).

    `given`: each row's class index; `probabilities`: out-of-fold, rows x classes."""
    rows, classes = probabilities.shape
    counts = np.bincount(given, minlength=classes)
    own = probabilities[np.arange(rows), given]
    thresholds = np.array(
        [own[given == j].mean() if counts[j] else 2.0 for j in range(classes)]  # 2.0: never confident
    )
    confident = probabilities >= thresholds
    likely = np.where(confident, probabilities, -1.0).argmax(axis=1)
    has = confident.any(axis=1)
    joint = np.zeros((classes, classes))
    np.add.at(joint, (given[has], likely[has]), 1)
    # Calibrated: each given class's row of the joint sums to that class's count.
    calibrated = joint / np.maximum(joint.sum(axis=1, keepdims=True), 1) * counts[:, None]
    flagged = np.zeros(rows, dtype=bool)
    suggested = likely.copy()
    for i in range(classes):
        members = np.nonzero(given == i)[0]
        for j in range(classes):
            remove = round(float(calibrated[i, j])) if i != j else 0
            if not remove:
                continue
            margin = probabilities[members, j] - probabilities[members, i]
            chosen = members[np.argsort(-margin, kind="stable")[:remove]]
            fresh = chosen[~flagged[chosen]]
            flagged[fresh] = True
            suggested[fresh] = j
    return flagged, suggested


def _binary_grams(vocabulary: Vocabulary, texts: list[str]):
    """Rows x NB_FEATURES binary matrix of each text's word 1- and 2-grams (hashed)."""
    from scipy import sparse

    flat, lengths = vocabulary.encode([words(text) for text in texts])
    columns, rows = [], []
    for n in (1, 2):
        hashes, counts = _grams(flat, lengths, n)
        columns.append((hashes % _U64(NB_FEATURES)).astype(np.int64))
        rows.append(np.repeat(np.arange(len(texts)), counts))
    matrix = sparse.csr_matrix(
        (
            np.ones(sum(len(c) for c in columns), dtype=np.float32),
            (np.concatenate(rows), np.concatenate(columns)),
        ),
        shape=(len(texts), NB_FEATURES),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _fold_counts(matrix, given: np.ndarray, fold: np.ndarray, classes: int, folds: int, counts: list) -> list:
    """`counts` (each fold's classes x NB_FEATURES feature counts, sparse: only the features seen)
    plus this chunk's rows: one indicator product per fold, whatever the number of classes."""
    from scipy import sparse

    out = []
    for k in range(folds):
        selected = np.nonzero(fold == k)[0]
        indicator = sparse.csr_matrix(
            (np.ones(len(selected)), (given[selected], np.arange(len(selected)))),
            shape=(classes, len(selected)),
        )
        part = (indicator @ matrix[selected]).tocsr()
        out.append(part if counts[k] is None else counts[k] + part)
    return out


def _score_rows(matrix, fitted, totals: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Naive Bayes scores of `matrix`'s rows (float32 log likelihoods, as a dense classes x
    NB_FEATURES weight matrix would give them, plus the log prior), with the weights of only the
    features these rows hold: rows in blocks of at most SCORE_BLOCK_CELLS features x classes.
    `fitted`: the fold model's class feature counts (sparse, CSC), `totals` each class's sum of
    its counts plus NB_ALPHA on every feature."""
    classes = fitted.shape[0]
    scores = np.empty((matrix.shape[0], classes), dtype=np.float64)
    ends = np.cumsum(np.diff(matrix.indptr))
    start = 0
    while start < matrix.shape[0]:
        budget = (ends[start - 1] if start else 0) + max(SCORE_BLOCK_CELLS // classes, 1)
        stop = max(int(np.searchsorted(ends, budget, side="right")), start + 1)
        block = matrix[start:stop]
        columns = np.unique(block.indices)
        weights = np.log((fitted[:, columns].toarray() + NB_ALPHA) / totals[:, None]).T.astype(np.float32)
        local = type(block)(
            (block.data, np.searchsorted(columns, block.indices), block.indptr),
            shape=(block.shape[0], len(columns)),
        )
        scores[start:stop] = local @ weights + prior
        start = stop
    return scores


def out_of_fold_scores(
    sources: Sequence, labels: list[str], folds: int = FOLDS, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(each row's class index, its out-of-fold class scores: log prior + log likelihood, up to a
    constant per row), rows of `sources` in order.

    Multinomial naive Bayes per fold from class feature counts: counts add up, so one pass counts
    every fold's rows and each fold's model is the total minus the fold. A second pass scores each
    row with the model of the folds it is not in. Memory: the counts are sparse (the features each
    class was seen with: at most the rows' 1- and 2-grams, whatever the number of classes), the
    weights are made per block of rows for the features in it, and the scores are rows x classes;
    more than MAX_SCORE_CELLS of those are refused before they are made."""
    column = {label: j for j, label in enumerate(labels)}
    vocabulary = Vocabulary()
    counts: list = [None] * folds
    given_parts, fold_parts = [], []
    rng = np.random.default_rng(seed)
    for source in sources:
        for texts, chunk_labels in source.chunks():
            unknown = sorted(set(chunk_labels) - set(column))
            if unknown:
                raise DataCheckError(f"labels {unknown} are not in labels.json {labels}; rerun prepare")
            given = np.array([column[label] for label in chunk_labels], dtype=np.int64)
            fold = rng.integers(0, folds, size=len(texts))
            counts = _fold_counts(_binary_grams(vocabulary, texts), given, fold, len(labels), folds, counts)
            given_parts.append(given)
            fold_parts.append(fold)
    given_all = np.concatenate(given_parts) if given_parts else np.zeros(0, np.int64)
    fold_all = np.concatenate(fold_parts) if fold_parts else np.zeros(0, np.int64)
    del given_parts, fold_parts
    _check_score_size(len(given_all), len(labels))
    scores = np.zeros((len(given_all), len(labels)), dtype=np.float64)
    if not len(given_all):
        return given_all, scores
    total = sum(counts[1:], counts[0])
    models = []
    for k in range(folds):
        fitted = (total - counts[k]).tocsc()
        class_rows = np.bincount(given_all[fold_all != k], minlength=len(labels))
        models.append(
            (
                fitted,
                np.asarray(fitted.sum(axis=1)).ravel() + NB_ALPHA * NB_FEATURES,
                np.log(np.maximum(class_rows, 1) / max(class_rows.sum(), 1)),
            )
        )
    del counts, total
    start = 0
    for source in sources:
        for texts, _ in source.chunks():
            matrix = _binary_grams(vocabulary, texts)
            fold = fold_all[start : start + len(texts)]
            for k in range(folds):
                selected = np.nonzero(fold == k)[0]
                if len(selected):
                    scores[start + selected] = _score_rows(matrix[selected], *models[k])
            start += len(texts)
    return given_all, scores


def _check_score_size(rows: int, classes: int) -> None:
    """Refuse, naming the figures, a label-error check whose rows x classes scores would not fit."""
    if rows * classes <= MAX_SCORE_CELLS:
        return
    need = rows * classes * 8 * SCORE_COPIES / 2**30
    bound = MAX_SCORE_CELLS * 8 * SCORE_COPIES / 2**30
    raise DataCheckError(
        f"data checks: {rows} rows x {classes} classes need ~{need:.1f} GiB for the label-error "
        f"check's class scores, more than its bound of {bound:.1f} GiB ({MAX_SCORE_CELLS} rows x "
        "classes); merge rare classes in params.yaml's data.labels, or review the data in parts"
    )


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Rows of class probabilities from rows of scores divided by `temperature`."""
    scaled = scores / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def out_of_fold_probabilities(
    sources: Sequence, labels: list[str], folds: int = FOLDS, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(each row's class index, its out-of-fold naive Bayes probabilities, not calibrated)."""
    given, scores = out_of_fold_scores(sources, labels, folds, seed)
    return given, softmax(scores)


def _mean_nll(scores: np.ndarray, given: np.ndarray, inverse: float, noise: float) -> float:
    """Mean negative log-likelihood of the given labels when the true class follows
    softmax(scores x inverse) and a share `noise` of the labels was changed to another class at
    random: p(given) = (1 - noise) p + noise (1 - p) / (classes - 1)."""
    own = softmax(scores, 1.0 / inverse)[np.arange(len(given)), given]
    likelihood = (1.0 - noise) * own + noise * (1.0 - own) / (scores.shape[1] - 1)
    return float(-np.log(np.maximum(likelihood, 1e-300)).mean())


def _golden_minimum(function, low: float, high: float, steps: int = 40) -> float:
    """The minimum of a unimodal function on [low, high] by golden-section search."""
    ratio = (np.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = function(a), function(b)
    for _ in range(steps):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = function(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = function(b)
    return (low + high) / 2


def fit_calibration(
    scores: np.ndarray, given: np.ndarray, rounds: int = CALIBRATION_ROUNDS, seed: int = SEED
) -> tuple[float, float]:
    """(temperature, noise): temperature scaling (Guo et al. 2017) fitted by maximum likelihood of
    the given labels, with the labels' noise as a second parameter: a share `noise` of the labels
    changed to another class at random (confident learning's class-conditional noise, uniform
    across classes). Without it, the flipped labels themselves would be fitted by softening every
    probability (a larger T), until no flipped row looks unlikely. Coordinate descent, each step a
    golden-section search (the likelihood is concave in the noise, and in 1/T for a fixed noise
    share of 0); on at most CALIBRATION_ROWS rows, seeded. (1.0, 0.0) for no rows or one class."""
    if not len(given) or scores.shape[1] < 2:
        return 1.0, 0.0
    if len(given) > CALIBRATION_ROWS:
        rows = np.random.default_rng(seed).choice(len(given), CALIBRATION_ROWS, replace=False)
        scores, given = scores[rows], given[rows]
    noise = 0.0
    inverse = _golden_minimum(lambda b: _mean_nll(scores, given, b, noise), 1e-4, 4.0)
    for _ in range(rounds):
        noise = _golden_minimum(lambda e, b=inverse: _mean_nll(scores, given, b, e), 0.0, 0.5)
        inverse = _golden_minimum(lambda b, e=noise: _mean_nll(scores, given, b, e), 1e-4, 4.0)
    return 1.0 / inverse, noise


def find_label_issues(
    given: np.ndarray, probabilities: np.ndarray, max_p_given: float = MAX_P_GIVEN
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the suspected rows, each row's likely label, the rows left out as merely hard), masks but
    the labels. Prune by noise rate, less the rows whose predicted class is their given label
    (cleanlab's last step); of the rest, the rows the model gives their label `max_p_given` or more
    (on calibrated probabilities: rows the check model finds hard) are counted, not flagged."""
    pruned, suggested = prune_by_noise_rate(given, probabilities)
    pruned &= probabilities.argmax(axis=1) != given
    flagged = pruned & (probabilities[np.arange(len(given)), given] < max_p_given)
    return flagged, suggested, pruned & ~flagged


def normalized_margin(given: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """p(given label) - the largest other class's p, per row: below 0 the model prefers another
    class; the lowest first is cleanlab's "normalized_margin" ranking."""
    rows = np.arange(len(given))
    own = probabilities[rows, given]
    others = probabilities.copy()
    others[rows, given] = -np.inf
    return own - others.max(axis=1)


def whole_dataset_label_issues(splits: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """Suspected label errors in every split: out-of-fold naive Bayes scores, calibrated by
    temperature scaling, confident learning's prune by noise rate, ranked by normalised margin."""
    started = time.perf_counter()
    names = list(splits)
    given, scores = out_of_fold_scores([splits[name] for name in names], labels)
    temperature, noise = fit_calibration(scores, given)
    probabilities = softmax(scores, temperature) if len(given) else scores
    del scores
    sizes = [len(splits[name]) for name in names]
    nothing = np.zeros(0, bool)
    flagged, suggested, hard = (
        find_label_issues(given, probabilities) if len(given) else (nothing, given, nothing)
    )
    rows = np.nonzero(flagged)[0]
    own = probabilities[rows, given[rows]]
    margins = normalized_margin(given[rows], probabilities[rows])
    issues = []
    bounds = np.cumsum([0, *sizes])
    for place, index in enumerate(rows.tolist()):
        split = int(np.searchsorted(bounds, index, side="right")) - 1
        issues.append(
            {
                "split": names[split],
                "row": index - int(bounds[split]) + 1,
                "given": labels[given[index]],
                "suggested": labels[suggested[index]],
                "p_given": round(float(own[place]), 4),
                "p_suggested": round(float(probabilities[index, suggested[index]]), 4),
                "margin": round(float(margins[place]), 4),
            }
        )
    issues.sort(
        key=lambda issue: (
            issue["margin"],
            SPLIT_NAMES.index(issue["split"]) if issue["split"] in SPLIT_NAMES else 9,
            issue["row"],
        )
    )
    accuracy = float((probabilities.argmax(axis=1) == given).mean()) if len(given) else 0.0
    return {
        "issues": issues,
        "rows": dict(zip(names, sizes, strict=True)),
        "method": (
            f"out-of-fold naive Bayes ({FOLDS} folds, word 1- and 2-grams; {accuracy:.0%} of the rows "
            f"get their label), calibrated by temperature with label noise (T {temperature:.2f}; "
            f"noise estimated {noise:.1%}), confident learning's prune by noise rate, only rows it "
            f"gives their label p < {MAX_P_GIVEN:g}"
        ),
        "out_of_fold_accuracy": round(accuracy, 4),
        # Rows prune by noise rate picked that the model gives their label p >= MAX_P_GIVEN: many
        # of them mean a weak check model, or more wrong labels than it can single out.
        "hard_rows_not_flagged": int(hard.sum()),
        "temperature": round(temperature, 4),
        # The calibration's estimate of the share of labels changed at random (a figure of the
        # whole data set, not of the rows listed).
        "estimated_noise": round(noise, 4),
        "max_p_given": MAX_P_GIVEN,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _labels_of(prepared_dir: Path) -> list[str]:
    path = prepared_dir / "labels.json"
    # Bounded, and never a device or pipe: a link to /dev/zero filled memory, a FIFO blocked. An empty
    # file or one saved with a byte order mark is named as such (atomic.json_refusal).
    labels = atomic.read_json_object(path, DataCheckError, "rerun the prepare stage (dvc repro)").get(
        "labels"
    )
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise DataCheckError(f'{path}: expected {{"labels": ["...", ...]}}; rerun the prepare stage')
    return labels


def _class_prior_psi(data: dict[str, Any] | None, base: dict[str, Any] | None, base_ref: str) -> float | None:
    """The train split's class mix against the base's; None only when the base has none (a first
    PR): this workspace's own counts missing is a check that could not run, never a pass."""
    new = _class_counts(data, str(DATA_METRICS_FILE), "run the prepare stage again (dvc repro)")
    if not new:
        raise DataCheckError(
            f"{DATA_METRICS_FILE}: no class counts of the train split; run the prepare stage (dvc repro)"
        )
    old = _class_counts(base, f"{base_ref}:{DATA_METRICS_FILE}", _base_remedy(base_ref))
    if not old:
        return None
    labels = sorted(set(new) | set(old))
    return round(psi([old.get(label, 0) for label in labels], [new.get(label, 0) for label in labels]), 4)


def _whole(value: Any) -> bool:
    """A count as the pipeline writes one: a whole number >= 0 (JSON's true is no count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _class_counts(data: dict[str, Any] | None, where: str, remedy: str) -> dict[str, int]:
    """data.json's classes.train ({} when absent), or DataCheckError naming the entry that is no count:
    a string or null there was a TypeError from the PSI, and the gate's data rules a traceback."""
    classes = (data or {}).get("classes")
    if classes is None:
        return {}
    if not isinstance(classes, dict):
        raise DataCheckError(f"{where}: classes must map each split to counts per class; {remedy}")
    train = classes.get("train")
    if train is None or train == {}:
        return {}
    if not isinstance(train, dict):
        raise DataCheckError(f"{where}: classes.train must map each class to its count; {remedy}")
    for label, count in train.items():
        if not _whole(count):
            raise DataCheckError(
                f"{where}: classes.train.{label}: {_brief(count)} is not a count (a whole number >= 0); "
                f"{remedy}"
            )
    if not sum(train.values()):
        raise DataCheckError(f"{where}: classes.train counts are all 0 (a split of no rows); {remedy}")
    return train


def _base_remedy(base_ref: str) -> str:
    """What to do about a base's committed metrics file of a shape the pipeline never writes."""
    return (
        f"the pipeline writes no such file: run it on {base_ref} (dvc repro) and commit what it writes, "
        "or compare with another base (--base)"
    )


def _brief(value: Any) -> str:
    shown = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return shown if len(shown) <= 40 else shown[:40] + "..."


def _length_psi(
    test_lengths: list[int], base_reference: dict[str, Any] | None, base_ref: str
) -> float | None:
    """The test split's text lengths against the base's reference (None: the base has none, or one
    of other bins, another textclf version's). A damaged reference is a DataCheckError
    naming the key: counts holding a string were a TypeError, a list for length_chars an
    AttributeError, and counts of the wrong length, all 0 or a dict read as "no reference yet" (R14A-4)."""
    if base_reference is None:
        return None
    where, remedy = f"{base_ref}:{REFERENCE_FILE}", _base_remedy(base_ref)
    part = base_reference.get("length_chars")
    if not isinstance(part, dict):
        raise DataCheckError(
            f"{where}: length_chars must be an object of lower_bounds and counts, not {_brief(part)}; "
            f"{remedy}"
        )
    bounds, counts = part.get("lower_bounds"), part.get("counts")
    if not (isinstance(bounds, list) and bounds and all(isinstance(b, int | float) for b in bounds)):
        raise DataCheckError(
            f"{where}: length_chars.lower_bounds must be a list of numbers, not {_brief(bounds)}; {remedy}"
        )
    if tuple(bounds) != LENGTH_BOUNDS or any(isinstance(b, bool) for b in bounds):
        return None  # another version's bins: no comparison, as with no reference
    if not (isinstance(counts, list) and len(counts) == len(bounds) and all(map(_whole, counts))):
        raise DataCheckError(
            f"{where}: length_chars.counts must hold one count per bin ({len(bounds)}), each a whole number "
            f">= 0, not {_brief(counts)}; {remedy}"
        )
    if not sum(counts):
        raise DataCheckError(f"{where}: length_chars.counts are all 0 (a reference of no rows); {remedy}")
    try:
        return round(psi(counts, histogram(test_lengths, LENGTH_BOUNDS)), 4)
    except DriftError:  # no test rows
        return None


def attach_sources(splits: dict[str, Any], issues: list[dict[str, Any]], leaks: dict[str, Any]) -> None:
    """Each flagged row's place in the raw data (`source`: file, row, line), as prepare recorded it."""
    for name, split in splits.items():
        mine = [issue for issue in issues if issue["split"] == name]
        found = split.sources(issue["row"] - 1 for issue in mine)
        for issue in mine:
            issue["source"] = found.get(issue["row"] - 1)
    pairs = leaks["exact"] + leaks["near"]
    tests = splits["test"].sources(leak["test_row"] - 1 for leak in pairs)
    trains = splits["train"].sources(leak["train_row"] - 1 for leak in pairs)
    for leak in pairs:
        leak["source"] = tests.get(leak["test_row"] - 1)
        leak["train_source"] = trains.get(leak["train_row"] - 1)


def heldout_opinion(
    issues: list[dict[str, Any]],
    labels: list[str],
    test_rows: int,
    path: Path,
    labels_file: Path = Path("labels.json"),
) -> dict | None:
    """Of the flagged test rows, how many the fine-tuned model (evaluate's held-out probabilities)
    gives their given label: flags it agrees with are likely the check model's own mistakes. None
    when there is nothing to compare (no file, or no flagged test row). A file that is not the
    evaluate stage's for this test split and these classes gives no opinion but `problem`, naming
    the file, line and column, for the report to show (flags or not): it is never read as if it were."""
    flagged = {issue["row"]: issue["given"] for issue in issues if issue["split"] == "test"}
    if not path.is_file():
        return None
    try:
        agrees = _heldout_agreement(path, labels, flagged, test_rows, labels_file)
    except _HeldoutProblem as problem:
        return {"problem": f"{path}: {problem}"}
    return {"test_flags": len(flagged), "fine_tuned_gives_given_label": agrees} if flagged else None


class _HeldoutProblem(ValueError):
    """Why the held-out probabilities file cannot be read as this test split's (without the file's name)."""


# Each row's probabilities sum to 1, give or take float32 and evaluate's rounding to 6 decimals
# (at most 5e-7 a class, added to this).
_SUM_TOLERANCE = 1e-3


def _heldout_agreement(
    path: Path, labels: list[str], flagged: dict[int, str], test_rows: int, labels_file: Path
) -> int:
    """How many flagged test rows the file's probabilities give their given label, reading the class
    columns by name (the header names each column's class, whatever their order); else
    _HeldoutProblem. The file is evaluate's, written for every test row in order: `row` (1, 2, ...)
    then one probability per class of labels.json."""
    rerun = "run `dvc repro evaluate` instead of editing the file"
    agrees = rows = 0
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            columns = _heldout_columns(header, labels, labels_file, rerun)
            starts_on = reader.line_num + 1
            for rows, record in enumerate(reader, start=1):
                where = f"line {starts_on} (test row {rows})"
                if reader.line_num != starts_on:
                    # Evaluate writes one line a row: a record running over several lines has a
                    # quote that is not closed on its own line (csv reads on to the next quote).
                    raise _HeldoutProblem(
                        f"{where}: a quote opened on this line runs to line {reader.line_num}; {rerun}"
                    )
                starts_on = reader.line_num + 1
                if len(record) != len(columns) + 1:
                    raise _HeldoutProblem(
                        f"{where} has {len(record)} fields, the header {len(columns) + 1}; {rerun}"
                    )
                if record[0].strip() != str(rows):
                    raise _HeldoutProblem(
                        f"{where}: row is {record[0][:20]!r}, not {rows} (the test rows in order, from 1); "
                        f"{rerun}"
                    )
                scores = {label: _probability(record[index], label, where, rerun) for label, index in columns}
                if abs(sum(scores.values()) - 1) > _SUM_TOLERANCE + 5e-7 * len(columns):
                    raise _HeldoutProblem(
                        f"{where}: the probabilities sum to {sum(scores.values()):.4g}, not 1; {rerun}"
                    )
                if rows in flagged:
                    agrees += max(labels, key=scores.__getitem__) == flagged[rows]
    except OSError as error:
        raise _HeldoutProblem(f"cannot be read ({error.strerror or error}); {rerun}") from None
    except UnicodeDecodeError:
        raise _HeldoutProblem(f"not UTF-8 text; {rerun}") from None
    except csv.Error as error:
        raise _HeldoutProblem(f"not a CSV file ({error}); {rerun}") from None
    if rows != test_rows:
        # The probabilities of another test split: evaluate has not run on this one.
        raise _HeldoutProblem(
            f"{rows} row{'' if rows == 1 else 's'} of probabilities, but the test split has {test_rows}: "
            "they are of another test split; run `dvc repro evaluate`"
        )
    return agrees


def _heldout_columns(
    header: list[str] | None, labels: list[str], labels_file: Path, rerun: str
) -> list[tuple[str, int]]:
    """(class, column index) for each class of labels.json, by the header's names."""
    if not header:
        raise _HeldoutProblem(f"empty (no header `row,<class>,...`); {rerun}")
    if header[0] != "row":
        raise _HeldoutProblem(f"the first column is {header[0][:40]!r}, not `row`; {rerun}")
    classes = header[1:]
    twice = sorted({name for name in classes if classes.count(name) > 1})
    extra = [name for name in classes if name not in labels]
    missing = [label for label in labels if label not in classes]
    if twice or extra or missing:
        said = "; ".join(
            part
            for part in (
                f"columns named twice: {_shown(twice)}" if twice else "",
                f"columns of classes {labels_file} does not have: {_shown(extra)}" if extra else "",
                f"no column for {labels_file}'s classes {_shown(missing)}" if missing else "",
            )
            if part
        )
        raise _HeldoutProblem(
            f"its class columns are not {labels_file}'s classes ({said}): the probabilities are of a "
            "model of other classes; run `dvc repro evaluate`"
        )
    return [(label, classes.index(label) + 1) for label in labels]


def _probability(value: str, label: str, where: str, rerun: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 1:  # NaN, infinities, negatives, above 1, not a number
        raise _HeldoutProblem(
            f"{where}, column {label[:40]!r}: {value[:20]!r} is not a probability (a number from 0 to 1); "
            f"{rerun}"
        )
    return number


def _shown(names: list[str], limit: int = 5) -> str:
    listed = [name[:40] for name in names[:limit]]
    return repr(listed)[:-1] + (f", and {len(names) - limit} more]" if len(names) > limit else "]")


def run(
    prepared_dir: Path, base_ref: str = "main", heldout_file: Path = HELDOUT_FILE, compare: bool = True
) -> dict[str, Any]:
    """Every check on this workspace's prepared data, against `base_ref`. The splits are streamed,
    so the texts are never all held: memory grows with the rows by a few hundred bytes each, with
    the label-error check's rows x classes scores (bounded by MAX_SCORE_CELLS), and with the
    distinct words (a Vocabulary entry, 100 to 160 bytes, for each word the data holds). Natural text
    reuses its words (6 million words from a 50,000-word vocabulary: about 400 MB); data full of
    unique tokens (ids, hashes, URLs) needs the most (6 million distinct words: about 950 MB).
    `compare` False (a new task: the base holds another task's data) leaves the shifts against the
    base out. Running out of memory is a DataCheckError too (the checks did not run), never a
    traceback."""
    try:
        return _run(prepared_dir, base_ref, heldout_file, compare)
    except MemoryError as error:
        raise DataCheckError(
            f"data checks: out of memory ({error or 'no detail'}) on the data in {prepared_dir}; run "
            "them where more memory is free, or review the data in parts"
        ) from None


def _run(prepared_dir: Path, base_ref: str, heldout_file: Path, compare: bool) -> dict[str, Any]:
    labels = _labels_of(prepared_dir)
    splits = {name: Split(prepared_dir / f"{name}.jsonl") for name in SPLIT_NAMES}
    leaks = near_duplicates(splits["train"], splits["test"])
    test_lengths = [len(text) for texts, _ in splits["test"].chunks() for text in texts]
    issues = whole_dataset_label_issues(splits, labels)
    attach_sources(splits, issues["issues"], leaks)
    issues["heldout"] = heldout_opinion(
        issues["issues"], labels, leaks["test_rows"], heldout_file, prepared_dir / "labels.json"
    )
    # Read as the report reads it: an empty file was a JSONDecodeError traceback from the gate.
    data = (
        atomic.read_json_object(DATA_METRICS_FILE, DataCheckError, "run the prepare stage (dvc repro)")
        if DATA_METRICS_FILE.exists()
        else None
    )
    return {
        "base_ref": base_ref,
        "class_prior_psi": _class_prior_psi(
            data, committed_json(base_ref, DATA_METRICS_FILE) if compare else None, base_ref
        ),
        "length_psi": _length_psi(
            test_lengths,
            committed_json(base_ref, REFERENCE_FILE) if compare else None,
            base_ref,
        ),
        "leakage": leaks,
        "label_issues": issues,
        "test_rows": leaks["test_rows"],
    }


# ---------------------------------------------------------------------------------------------
# Optional gate rules (review.data_gate in params.yaml)


def _leaked_rows(checks: dict[str, Any]) -> int:
    leaks = checks["leakage"]
    return len({leak["test_row"] for leak in leaks["exact"] + leaks["near"]})


def _label_issue_share(checks: dict[str, Any]) -> float:
    found = checks["label_issues"]
    rows = sum(found["rows"].values())
    # Unrounded: rounded to 4 decimals, 0.05004 passed a rule of 0.05 (R13A-7).
    return len(found["issues"]) / rows if rows else 0.0


# Each rule's figure, and what a failed rule says (value, bound, rule, file, base filled in).
_RULES: dict[str, tuple[Any, str]] = {
    "max_label_issue_share": (
        _label_issue_share,
        "{value:.1%} of the rows are suspected label errors, more than {rule} = {bound:g}: check them "
        "({file}, raw file and row) and fix their labels, or raise the rule",
    ),
    "max_leaked_test_rows": (
        _leaked_rows,
        "{value} test rows are (nearly) in train, more than {rule} = {bound}: remove the copies from the "
        "raw data ({file} names them), or raise the rule",
    ),
    "max_class_prior_psi": (
        # None when the base has no class counts (a first PR, a new task): nothing moved.
        lambda checks: checks["class_prior_psi"],
        "the train split's class mix moved by PSI {value:.3f} against {base}, more than {rule} = "
        "{bound:g}: if the new mix is intended, raise the rule for this PR",
    ),
}


def gate_checks(checks: dict[str, Any] | str | None, rules: DataGateParams) -> list[dict[str, Any]]:
    """The gate's checks for the data rules that are set: value, bound, passed, and what to do."""
    out = []
    for key, bound in rules.model_dump().items():
        if bound is None:
            continue
        rule = f"review.data_gate.{key}"
        check: dict[str, Any] = {"check": f"data: {key}", "value": None, "op": "<=", "bound": bound}
        if not isinstance(checks, dict):
            check |= {
                "passed": False,
                "problem": f"{rule} is set but the data checks did not run ({checks or 'no result'}): "
                "fix what that says, or unset the rule",
            }
        else:
            figure, message = _RULES[key]
            value = figure(checks)
            check |= {"value": value, "passed": value is None or value <= bound}
            if not check["passed"]:
                check["problem"] = message.format(
                    value=value, bound=bound, rule=rule, file=FLAGGED_FILE, base=code(checks["base_ref"])
                )
        out.append(check | {"rule": rule})
    return out


# ---------------------------------------------------------------------------------------------
# The full list of flagged rows (a CSV the workflow uploads; no text)


def _source_cells(source: dict[str, Any] | None) -> list[Any]:
    source = source or {}
    return [source.get("file", ""), source.get("row", ""), source.get("line", "")]


# Labels and file names come from the data, and reviewers open this file in a spreadsheet, which
# runs a cell starting with = + - @, a tab or a carriage return as a formula (OWASP, "CSV
# Injection"): such a text cell gets a leading ' and is shown as written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: Any) -> Any:
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


class _InertWriter:
    """csv.writer whose text cells a spreadsheet shows and never runs, one record a row.

    csv's minimal quoting quotes a cell holding the delimiter, the quote or a character of the line
    terminator, here "\n" only, so a carriage return inside a cell (a raw file's name may hold one)
    went out bare and a reader split the row there (RFC 4180, section 2: a field holding a line break
    must be quoted). A row holding one has its text cells quoted."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\n")
        self._quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row: list[Any]) -> None:
        cells = [_inert(cell) for cell in row]
        breaks = any(isinstance(cell, str) and "\r" in cell for cell in cells)
        (self._quoted if breaks else self._writer).writerow(cells)


def flagged_rows_csv(checks: dict[str, Any]) -> str:
    """Every flagged row: leaks first, then suspected label errors, most suspicious first."""
    buffer = io.StringIO()
    writer = _InertWriter(buffer)
    writer.writerow(FLAGGED_COLUMNS)
    leaks = checks["leakage"]
    for kind in ("exact", "near"):
        for leak in leaks[kind]:
            writer.writerow(
                [
                    f"{kind}_copy_of_train",
                    "test",
                    leak["test_row"],
                    *_source_cells(leak.get("source")),
                    "",
                    "",
                    "",
                    "",
                    leak["train_row"],
                    *_source_cells(leak.get("train_source"))[:2],
                    leak.get("jaccard", 1.0),
                ]
            )
    for issue in checks["label_issues"]["issues"]:
        writer.writerow(
            [
                "label_error",
                issue["split"],
                issue["row"],
                *_source_cells(issue.get("source")),
                issue["given"],
                issue["suggested"],
                issue["p_given"],
                issue["p_suggested"],
                "",
                "",
                "",
                "",
            ]
        )
    return buffer.getvalue()


def write_flagged(checks: dict[str, Any], path: Path = FLAGGED_FILE) -> Path:
    return atomic.write_text(path, flagged_rows_csv(checks))


# ---------------------------------------------------------------------------------------------
# The report section (markdown; numbers and row numbers only)


def _rows(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:ROWS_LISTED])
    return shown + (f" and {len(numbers) - ROWS_LISTED} more" if len(numbers) > ROWS_LISTED else "")


def code(text: object, in_table: bool = False) -> str:
    """`text` (a file name, a git ref) as an inline code span nothing in it can close, so it is shown,
    never rendered: no @mentions, emphasis, links or HTML from a name. A span ends at a backtick run
    as long as its fence (CommonMark, "Code spans"), so the fence is one longer than any run inside
    (release.retrain's _fenced rule); a space pads a name that starts or ends with a backtick. Line
    breaks become spaces (a blank line would end the paragraph inside the span), and in a table
    cell a | is escaped: GitHub splits cells at it even inside code."""
    value = re.sub(r"[\r\n]+", " ", str(text))
    if in_table:
        value = value.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    ends = value[:1] + value[-1:]
    pad = " " if "`" in ends or (ends == "  " and value.strip()) else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _places(items: list[dict[str, Any]], prepared: str) -> str:
    """Where flagged rows are in the raw data (`file` rows ...), in order, the first ROWS_LISTED;
    rows prepared without a source by their line in the prepared split."""
    by_file: dict[str, list[int]] = {}
    for item in items[:ROWS_LISTED]:
        source = item.get("source") or {}
        file = source.get("file")
        key = f"{code(file)} row" if file else f"{code(prepared)} line"
        by_file.setdefault(key, []).append(source.get("row") if file else item["row"])
    shown = "; ".join(
        f"{key}{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}" for key, rows in by_file.items()
    )
    return shown + (f" and {len(items) - ROWS_LISTED} more" if len(items) > ROWS_LISTED else "")


def _psi_cell(value: float | None, missing: str) -> str:
    if value is None:
        return missing
    return f"{value:.3f} **(shifted)**" if value > SHIFT_FLAG else f"{value:.3f}"


def _rule(rules: DataGateParams | None, key: str, shown: str) -> str:
    bound = getattr(rules, key) if rules is not None else None
    return f"gate: {shown} ≤ {bound:g}" if bound is not None else f"not gated (`review.data_gate.{key}`)"


def caveat(found: dict[str, Any]) -> str:
    """A line when the flags look like the check model's own mistakes rather than wrong labels, or,
    when no second opinion could be had, a line saying the flags are the check model's alone (and
    why: a held-out probabilities file that is not evaluate's is named, flags or not)."""
    heldout = found.get("heldout") or {}
    # The file's own names (class columns) stay in a code span: shown, never rendered.
    problem = code(heldout["problem"]) if heldout.get("problem") else ""
    if not heldout.get("test_flags"):
        if not found.get("issues"):
            return (
                f"The fine-tuned model's held-out probabilities were not read: {problem}" if problem else ""
            )
        test_flags = any(issue["split"] == "test" for issue in found["issues"])
        why = (
            f"the held-out probabilities were not used: {problem}"
            if problem
            else f"no held-out probabilities of this test split in `{HELDOUT_FILE}`: run `dvc repro evaluate`"
            if test_flags
            else "the fine-tuned model's held-out probabilities cover the test split only, which has no flag"
        )
        return (
            f"No second opinion on these flags ({why}): they are the check model's alone, "
            "and on clean data most of its flags are rows it finds hard, not wrong labels. Look at a "
            "few before relabelling."
        )
    agrees, flags = heldout["fine_tuned_gives_given_label"], heldout["test_flags"]
    if agrees / flags <= CAVEAT_SHARE:
        return (
            f"The fine-tuned model gives {agrees} of the {flags} flagged test rows their given label: "
            "most flags there look like real label errors."
        )
    return (
        f"**Caveat:** the fine-tuned model gives {agrees} of the {flags} flagged test rows "
        f"({agrees / flags:.0%}) their given label: most flags are likely the check model's own "
        "mistakes (on clean data it flags rows it finds hard), not wrong labels. Look at a few before "
        "relabelling."
    )


def _hard_note(found: dict[str, Any]) -> str:
    """How many rows confident learning picked but the check model finds merely hard (not listed)."""
    hard = found.get("hard_rows_not_flagged")
    if not hard:
        return ""
    bound = found.get("max_p_given", MAX_P_GIVEN)
    return f"; not listed: {hard} more it picked but gives their label p ≥ {bound:g} (rows it finds hard)"


def section(checks: dict[str, Any], rules: DataGateParams | None = None) -> str:
    base = code(checks["base_ref"], in_table=True)  # a git ref may hold a backtick too
    leaks, found, rows = checks["leakage"], checks["label_issues"], checks["test_rows"]
    issues = found["issues"]
    all_rows = sum(found["rows"].values())
    share = f"{len(issues) / all_rows:.1%}" if all_rows else "0"
    by_split = ", ".join(
        f"{name} {sum(issue['split'] == name for issue in issues)} of {count}"
        for name, count in found["rows"].items()
    )
    leak_rule = _rule(rules, "max_leaked_test_rows", "rows")
    table = [
        "| Check | Result | Flagged when |",
        "|:--|:--|:--|",
        f"| Class prior shift, train split (PSI vs {base}) | "
        f"{_psi_cell(checks['class_prior_psi'], f'{base} has no class counts')} | "
        f"PSI > {SHIFT_FLAG}; {_rule(rules, 'max_class_prior_psi', 'PSI')} |",
        f"| Text length shift, test split (PSI vs {base}'s reference) | "
        f"{_psi_cell(checks['length_psi'], f'{base} has no reference yet')} | PSI > {SHIFT_FLAG} |",
        f"| Test rows also in train (normalised) | {len(leaks['exact'])} of {rows} | any; {leak_rule} |",
        f"| Test rows nearly in train (Jaccard ≥ {leaks['threshold']}; {leaks['seconds']:.1f} s) | "
        f"{len(leaks['near'])} of {rows} | any; {leak_rule} |",
        f"| Suspected label errors, all splits (confident learning; {found['seconds']:.1f} s) | "
        f"{len(issues)} of {all_rows} ({share}): {by_split}{_hard_note(found)} | "
        f"{_rule(rules, 'max_label_issue_share', 'share')} |",
    ]
    parts = [f"### Data checks vs {code(checks['base_ref'])}", "\n".join(table)]
    listed = [
        ("Test rows also in train", leaks["exact"], "test"),
        ("Test rows nearly in train", leaks["near"], "test"),
    ]
    listed += [
        (
            f"Suspected label errors, {name} rows (most suspicious first)",
            [issue for issue in issues if issue["split"] == name],
            name,
        )
        for name in found["rows"]
    ]
    lines = [
        f"- {title}: {_places([_as_row(item) for item in items], f'data/prepared/{split}.jsonl')}"
        for title, items, split in listed
        if items
    ]
    if lines:
        parts.append(
            "Where the flagged rows are in the raw data (the file and row you edit; texts stay out of "
            f"the comment). Every flagged row, with the given and suggested label: `{FLAGGED_FILE}` "
            f"(the workflow's `flagged-rows` artifact). Label errors: {found['method']}.\n\n"
            + "\n".join(lines)
        )
    warning = caveat(found)
    if warning:
        parts.append(warning)
    return "\n\n".join(parts)


def _as_row(item: dict[str, Any]) -> dict[str, Any]:
    """A leak (test_row) or an issue (row) as {"row", "source"}."""
    return {"row": item.get("row", item.get("test_row")), "source": item.get("source")}
