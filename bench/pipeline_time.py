"""Wall time of the whole pipeline (prepare + train + evaluate) on the bundled sample.

Runs `dvc repro --force` in this repository, as `make repro` does on a fresh clone, and reports
each stage's wall time, the test accuracy and macro-F1, and the train stage's peak memory.

    make data && .venv/bin/python bench/pipeline_time.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path("bench/results/pipeline_time.json")


def main() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.setdefault("HF_HUB_OFFLINE", "1")
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
    stages = {n: round(end - stage_started[n], 1) for n, end in zip(names, ends, strict=True)}
    metrics = json.loads(Path("metrics/eval.json").read_text())
    job = json.loads(Path("metrics/train_job.json").read_text())
    result = {
        "total_seconds": round(finished - started, 1),
        "stage_seconds": stages,
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "train_peak_rss_mb": job.get("peak_rss_mb"),
        "cpu_count": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
