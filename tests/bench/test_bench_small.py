"""Every benchmark in bench/ runs in its small mode: seconds, on the tiny model and a few rows.

No timing is asserted (the figures of a small run mean nothing); what is asserted is that each
script runs to the end and writes the figures its full run writes, so a change that breaks a
benchmark fails here and not the next time someone measures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.slow  # starts the PyTorch reference server and the two ONNX ones
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


@pytest.fixture(scope="module")
def small_project(tiny_model_dir, tmp_path_factory) -> Path:
    """A project folder with the tiny model, a small prepared sample and dvc.yaml."""
    from tests.model.conftest import make_project

    root = make_project(tmp_path_factory.mktemp("bench") / "project", str(tiny_model_dir), rows_per_label=12)
    shutil.copy(REPO_ROOT / "dvc.yaml", root / "dvc.yaml")
    return root


@pytest.mark.slow  # a whole pipeline, tiny as it is
def test_pipeline_time_small_runs_each_stage_of_dvc_yaml(small_project):
    run_bench("pipeline_time.py", "--small", "--out", "build/pipeline.json", cwd=small_project)

    result = json.loads((small_project / "build/pipeline.json").read_text(encoding="utf-8"))
    assert list(result["stage_seconds"]) == ["prepare", "train", "evaluate"]
    assert 0 <= result["test_accuracy"] <= 1 and result["train_peak_rss_mb"] > 0
    assert (small_project / "metrics/gate.json").is_file()


@pytest.mark.slow  # trains twice
def test_train_throughput_small_trains_both_variants_and_scores_them(small_project):
    run_bench("train_throughput.py", "--small", "--out", "build/train.json", cwd=small_project)

    result = json.loads((small_project / "build/train.json").read_text(encoding="utf-8"))
    assert result["small"] is True
    for variant in ("baseline", "ours"):
        assert result[variant]["train_samples_per_second"] > 0
        assert 0 <= result[variant]["test_accuracy"] <= 1
    assert result["speedup"] > 0


def test_cost_compare_small_writes_the_table(tmp_path):
    out = tmp_path / "cost.json"
    done = run_bench(
        "cost_compare.py",
        "--small",
        "--params",
        str(REPO_ROOT / "params.yaml"),
        "--out",
        str(out),
        cwd=tmp_path,
    )

    result = json.loads(out.read_text(encoding="utf-8"))
    assert len(result["rows"]) == 1 and result["rows"][0]["serverless"] > 0
    assert "| rate |" in done.stdout


@pytest.mark.slow  # builds the tiny model and runs four steps in their own processes, twice
def test_scale_small_measures_every_step_and_each_checks_recall(tmp_path):
    out = tmp_path / "scale.json"

    # A relative --work, as `make bench-scale` passes its default (build/bench).
    done = run_bench("scale.py", "--small", "--out", str(out), "--work", "work", cwd=tmp_path)

    result = json.loads(out.read_text(encoding="utf-8"))
    assert list(result["sizes"]) == ["600", "1200"]
    for size in result["sizes"].values():
        assert size["prepare"]["rows"]["raw"] == size["corpus"]["rows"]
        for step in ("prepare", "evaluate", "near_duplicates", "label_errors"):
            assert size[step]["seconds"] > 0 and size[step]["peak_rss_mb"] > 0
    largest = result["sizes"]["1200"]
    assert largest["near_duplicates"]["near_planted_across_splits"] > 0  # planted, found across splits
    assert result["at_largest"]["near_duplicate_recall"] >= 0.9
    assert result["at_largest"]["exact_recall"] == 1.0
    assert largest["label_errors"]["flips_present"] > 0 and result["at_largest"]["label_error_recall"] > 0.5
    assert set(result["growth_from_smallest_to_largest"]) == {
        "prepare",
        "evaluate",
        "near_duplicates",
        "label_errors",
    }
    assert "near_duplicate_recall" in done.stdout
    assert not any((tmp_path / "work").iterdir())  # the corpora are removed


def test_each_onnx_server_of_the_serve_bench_gets_a_folder_serving_its_graph(tiny_model_dir, tmp_path):
    """The model folder's serving.json decides what `textclf serve` loads, so each ONNX server of
    the benchmark gets a folder (links) whose record serves its graph, whatever the model serves."""
    import importlib.util

    from textclf.serving.inference import Predictor

    spec = importlib.util.spec_from_file_location("serve_bench", BENCH / "serve_bench.py")
    serve_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve_bench)
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "serving.json").write_text(json.dumps({"quantize": "int8", "graph": "model.int8.onnx"}))
    work = tmp_path / "work"
    work.mkdir()

    folders = serve_bench.graph_folders(model, work)

    assert Predictor(folders["none"], 32, "int8").graph.name == "model.onnx"
    assert Predictor(folders["int8"], 32, "none").graph.name == "model.int8.onnx"
    assert json.loads((model / "serving.json").read_text())["quantize"] == "int8"  # the model is untouched


def test_threads_small_measures_both_settings_side_by_side(tmp_path):
    out = tmp_path / "threads.json"
    done = run_bench("threads.py", "--small", "--out", str(out), cwd=tmp_path)

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["small"] is True
    assert result["two_processes_one_thread_each"]["threads_each"] == 1
    assert result["baseline_two_processes_default_threads"]["processes"] == 2
    for setting in ("alone_default_threads", "two_processes_one_thread_each"):
        assert result[setting]["steps_per_second"] > 0
    assert "two processes side by side" in done.stdout
