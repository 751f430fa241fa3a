"""The package's wings and the one direction its imports point in.

Every `import textclf...` in `src/textclf`, at the top of a module or inside a function, is an
edge between wings. Ground (GROUND below) <- serving <- pipeline <- training; serving imports only
ground (the serving image has no torch), review imports neither training nor release; cli,
rehearse and localcloud sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "textclf"
GROUND = {
    *("__init__", "config", "atomic", "awsclient", "s3uri", "text", "verdict", "lambda_zip"),
    *("interrupt", "batches"),
}
TOP = {"cli", "rehearse", "rehearsal", "localcloud"}  # rehearsal: rehearse.py's parts
WINGS = {"pipeline", "training", "review", "release", "serving", "batch", "frontdoor", "monitoring"}
# What each wing may import besides itself. Ground imports only ground.
ALLOWED = {
    "ground": {"ground"},
    # evaluate and the export check use serving's inference; evaluate writes the drift reference
    "pipeline": {"ground", "serving", "monitoring"},
    "training": {"ground", "pipeline"},
    "review": {"ground", "monitoring"},  # the data checks use the drift statistic
    "serving": {"ground"},
    "release": {
        "ground",
        "pipeline",
        "review",
        "monitoring",
    },  # the issue author rule of the scheduled checks
    "batch": {"ground", "serving"},  # the serving contract's content types
    "frontdoor": set(),  # the API proxy Lambda ships alone: standard library and boto3
    "monitoring": set(),  # the drift-check Lambda ships alone: standard library, boto3, LAMBDA_GROUND
    "top": {
        *("ground", "pipeline", "training", "review", "release", "serving", "batch", "frontdoor"),
        *("monitoring", "top"),
    },
}


# The ground modules a Lambda's own module may import: standard library only, and carried by each
# Lambda zip that imports them (its ZIP_FILES; tests/release/test_one_bucket_rule.py checks the zips).
LAMBDA_GROUND = {"textclf.s3uri"}


def wing_of(module: str) -> str:
    """`textclf.review.gate` -> review; `textclf.config` -> ground; `textclf.cli` -> top."""
    first = module.split(".")[1] if "." in module else "__init__"
    if first in WINGS:
        return first
    if first in TOP:
        return "top"
    assert first in GROUND, f"{module}: not in a wing, not ground, not top: add it to one of them"
    return "ground"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("textclf")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textclf"):
            # `from textclf.review import gate` imports textclf.review.gate.
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_module = PACKAGE.parent / Path(*candidate.split("."))
                is_module = as_module.with_suffix(".py").is_file() or as_module.is_dir()
                found.add(candidate if is_module else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_import_points_the_allowed_way():
    wrong = [
        f"{module} ({wing_of(module)}) imports {target} ({wing_of(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if wing_of(target) != wing_of(module)
        and wing_of(target) not in ALLOWED[wing_of(module)]
        and not (wing_of(module) in ("monitoring", "frontdoor") and target in LAMBDA_GROUND)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules():
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " -> ".join([*trail, module, target]))
            if target not in state:
                visit(target, [*trail, module])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_the_lambda_module_imports_nothing_of_ours():
    assert imported_modules(PACKAGE / "release" / "redeploy.py") <= LAMBDA_GROUND
    for module in LAMBDA_GROUND:  # what a Lambda may import imports nothing of ours itself
        assert imported_modules(PACKAGE / Path(*module.split(".")[1:]).with_suffix(".py")) == set()


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The rule above can fail: a pipeline module importing the review wing is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from textclf.review import gate\nimport textclf.training.sagemaker\n")
    targets = imported_modules(bad)
    assert targets == {"textclf.review.gate", "textclf.training.sagemaker"}
    assert {wing_of(t) for t in targets} - ALLOWED["pipeline"] == {"review", "training"}
