"""Wall time of the whole pipeline (prepare + train + evaluate) on the bundled sample.

Runs `dvc repro --force` in this repository, as `make repro` does on a fresh clone, and reports
each stage's wall time, the test accuracy and macro-F1, and the train stage's peak memory.

    make data && .venv/bin/python bench/pipeline_time.py

`--small` runs dvc.yaml's stage commands one after the other in the current folder, without DVC
(a project with a small model and sample: the tests run it so a change that breaks the benchmark
fails CI), and writes to `--out`. Its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from textclf.config import TRAIN_JOB_FILE

RESULTS = Path("bench/results/pipeline_time.json")
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys
# (bench/results/pipeline_time.json was written before the last two were added).
OUT_KEYS = (
    "total_seconds",
    "stage_seconds",
    "test_accuracy",
    "test_macro_f1",
    "train_peak_rss_mb",
    "cpu_count",
    "load_average_start",
    "small",
)
ADDED_LATER = ("load_average_start", "small")


def repro(env: dict[str, str]) -> tuple[dict[str, float], float]:
    """`dvc repro --force`: each stage's seconds, from DVC's `Running stage` lines."""
    stage_started: dict[str, float] = {}
    started = time.perf_counter()
    process = subprocess.Popen(
        ["dvc", "repro", "--force"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Running stage"):
            stage_started[line.split("'")[1]] = time.perf_counter()
    if process.wait() != 0:
        sys.exit("dvc repro failed; run it directly to see why")
    finished = time.perf_counter()
    names = list(stage_started)
    ends = [stage_started[n] for n in names[1:]] + [finished]
    return {
        n: round(end - stage_started[n], 1) for n, end in zip(names, ends, strict=True)
    }, finished - started


def stage_commands(env: dict[str, str]) -> tuple[dict[str, float], float]:
    """dvc.yaml's stage commands in order, without DVC: each stage's seconds."""
    stages = yaml.safe_load(Path("dvc.yaml").read_text(encoding="utf-8"))["stages"]
    seconds = {}
    started = time.perf_counter()
    for name, stage in stages.items():
        begun = time.perf_counter()
        done = subprocess.run(stage["cmd"], shell=True, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"stage {name} ({stage['cmd']}) failed:\n{done.stderr[-3000:]}")
        seconds[name] = round(time.perf_counter() - begun, 1)
    return seconds, time.perf_counter() - started


def main() -> None:
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the stage commands without DVC (a test)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    out = check_out(args.out, OUT_KEYS, default=RESULTS, added_later=ADDED_LATER)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.setdefault("HF_HUB_OFFLINE", "1")
    load_start = os.getloadavg()
    stages, total = (stage_commands if args.small else repro)(env)
    metrics = json.loads(Path("metrics/eval.json").read_text())
    job = json.loads(TRAIN_JOB_FILE.read_text())
    result = {
        "total_seconds": round(total, 1),
        "stage_seconds": stages,
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "train_peak_rss_mb": job.get("peak_rss_mb"),
        "cpu_count": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_start],
        "small": args.small,
    }
    out.write(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    from bench_main import run as run_to_the_end

    run_to_the_end(main, __file__)
