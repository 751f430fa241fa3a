"""The pipeline's data steps and the PR's data checks at 10k, 100k and 1M rows: wall time, peak
memory and each check's recall, on a generated corpus of realistic messages.

The corpus: each row is one or two of the bundled sample's messages (textclf.pipeline.sample_data,
the class signal) followed by words drawn from a Zipf-distributed vocabulary of 20,000 words, to a
log-normal length (median about 800 characters, mean about 1.2 KB, at most 20,000: like real mail
or tickets). Planted in it: exact copies (the same text in upper case with other punctuation, 1 %
of rows), near-duplicates (a light edit of an earlier row: two words replaced, one dropped, 1 %)
and label flips (2 %), each recorded by a digest of its normalised text, so every check's recall
is measured, not assumed.

Each step runs in its own process (its peak RSS is its own): `prepare` (the data summary
included), `evaluate` (batch scoring of the test split through the serving code, with a tiny
2-layer model: the cost of the data path, not of the default model), `near_duplicates` (the
leakage check) and `label_errors` (out-of-fold probabilities over all splits and the report's
section). Training is not measured: that is SageMaker's work. Growth exponents are the slope of
log(time) and log(memory) against log(rows) between the smallest and the largest size.

    make bench-scale                        # 10k, 100k, 1M rows: build/bench/scale.json
    python bench/scale.py --sizes 10000 100000
    python bench/scale.py --small           # 600 and 1,200 rows in seconds (the tests run it)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)
SMALL_SIZES = (600, 1_200)
VOCABULARY = 20_000
SHARES = {"exact": 0.01, "near": 0.01, "flip": 0.02}
# The small mode plants more, so that a corpus of a thousand rows still has plants across splits.
SMALL_SHARES = {"exact": 0.05, "near": 0.05, "flip": 0.05}
STEPS = ("prepare", "evaluate", "near_duplicates", "label_errors")
GOALS = {"near_duplicate_recall": 0.95, "label_error_precision": 0.8, "label_error_recall": 0.8}
SEED = 20261206
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys.
OUT_KEYS = ("small", "sizes", "growth_from_smallest_to_largest", "at_largest", "goals", "machine")
DEFAULT_OUT = "build/bench/scale.json"


def digest(text: str) -> str:
    from textclf.text import normalise

    return hashlib.blake2b(normalise(text).encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# ---------------------------------------------------------------------------------------------
# The corpus


def _vocabulary(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words = sorted({"".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(VOCABULARY * 2)})
    words = [words[i] for i in rng.permutation(len(words))[:VOCABULARY]]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    return words, weights / weights.sum()


def light_edit(text: str, rng: random.Random) -> str:
    tokens = text.split(" ")
    for _ in range(2):
        tokens[rng.randrange(len(tokens))] = rng.choice(["kindly", "asap", "regards", "urgent", "thanks"])
    del tokens[rng.randrange(len(tokens))]
    return " ".join(tokens)


def generate(
    rows: int, raw_dir: Path, truth_file: Path, shares: dict[str, float] = SHARES, seed: int = SEED
) -> dict[str, Any]:
    """Write `rows` rows to raw_dir/messages.csv and what was planted to truth_file."""
    from textclf.pipeline.sample_data import generate_rows
    from textclf.review.data_checks import jaccard, shingles, words

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    pool = generate_rows(rows_per_label=1000, seed=seed)
    by_label: dict[str, list[str]] = {}
    for text, label in pool:
        by_label.setdefault(label, []).append(text)
    labels = sorted(by_label)
    vocabulary, weights = _vocabulary(nrng)
    truth: dict[str, list] = {"exact": [], "near": [], "flipped": []}
    raw_dir.mkdir(parents=True, exist_ok=True)
    chunk = 10_000
    written = 0
    with (raw_dir / "messages.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label"])
        while written < rows:
            size = min(chunk, rows - written)
            lengths = np.minimum(np.exp(nrng.normal(math.log(800), 0.9, size)), 20_000).astype(int)
            filler_words = np.maximum(lengths // 7 - 15, 0)
            drawn = nrng.choice(len(vocabulary), size=int(filler_words.sum()), p=weights)
            start = 0
            made: list[tuple[str, str]] = []  # this chunk's rows (true labels): what plants copy
            for i in range(size):
                roll = rng.random()
                if made and roll < shares["exact"]:
                    text, label = rng.choice(made)
                    copy = text.upper().replace(".", "!").replace(",", " ;")
                    truth["exact"].append([digest(copy), digest(text)])
                    writer.writerow([copy, label])
                    continue
                if made and roll < shares["exact"] + shares["near"]:
                    text, label = rng.choice(made)
                    edited = light_edit(text, rng)
                    similarity = jaccard(shingles(words(edited)), shingles(words(text)))
                    truth["near"].append([digest(edited), digest(text), round(similarity, 4)])
                    writer.writerow([edited, label])
                    continue
                label = rng.choice(labels)
                messages = rng.sample(by_label[label], 1 if rng.random() < 0.6 else 2)
                filler = " ".join(vocabulary[j] for j in drawn[start : start + filler_words[i]])
                start += filler_words[i]
                text = " ".join(messages) + (" " + filler if filler else "")
                made.append((text, label))
                if rng.random() < shares["flip"]:
                    truth["flipped"].append(digest(text))
                    label = rng.choice([other for other in labels if other != label])
                writer.writerow([text, label])
            written += size
    truth_file.write_text(json.dumps(truth), encoding="utf-8")
    return {"rows": rows, "planted": {key: len(value) for key, value in truth.items()}}


# ---------------------------------------------------------------------------------------------
# The steps, each in its own process


def _splits(prepared: Path) -> dict[str, Any]:
    from textclf.review.data_checks import SPLIT_NAMES, Split

    return {name: Split(prepared / f"{name}.jsonl") for name in SPLIT_NAMES}


def _digests(split) -> list[str]:
    return [digest(text) for texts, _ in split.chunks() for text in texts]


def step_prepare(work: Path) -> dict[str, Any]:
    from textclf.config import DataParams
    from textclf.pipeline import prepare

    summary = prepare.run(DataParams(labels=None), summary_file=Path("metrics/data.json"))
    return {"rows": summary["rows"], "dropped": summary["dropped"]}


def step_evaluate(work: Path) -> dict[str, Any]:
    from textclf.config import load_params
    from textclf.pipeline import evaluate

    params = load_params(REPO / "params.yaml", needs=("data", "model", "evaluate", "deploy", "deploy.serve"))
    params = params.model_copy(update={"data": params.data.model_copy(update={"labels": None})})
    verdict = evaluate.run(params, model_dir=work / "model")
    metrics = json.loads(Path("metrics/eval.json").read_text(encoding="utf-8"))
    return {"test_rows": metrics["test_rows"], "verdict": verdict.get("verdict", verdict.get("status"))}


def step_near_duplicates(work: Path) -> dict[str, Any]:
    from textclf.review.data_checks import NEAR_DUPLICATE_JACCARD, near_duplicates

    splits = _splits(Path("data/prepared"))
    found = near_duplicates(splits["train"], splits["test"])
    truth = json.loads((work / "truth.json").read_text(encoding="utf-8"))
    train, test = set(_digests(splits["train"])), _digests(splits["test"])
    planted = {
        edited: source for edited, source, similarity in truth["near"] if similarity >= NEAR_DUPLICATE_JACCARD
    }
    expected = {row for row, d in enumerate(test, 1) if planted.get(d) in train}
    copies = {}
    for copy, source in truth["exact"]:
        copies.setdefault(copy, set()).add(source)
        copies.setdefault(source, set()).add(copy)
    expected_exact = {row for row, d in enumerate(test, 1) if copies.get(d, set()) & train}
    near_rows = {leak["test_row"] for leak in found["near"]}
    exact_rows = {leak["test_row"] for leak in found["exact"]}
    return {
        "check_seconds": found["seconds"],
        "test_rows": found["test_rows"],
        "train_rows": found["train_rows"],
        "near_found": len(near_rows),
        "near_planted_across_splits": len(expected),
        "near_duplicate_recall": round(len(expected & near_rows) / len(expected), 4) if expected else None,
        "exact_planted_across_splits": len(expected_exact),
        "exact_recall": round(len(expected_exact & exact_rows) / len(expected_exact), 4)
        if expected_exact
        else None,
        "pairs_checked_exactly": found["pairs_checked_exactly"],
    }


def step_label_errors(work: Path) -> dict[str, Any]:
    from textclf.review.data_checks import whole_dataset_label_issues

    prepared = Path("data/prepared")
    labels = json.loads((prepared / "labels.json").read_text(encoding="utf-8"))["labels"]
    splits = _splits(prepared)
    found = whole_dataset_label_issues(splits, labels)
    flipped = set(json.loads((work / "truth.json").read_text(encoding="utf-8"))["flipped"])
    by_split = {name: _digests(split) for name, split in splits.items()}
    present = {d for digests in by_split.values() for d in digests} & flipped
    flagged = {by_split[issue["split"]][issue["row"] - 1] for issue in found["issues"]}
    hits = len(flagged & present)
    return {
        "check_seconds": found["seconds"],
        "rows": sum(found["rows"].values()),
        "flagged": len(flagged),
        "flips_present": len(present),
        "label_error_precision": round(hits / len(flagged), 4) if flagged else None,
        "label_error_recall": round(hits / len(present), 4) if present else None,
        "out_of_fold_accuracy": found["out_of_fold_accuracy"],
    }


STEP_FUNCTIONS = {
    "prepare": step_prepare,
    "evaluate": step_evaluate,
    "near_duplicates": step_near_duplicates,
    "label_errors": step_label_errors,
}


def run_step(name: str, work: Path) -> None:
    """In the child: run one step in `work`, print its figures as one JSON line."""
    os.chdir(work)
    started = time.perf_counter()
    figures = STEP_FUNCTIONS[name](work)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1), **figures}))


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_model(work: Path) -> None:
    """The tiny model with the corpus's labels (tests/conftest.py builds the same for the tests)."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import build_tiny_model

    from textclf.pipeline.sample_data import CORE

    build_tiny_model(work / "model", sorted(CORE))
    print(json.dumps({"model": str(work / "model")}))


# ---------------------------------------------------------------------------------------------
# The run


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float | None:
    (n1, v1), (n2, v2) = small, large
    if v1 <= 0 or v2 <= 0 or n1 == n2:
        return None
    return round(math.log(v2 / v1) / math.log(n2 / n1), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--small", action="store_true", help=f"{SMALL_SIZES} rows, seconds (a test)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--work", default="build/bench", help="where the corpora are written (removed after)")
    parser.add_argument("--step", choices=[*STEPS, "model"], help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "model":
        build_model(Path(args.work))
        return
    if args.step:
        run_step(args.step, Path(args.work).resolve())
        return
    if args.generate:
        work = Path(args.work)
        started = time.perf_counter()
        shares = SMALL_SHARES if args.small else SHARES
        facts = generate(args.generate, work / "data/raw", work / "truth.json", shares)
        print(json.dumps({**facts, "seconds": round(time.perf_counter() - started, 1)}))
        return
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    out = check_out(args.out, OUT_KEYS, default=DEFAULT_OUT)
    sizes = list(SMALL_SIZES) if args.small else sorted(args.sizes)
    load_start, cpus = os.getloadavg(), os.cpu_count()
    results: dict[str, Any] = {}
    Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scale-", dir=args.work) as root:
        child("--step", "model", "--work", root)
        for rows in sizes:
            work = Path(root) / str(rows)
            work.mkdir()
            (work / "model").symlink_to(Path(root).resolve() / "model")  # --work may be relative
            generated = child(
                "--generate", str(rows), "--work", str(work), *(["--small"] if args.small else [])
            )
            print(f"{rows} rows: corpus in {generated['seconds']} s", file=sys.stderr, flush=True)
            sized: dict[str, Any] = {"corpus": generated}
            for step in STEPS:
                sized[step] = child("--step", step, "--work", str(work))
                print(
                    f"  {step}: {sized[step]['seconds']} s, {sized[step]['peak_rss_mb']} MB", file=sys.stderr
                )
            raw = (work / "data/raw/messages.csv").stat().st_size
            sized["corpus"]["csv_mb"] = round(raw / 2**20, 1)
            results[str(rows)] = sized
            subprocess.run(["rm", "-rf", str(work)], check=True)
    load_end = os.getloadavg()
    first, last = str(sizes[0]), str(sizes[-1])
    growth = {
        step: {
            "time_exponent": exponent(
                (sizes[0], results[first][step]["seconds"]), (sizes[-1], results[last][step]["seconds"])
            ),
            "memory_exponent": exponent(
                (sizes[0], results[first][step]["peak_rss_mb"]),
                (sizes[-1], results[last][step]["peak_rss_mb"]),
            ),
        }
        for step in STEPS
    }
    largest = results[last]
    figures = {
        "near_duplicate_recall": largest["near_duplicates"]["near_duplicate_recall"],
        "exact_recall": largest["near_duplicates"]["exact_recall"],
        "label_error_precision": largest["label_errors"]["label_error_precision"],
        "label_error_recall": largest["label_errors"]["label_error_recall"],
        "peak_rss_mb_max": max(results[last][step]["peak_rss_mb"] for step in STEPS),
    }
    result = {
        "small": args.small,
        "sizes": results,
        "growth_from_smallest_to_largest": growth,
        "at_largest": figures,
        "goals": {
            key: {
                "goal": f">= {goal}",
                "value": figures[key],
                "met": figures[key] is not None and figures[key] >= goal,
            }
            for key, goal in GOALS.items()
        },
        "machine": {
            "cpus": cpus,
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in load_end],
        },
    }
    out.write(result)
    print(table(result))
    print(f"\n(full figures: {args.out})")


def table(result: dict[str, Any]) -> str:
    sizes = list(result["sizes"])
    lines = ["| step | " + " | ".join(f"{int(n):,} rows" for n in sizes) + " | growth (time, memory) |"]
    lines.append("|---" * (len(sizes) + 2) + "|")
    for step in STEPS:
        cells = [
            f"{result['sizes'][n][step]['seconds']} s, {result['sizes'][n][step]['peak_rss_mb']:.0f} MB"
            for n in sizes
        ]
        g = result["growth_from_smallest_to_largest"][step]
        lines.append(
            f"| {step} | " + " | ".join(cells) + f" | n^{g['time_exponent']}, n^{g['memory_exponent']} |"
        )
    lines.append("")
    lines += [f"{key}: {value}" for key, value in result["at_largest"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    from bench_main import run as run_to_the_end  # a script may define run() itself

    run_to_the_end(main, __file__)
