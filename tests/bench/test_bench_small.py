"""Every benchmark in bench/ runs in its small mode: seconds, on the tiny model and a few rows.

No timing is asserted (the figures of a small run mean nothing); what is asserted is that each
script runs to the end and writes the figures its full run writes, so a change that breaks a
benchmark fails here and not the next time someone measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import LABELS, REPO_ROOT

BENCH = REPO_ROOT / "bench"


def run_bench(script: str, *args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def write_params(folder: Path, **sections: dict) -> Path:
    """The template's params.yaml with some keys changed."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    for section, values in sections.items():
        params[section].update(values)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    return path


def test_serve_bench_small_measures_every_server_and_the_direct_call(tiny_model_dir, tmp_path):
    test_file = tmp_path / "test.jsonl"
    rows = [{"text": f"message {i} about my order number {i * 7}", "label": LABELS[i % 3]} for i in range(70)]
    test_file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    params = write_params(tmp_path, model={"max_length": 32})
    out = tmp_path / "serve.json"

    done = run_bench(
        "serve_bench.py",
        *("--small", "--model-dir", str(tiny_model_dir), "--test", str(test_file)),
        *("--params", str(params), "--repo", str(REPO_ROOT), "--out", str(out)),
        *("--eval-metrics", str(tmp_path / "absent.json")),
        cwd=tmp_path,
    )

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["small"] is True
    assert set(result["variants"]) == {"torch", "onnx", "onnx_int8"}
    for name, variant in result["variants"].items():
        # Every server answered all texts and stopped on SIGTERM with status 0 (signals on: their
        # lines go to a file, a pipe nobody reads would have blocked the server).
        assert variant["exit_status_on_sigterm"] == 0, name
        assert variant["latency_one_short_text"]["p50_ms"] > 0
    assert result["test_texts"] == 64
    # The same graph in and out of the server: the same predictions.
    assert result["direct"]["agreement_with_served"] == 1.0
    assert result["variants"]["onnx"]["agreement_with_torch"] >= 0.95  # fp32 graph of the same weights
    assert result["server_overhead_p50"] > 0
    assert "server_overhead_p50" in result["goals"] and "install_size_ratio" not in result["goals"]
    assert "server_overhead_p50" in done.stdout
