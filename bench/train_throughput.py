"""Training throughput: this project's Trainer setup versus the HuggingFace example's baseline.

Baseline: every batch padded to `model.max_length` in random order (what the HuggingFace
text-classification example does with its default `pad_to_max_length`). Ours: dynamic padding
(each batch padded to its longest text) and length-grouped batches. Same model, data, epochs and
seed; each variant runs in its own process so peak memory is its own.

    python bench/train_throughput.py [--epochs 1]      # needs data/prepared (make repro or textclf prepare)

`--small` trains each variant for a few steps (at most 32 training rows, `model.max_length` of
params.yaml as it is) and writes to `--out`: the tests run it on a tiny model in a small project,
so a change that breaks the benchmark fails CI. Its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path("bench/results/train_throughput.json")
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys
# (bench/results/train_throughput.json was written before `small` was added).
OUT_KEYS = ("epochs", "small", "speedup", "accuracy_change_points", "baseline", "ours")
ADDED_LATER = ("small",)


SMALL_ROWS = 32


def run_variant(variant: str, epochs: float, small: bool) -> dict:
    """Train once in this process and print the facts as JSON (called in a child process)."""
    from textclf.config import load_params
    from textclf.pipeline.evaluate import score
    from textclf.pipeline.train import Hyperparameters, JobPaths, train_model
    from textclf.serving.inference import Predictor

    params = load_params(needs=("data", "model", "train", "deploy", "deploy.serve"))
    prepared = Path(params.data.prepared_dir)
    train_params = params.train.model_copy(update={"epochs": epochs})
    hp = Hyperparameters.from_params(params.model_copy(update={"train": train_params}))
    with tempfile.TemporaryDirectory() as work:
        if small:
            prepared = small_copy(prepared, Path(work) / "prepared")
        paths = JobPaths(prepared, prepared, Path(work) / "model", Path(work) / "ckpt", Path(work) / "out")
        started = time.perf_counter()
        facts = train_model(paths, hp, log=lambda m: None, pad_to_max_length=variant == "baseline")
        wall = time.perf_counter() - started
        rows = [
            json.loads(line) for line in (prepared / "test.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        labels = json.loads((prepared / "labels.json").read_text())["labels"]
        # The fp32 ONNX graph the train stage exported, through the serving code, as evaluate scores.
        predictor = Predictor(paths.model_dir, hp.max_length)
        predicted = predictor.predict_labels([r["text"] for r in rows], 64)
        test = score([r["label"] for r in rows], predicted, labels)
    return {
        "variant": variant,
        "train_samples_per_second": facts["train_samples_per_second"],
        "train_seconds": facts["train_seconds"],
        "wall_seconds": round(wall, 1),
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def small_copy(prepared: Path, folder: Path) -> Path:
    """The first SMALL_ROWS rows of each split and the labels: a few training steps."""
    folder.mkdir()
    for path in prepared.iterdir():
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as handle:
                lines = [line for _, line in zip(range(SMALL_ROWS), handle, strict=False)]
            (folder / path.name).write_text("".join(lines), encoding="utf-8")
        elif path.name == "labels.json":
            (folder / path.name).write_bytes(path.read_bytes())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--small", action="store_true", help="a few steps on a few rows (a test)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--variant", choices=["baseline", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.epochs, args.small)))
        return
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    out = check_out(args.out, OUT_KEYS, default=RESULTS, added_later=ADDED_LATER)
    results = {}
    for variant in ("baseline", "ours"):
        print(f"running {variant} ...", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--variant", variant, "--epochs", str(args.epochs)]
        child = subprocess.run(command + (["--small"] if args.small else []), capture_output=True, text=True)
        if child.returncode != 0:
            sys.exit(f"the {variant} run failed:\n{child.stderr[-3000:]}")
        results[variant] = json.loads(child.stdout.strip().splitlines()[-1])
    base, ours = results["baseline"], results["ours"]
    summary = {
        "epochs": args.epochs,
        "small": args.small,
        "speedup": round(ours["train_samples_per_second"] / base["train_samples_per_second"], 2),
        "accuracy_change_points": round(100 * (ours["test_accuracy"] - base["test_accuracy"]), 2),
        **results,
    }
    out.write(summary)
    print("| variant | samples/s | train s | test accuracy | test macro-F1 | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name in ("baseline", "ours"):
        r = results[name]
        print(
            f"| {name} | {r['train_samples_per_second']} | {r['train_seconds']} | {r['test_accuracy']} "
            f"| {r['test_macro_f1']} | {r['peak_rss_mb']} |"
        )
    print(f"\nspeed-up {summary['speedup']}x, accuracy change {summary['accuracy_change_points']} points")


if __name__ == "__main__":
    from bench_main import run as run_to_the_end  # a script may define run() itself

    run_to_the_end(main, __file__)
