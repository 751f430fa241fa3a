"""The real `dvc repro` in a temporary copy of the repository: outputs, status, no-op reruns, and
that a changed param reruns exactly the stages that read it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from textclf.pipeline import sample_data

BIN = Path(sys.executable).parent


def sh(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_repo(repo_root: Path, target: Path, **param_changes: dict) -> Path:
    """The tracked files of this repository, the sample data, and a fresh git history on main."""
    files = subprocess.run(["git", "ls-files"], cwd=repo_root, capture_output=True, text=True, check=True)
    for name in files.stdout.splitlines():
        source = repo_root / name
        if source.is_file() and not name.startswith(("metrics/", "plots/")) and name != "dvc.lock":
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    params = yaml.safe_load((target / "params.yaml").read_text())
    for section, values in param_changes.items():
        params[section].update(values)
    (target / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sample_data.write_sample(target / "data/raw")
    sh(target, "git", "init", "-q", "-b", "main")
    sh(target, "git", "add", "-A")
    sh(target, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return target


def stages_run(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


@pytest.fixture
def tiny_repo(tmp_path, repo_root, tiny_model_dir) -> Path:
    return copy_repo(
        repo_root,
        tmp_path / "repo",
        model={"name": str(tiny_model_dir), "max_length": 32},
        train={"epochs": 1, "eval_steps": 50, "save_steps": 50},
        evaluate={"thresholds": {"accuracy": 0.0, "macro_f1": 0.0, "min_class_recall": 0.0}},
    )


def test_repro_then_noop_then_param_change_reruns_only_train_and_evaluate(tiny_repo):
    first = sh(tiny_repo, "dvc", "repro")
    assert stages_run(first.stdout) == ["prepare", "train", "evaluate"]
    assert "Data and pipelines are up to date" in sh(tiny_repo, "dvc", "status").stdout
    shown = sh(tiny_repo, "dvc", "metrics", "show", "--json").stdout
    assert '"accuracy"' in shown and '"macro_f1"' in shown
    plots = json.loads(sh(tiny_repo, "dvc", "plots", "show", "--json").stdout)["data"]
    assert {"Training loss", "Validation accuracy and macro-F1", "Confusion matrix (test split)"} <= set(
        plots
    )
    sh(tiny_repo, "git", "add", "-A")
    sh(tiny_repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "run")

    started = time.perf_counter()
    again = sh(tiny_repo, "dvc", "repro")
    noop_seconds = time.perf_counter() - started
    assert stages_run(again.stdout) == []
    assert noop_seconds < 15, f"a no-op repro took {noop_seconds:.1f} s"
    assert sh(tiny_repo, "git", "status", "--porcelain").stdout == ""

    # Every stage run again on the same data and params (what a fresh clone's `make repro` does):
    # the tracked files stay as committed. Timings go to reports/, outside git and DVC.
    forced = sh(tiny_repo, "dvc", "repro", "--force")
    assert stages_run(forced.stdout) == ["prepare", "train", "evaluate"]
    assert sh(tiny_repo, "git", "status", "--porcelain").stdout == ""
    assert (tiny_repo / "reports/train_job.json").is_file() and (tiny_repo / "reports/latency.json").is_file()

    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["train"]["learning_rate"] = 1e-3
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = sh(tiny_repo, "dvc", "repro")
    assert stages_run(changed.stdout) == ["train", "evaluate"]
    params_diff = json.loads(sh(tiny_repo, "dvc", "params", "diff", "--json").stdout)
    change = params_diff["params.yaml"]["train.learning_rate"]
    assert (change["old"], change["new"]) == (5e-05, 0.001)
    metrics_diff = json.loads(sh(tiny_repo, "dvc", "metrics", "diff", "--json").stdout)
    assert "train.train_loss" in str(metrics_diff) or "train_loss" in json.dumps(metrics_diff)


@pytest.mark.slow
def test_repro_with_the_real_default_model(tmp_path, repo_root):
    # One epoch at max_length 64 keeps CI fast; `make repro` runs the full params.yaml.
    repo = copy_repo(repo_root, tmp_path / "repo", train={"epochs": 1}, model={"max_length": 64})
    sh(repo, "dvc", "repro")
    metrics = json.loads((repo / "metrics/eval.json").read_text())
    assert metrics["accuracy"] > 0.6 and metrics["macro_f1"] > 0.6, metrics
    verdict = json.loads((repo / "metrics/gate.json").read_text())
    assert verdict["verdict"] in {"pass", "fail"} and verdict["checks"]
    assert "Data and pipelines are up to date" in sh(repo, "dvc", "status").stdout
