"""The label-error check before and after calibration, on clean data and with labels flipped.

The PR report's label-error check (textclf.review.data_checks) flags rows whose given label its
check model disbelieves. Before: out-of-fold naive Bayes probabilities straight into confident
learning's prune by noise rate. After: the same scores calibrated by temperature scaling with a
label-noise share (data_checks.fit_calibration), rows
whose predicted class is their label never flagged, and only rows the calibrated model gives their
label p < MAX_P_GIVEN. Both run in the same process on the same data, fold for fold.

For each data set and share of flipped labels (each flipped row gets another label at random,
seeded): the share of rows flagged, and precision and recall against the flipped rows. On clean
data (share 0) every flag is a false alarm: the flag rate is what a reviewer must wade through.

    python bench/label_errors.py                    # the bundled sample; bench/results/label_errors.json
    python bench/label_errors.py --csv FILE --text-column review --label-column sentiment

The bundled sample is written by `textclf sample-data`'s code into a temporary folder. `--csv`
adds a data set of one's own (a CSV with a header; the columns named). `--small` runs a small
sample with two shares: the tests run it so that a change that breaks the benchmark fails CI; its
figures mean nothing.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from textclf.pipeline import sample_data
from textclf.review import data_checks

RESULTS = Path("bench/results/label_errors.json")
SHARES = (0.0, 0.05, 0.10, 0.20)
SMALL_SHARES = (0.0, 0.10)
SEEDS = (7, 11)
SMALL_ROWS_PER_LABEL = 60
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys.
OUT_KEYS = ("small", "max_p_given", "command", "datasets")


def bundled_sample(rows_per_label: int) -> list[tuple[str, str]]:
    """The sample as `textclf sample-data` writes it, read back from a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        if rows_per_label == sample_data.ROWS_PER_LABEL:
            sample_data.write_sample(Path(folder))
        else:  # the small mode: fewer rows of the same generator
            (Path(folder) / "messages.csv").write_bytes(sample_data.sample_bytes(rows_per_label))
        return read_csv(Path(folder) / "messages.csv", "text", "label")


def read_csv(path: Path, text_column: str, label_column: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"{path}: no column {sorted(missing)}; it has {reader.fieldnames}")
        return [(row[text_column], row[label_column]) for row in reader]


def flip(truth: list[str], share: float, seed: int) -> tuple[list[str], np.ndarray]:
    """`share` of the labels changed to another label at random: the given labels and a mask."""
    labels = sorted(set(truth))
    rng = random.Random(seed)
    given = list(truth)
    flipped = np.zeros(len(truth), dtype=bool)
    for index in rng.sample(range(len(truth)), int(share * len(truth))):
        given[index] = rng.choice([label for label in labels if label != truth[index]])
        flipped[index] = True
    return given, flipped


def score(flagged: np.ndarray, flipped: np.ndarray) -> dict[str, Any]:
    hits = int((flagged & flipped).sum())
    return {
        "flagged": int(flagged.sum()),
        "flag_rate": round(float(flagged.mean()), 4),
        "true_flips_flagged": hits,
        "precision": round(hits / flagged.sum(), 4) if flagged.any() and flipped.any() else None,
        "recall": round(hits / flipped.sum(), 4) if flipped.any() else None,
    }


def measure(rows: list[tuple[str, str]], share: float, seed: int) -> dict[str, Any]:
    texts, truth = [text for text, _ in rows], [label for _, label in rows]
    labels = sorted(set(truth))
    given_labels, flipped = flip(truth, share, seed)
    started = time.perf_counter()
    given, scores = data_checks.out_of_fold_scores([data_checks.Rows(texts, given_labels)], labels)
    scoring = time.perf_counter() - started
    # Before: uncalibrated probabilities, prune by noise rate alone.
    before, _ = data_checks.prune_by_noise_rate(given, data_checks.softmax(scores))
    # After: what whole_dataset_label_issues does.
    started = time.perf_counter()
    temperature, noise = data_checks.fit_calibration(scores, given)
    probabilities = data_checks.softmax(scores, temperature)
    after, _, hard = data_checks.find_label_issues(given, probabilities)
    calibrating = time.perf_counter() - started
    return {
        "share": share,
        "seed": seed,
        "rows": len(rows),
        "flipped": int(flipped.sum()),
        "out_of_fold_accuracy": round(float((probabilities.argmax(axis=1) == given).mean()), 4),
        "temperature": round(temperature, 3),
        "estimated_noise": round(noise, 4),
        "before": score(before, flipped),
        "after": score(after, flipped) | {"hard_rows_not_flagged": int(hard.sum())},
        "seconds": {"scores": round(scoring, 2), "calibration_and_flags": round(calibrating, 2)},
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per share: each figure averaged over the seeds."""
    out: dict[str, Any] = {}
    for share in sorted({run["share"] for run in runs}):
        mine = [run for run in runs if run["share"] == share]
        entry: dict[str, Any] = {}
        for when in ("before", "after"):
            entry[when] = {}
            for key in ("flag_rate", "precision", "recall"):
                values = [run[when][key] for run in mine if run[when][key] is not None]
                entry[when][key] = round(sum(values) / len(values), 4) if values else None
        out[f"{share:.2f}"] = entry
    return out


def table(name: str, summary: dict[str, Any]) -> str:
    lines = [
        f"{name}: flag rate / precision / recall, before -> after (mean over seeds {list(SEEDS)})",
        f"{'flipped':>8}  {'flag rate':>17}  {'precision':>15}  {'recall':>15}",
    ]

    def cell(entry: dict, key: str, width: int) -> str:
        a, b = entry["before"][key], entry["after"][key]
        text = "-" if a is None else f"{a:.3f} -> {b:.3f}" if b is not None else f"{a:.3f} -> -"
        return f"{text:>{width}}"

    for share, entry in summary.items():
        lines.append(
            f"{float(share):>8.0%}  {cell(entry, 'flag_rate', 17)}  {cell(entry, 'precision', 15)}  "
            f"{cell(entry, 'recall', 15)}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a small sample, two shares (for the tests)")
    parser.add_argument("--csv", type=Path, help="another data set (CSV with a header) measured too")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    out = check_out(args.out, OUT_KEYS, default=RESULTS)

    shares = SMALL_SHARES if args.small else SHARES
    datasets = {
        "bundled sample": bundled_sample(SMALL_ROWS_PER_LABEL if args.small else sample_data.ROWS_PER_LABEL)
    }
    if args.csv:
        datasets[args.csv.name] = read_csv(args.csv, args.text_column, args.label_column)
    result: dict[str, Any] = {
        "small": args.small,
        "max_p_given": data_checks.MAX_P_GIVEN,
        "command": "python bench/label_errors.py"
        + (" --small" if args.small else "")
        + (
            f" --csv {args.csv.name} --text-column {args.text_column} --label-column {args.label_column}"
            if args.csv
            else ""
        ),
        "datasets": {},
    }
    for name, rows in datasets.items():
        runs = [measure(rows, share, seed) for share in shares for seed in SEEDS]
        summary = summarise(runs)
        result["datasets"][name] = {
            "rows": len(rows),
            "labels": len({label for _, label in rows}),
            "summary": summary,
            "runs": runs,
        }
        print(table(f"{name} ({len(rows)} rows)", summary))
    out.write(result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from bench_main import run as run_to_the_end

    run_to_the_end(main, __file__)
