"""Every module of the package that shapes what a DVC stage writes is one of its dependencies.

DVC reruns a stage when a file under its `deps:` changes, and only then: a module the stage's
code imports but dvc.yaml does not list can change what the stage would write (textclf/text.py's
`normalise` decides every text prepare keeps, the model trains on and evaluate scores) while
`dvc status` says up to date and `make gate` judges the old outputs. Each module the listed code
imports, directly or through another, is listed too, or named below with why it cannot change
the stage's outputs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Imported by stage code, not listed, and why that is safe. Keyed by module path; per stage where
# it holds for one stage only.
NOT_SHAPING = {
    "src/textclf/atomic.py": "writes a file whole or not at all: how outputs are written, not what",
    "src/textclf/interrupt.py": "turns SIGTERM into KeyboardInterrupt: when a stage stops",
    "src/textclf/config.py": (
        "reads and checks params.yaml; the values each stage reads are its `params:` entries, which "
        "DVC records and compares"
    ),
    "src/textclf/s3uri.py": "S3 bucket-name rules for the SageMaker backend and the drift Lambda",
    "src/textclf/awsclient.py": "boto3 clients for production's champion, read by `textclf gate`",
    "src/textclf/review/champion.py": "production's metrics, read by `textclf gate` after the stage",
    "src/textclf/review/data_checks.py": "the PR's data checks, run by `textclf gate` after the stage",
}
NOT_SHAPING_IN_STAGE = {
    ("evaluate", "src/textclf/pipeline/prepare.py"): "DataError, the class of its refusals",
    ("evaluate", "src/textclf/pipeline/modeling.py"): "loads a hub model for training (through train.py)",
    (
        "evaluate",
        "src/textclf/pipeline/export.py",
    ): "the ONNX export, run by the train stage (through train.py)",
}


def module_file(name: str) -> Path | None:
    for candidate in (
        ROOT / "src" / f"{name.replace('.', '/')}.py",
        ROOT / "src" / name.replace(".", "/") / "__init__.py",
    ):
        if candidate.is_file():
            return candidate
    return None


def imported_files(path: Path) -> set[Path]:
    """The package's modules `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textclf"):
            for alias in node.names:  # `from textclf.review import data_checks` names a module
                found.add(module_file(f"{node.module}.{alias.name}") or module_file(node.module))
        elif isinstance(node, ast.Import):
            found.update(module_file(alias.name) for alias in node.names if alias.name.startswith("textclf"))
    return {file for file in found if file is not None and file.name != "__init__.py"}


def reached(deps: list[str]) -> set[str]:
    todo = [ROOT / dep for dep in deps]
    seen: set[Path] = set()
    while todo:
        for file in imported_files(todo.pop()) - seen:
            seen.add(file)
            todo.append(file)
    return {file.relative_to(ROOT).as_posix() for file in seen}


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_code_a_stage_imports_is_a_dependency(stage: str) -> None:
    deps = [dep for dep in STAGES[stage]["deps"] if dep.startswith("src/")]
    unlisted = sorted(
        module
        for module in reached(deps) - set(deps)
        if module not in NOT_SHAPING and (stage, module) not in NOT_SHAPING_IN_STAGE
    )
    assert not unlisted, f"dvc.yaml: stage {stage} imports {unlisted}: list them under its deps"


def test_every_exception_is_still_imported() -> None:
    """A reason for a module no stage imports any more is a stale sentence."""
    every = set().union(*(reached([d for d in STAGES[s]["deps"] if d.startswith("src/")]) for s in STAGES))
    stale = sorted({*NOT_SHAPING, *(module for _stage, module in NOT_SHAPING_IN_STAGE)} - every)
    assert not stale, stale
