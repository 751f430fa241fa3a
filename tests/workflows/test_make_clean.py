"""`make clean` removes what the pipeline and the Makefile write, never a user's file or a tracked one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def clean_recipe() -> str:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^clean:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, "Makefile: no clean target"
    return match.group(1)


def listed_outputs() -> set[str]:
    match = re.search(r"outs=\(([^)]*)\)", clean_recipe())
    assert match, "Makefile clean: no outs=(...) list"
    return set(match.group(1).replace("\\", " ").split())


def test_clean_lists_every_output_of_dvc_yaml() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    outputs = {
        out if isinstance(out, str) else next(iter(out))
        for stage in stages.values()
        for key in ("outs", "metrics", "plots")
        for out in stage.get(key) or []
    }
    assert listed_outputs() == outputs, "Makefile clean: outs=(...) must list exactly dvc.yaml's outputs"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with the Makefile, a trained workspace and a user's local base model."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "Makefile", root)
    shutil.copytree(REPO / "mk", root / "mk")
    for name in ("models/.gitignore", "metrics/eval.json", "plots/confusion.csv"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("committed\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    written = ("models/model/model.onnx", "data/prepared/train.jsonl", "work/checkpoints/x", "reports/r.md")
    for name in written:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("written by a run\n")
    (root / "models/my-base").mkdir()
    (root / "models/my-base/config.json").write_text("{}")
    return root


def make_clean(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "clean"], cwd=root, capture_output=True, text=True, timeout=60
    )


def test_clean_keeps_a_local_base_model_and_tracked_files(checkout: Path) -> None:
    result = make_clean(checkout)
    assert result.returncode == 0, result.stderr
    for gone in ("models/model", "data/prepared", "work", "reports"):
        assert not (checkout / gone).exists(), f"make clean left {gone}"
    kept_files = (
        "models/my-base/config.json",
        "models/.gitignore",
        "metrics/eval.json",
        "plots/confusion.csv",
    )
    for kept in kept_files:
        assert (checkout / kept).exists(), f"make clean removed {kept}"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=checkout, capture_output=True, text=True)
    assert " D " not in status.stdout, f"make clean deleted tracked files:\n{status.stdout}"


def test_clean_refuses_a_folder_holding_tracked_files(checkout: Path) -> None:
    (checkout / "work/notes.md").write_text("mine\n")
    subprocess.run(["git", "add", "work/notes.md"], cwd=checkout, check=True)
    result = make_clean(checkout)
    assert result.returncode == 2
    assert "work holds files git tracks (work/notes.md)" in result.stderr
    assert (checkout / "models/model/model.onnx").exists(), "make clean removed files before refusing"


def test_clean_does_not_follow_a_symbolic_link(checkout: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("x")
    shutil.rmtree(checkout / "work")
    (checkout / "work").symlink_to(elsewhere)
    result = make_clean(checkout)
    assert result.returncode == 2
    assert "work is a symbolic link" in result.stderr
    assert (elsewhere / "keep").exists()
