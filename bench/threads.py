"""Threads per process when two training processes share the machine (as `make test`'s two workers
do): PyTorch's default, one intra-op thread per core in each process, versus one thread each.

Baseline: the two processes with PyTorch's default threads. Each process trains a small BERT
(random weights, built from a config: nothing is downloaded) on fixed batches for the same number
of seconds; the figure is training steps per second summed over both. One process alone with the
default threads is measured too, for scale.

    python bench/threads.py [--seconds 20]     # writes bench/results/threads.json

`--small` runs each setting for a second on a smaller model: the tests run it so that a change that
breaks the benchmark fails CI. Its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path("bench/results/threads.json")
THREAD_SETTINGS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# (hidden size, layers, batch, tokens): a BERT the size of a small fine-tuning job, and a toy one.
FULL_SHAPE = (256, 4, 16, 64)
SMALL_SHAPE = (64, 1, 4, 16)
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys.
OUT_KEYS = (
    "small",
    "cpus",
    "load_average_before",
    "seconds_per_setting",
    "model_shape",
    "alone_default_threads",
    "baseline_two_processes_default_threads",
    "two_processes_one_thread_each",
    "ratio_one_thread_each_vs_baseline",
)


def train_steps(seconds: float, shape: tuple[int, int, int, int]) -> dict:
    """Train for `seconds` in this process and return the steps done (called in a child process)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    hidden, layers, batch, tokens = shape
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=8000,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 4,
        num_labels=6,
    )
    model = BertForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs = torch.randint(0, config.vocab_size, (batch, tokens))
    labels = torch.randint(0, config.num_labels, (batch,))
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        optimizer.zero_grad()
        model(input_ids=inputs, labels=labels).loss.backward()
        optimizer.step()
        steps += 1
    return {"steps": steps, "seconds": time.perf_counter() - started, "threads": torch.get_num_threads()}


def run_side_by_side(processes: int, threads: int | None, seconds: float, small: bool) -> dict:
    """`processes` children at once, each with `threads` intra-op threads (None: PyTorch's default)."""
    env = {key: value for key, value in os.environ.items() if key not in THREAD_SETTINGS}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    size = ["--small"] if small else []
    command = [sys.executable, __file__, "--child", "--seconds", str(seconds), *size]
    children = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    outputs = [child.communicate(timeout=seconds * 10 + 120)[0] for child in children]
    if any(child.returncode for child in children):
        raise SystemExit(f"a training process failed: {[child.returncode for child in children]}")
    runs = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    rate = sum(run["steps"] / run["seconds"] for run in runs)
    return {"processes": processes, "threads_each": runs[0]["threads"], "steps_per_second": round(rate, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per setting")
    parser.add_argument("--small", action="store_true", help="a second per setting on a toy model (CI)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seconds = 1.0 if args.small else args.seconds
    shape = SMALL_SHAPE if args.small else FULL_SHAPE
    if args.child:
        print(json.dumps(train_steps(seconds, shape)))
        return
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    out = check_out(args.out, OUT_KEYS, default=RESULTS)
    load_before = os.getloadavg()
    alone = run_side_by_side(1, None, seconds, args.small)
    baseline = run_side_by_side(2, None, seconds, args.small)
    one_thread = run_side_by_side(2, 1, seconds, args.small)
    result = {
        "small": args.small,
        "cpus": os.cpu_count(),
        "load_average_before": [round(load, 2) for load in load_before],
        "seconds_per_setting": seconds,
        "model_shape": dict(zip(("hidden", "layers", "batch", "tokens"), shape, strict=True)),
        "alone_default_threads": alone,
        "baseline_two_processes_default_threads": baseline,
        "two_processes_one_thread_each": one_thread,
        "ratio_one_thread_each_vs_baseline": round(
            one_thread["steps_per_second"] / baseline["steps_per_second"], 2
        ),
    }
    out.write(result)
    print(
        f"two processes side by side: {one_thread['steps_per_second']} steps/s with one thread each, "
        f"{baseline['steps_per_second']} with the default {baseline['threads_each']} "
        f"(x{result['ratio_one_thread_each_vs_baseline']}); one process alone: {alone['steps_per_second']}"
    )


if __name__ == "__main__":
    from bench_main import run as run_to_the_end

    run_to_the_end(main, __file__)
