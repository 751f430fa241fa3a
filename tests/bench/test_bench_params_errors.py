"""A benchmark given settings it cannot use prints the one-line error and exits 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BENCH = REPO_ROOT / "bench"
LOADS_PARAMS = ["cost_compare", "serve_bench", "scale", "torch_reference", "train_throughput"]


@pytest.mark.parametrize(
    ("script", "args"), [("cost_compare", ["--out", "cost.json"]), ("torch_reference", ["--model-dir", "m"])]
)
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, script: str, args: list[str]) -> None:
    text = (REPO_ROOT / "params.yaml").read_text(encoding="utf-8")
    assert "  ecs_min_tasks: " in text
    lines = [
        ("  ecs_min_tasks: 0" if line.startswith("  ecs_min_tasks: ") else line) for line in text.splitlines()
    ]
    (tmp_path / "params.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == (
        f"[{script}.py] error: params.yaml: costs.ecs_min_tasks: "
        "Input should be greater than or equal to 1 (got 0)"
    )
    assert not (tmp_path / "cost.json").exists()


@pytest.mark.parametrize("script", LOADS_PARAMS)
def test_every_benchmark_that_loads_params_ends_through_bench_main(script: str) -> None:
    tail = (BENCH / f"{script}.py").read_text(encoding="utf-8").rstrip().splitlines()[-1]
    assert tail.strip() == "run_to_the_end(main, __file__)", (
        f"bench/{script}.py: end with bench_main.run (imported as run_to_the_end)(main, __file__)"
    )
