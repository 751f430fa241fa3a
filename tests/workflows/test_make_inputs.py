"""Values from outside reach make's recipes as data, never as code.

GNU make expands `$(...)` in a command-line variable and in any variable a recipe writes as
`$(NAME)` (so `$(shell touch X)` runs), and the recipe's shell runs backticks in the text make
substitutes. So a workflow passes a value from an expression (`${{ ... }}`: inputs, event fields,
step outputs, variables) only through the environment, and recipes read it as "$$NAME"."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
MAKEFILES = [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]


def expression_variables() -> set[str]:
    """Every environment variable a workflow sets from an expression."""
    names: set[str] = set()

    def collect(env: dict | None) -> None:
        for name, value in (env or {}).items():
            if "${{" in str(value):
                names.add(name)

    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        collect(workflow.get("env"))
        for job in workflow["jobs"].values():
            collect(job.get("env"))
            for step in job.get("steps") or []:
                collect(step.get("env"))
    return names


def test_no_workflow_step_passes_a_make_variable_on_the_command_line() -> None:
    offending = []
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps") or []:
                for line in str(step.get("run", "")).splitlines():
                    for command in re.findall(r"\bmake\b[^;&|]*", line):
                        # A literal (IMAGE_REF=main) is the workflow's own; a `$` brings a value in.
                        if re.search(r"\s[A-Za-z_][A-Za-z0-9_]*=[^\s]*\$", command):
                            offending.append(f"{path.name} {job_name}: {line.strip()}")
    assert not offending, "pass values to make through `env:`, not as NAME=value:\n" + "\n".join(offending)


def test_no_recipe_expands_a_value_a_workflow_takes_from_an_expression() -> None:
    names = expression_variables()
    assert {"COMMIT", "BASE", "INPUT", "OUTPUT", "BEFORE"} <= names  # the test sees the workflows
    offending = []
    for path in MAKEFILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.startswith("\t"):
                continue
            for name in re.findall(r"(?<!\$)\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", line):
                if name in names:
                    offending.append(f"{path.relative_to(REPO)}:{number}: $({name})")
    assert not offending, 'recipes must read these as "$$NAME":\n' + "\n".join(offending)


@pytest.mark.parametrize(
    ("target", "variable"),
    [
        ("needs-training", "BASE"),
        ("release-check", "COMMIT"),
        ("production-changed", "BEFORE"),
        ("batch-inputs", "INPUT"),
    ],
)
@pytest.mark.parametrize("payload", ["$(shell touch {canary})", "`touch {canary}`", '"; touch {canary}; "'])
def test_a_hostile_value_runs_nothing(tmp_path: Path, target: str, variable: str, payload: str) -> None:
    canary = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    env.update({variable: payload.format(canary=canary), "OUTPUT": "s3://bucket/out/"})
    subprocess.run(
        ["make", "--no-print-directory", "-s", target], cwd=REPO, env=env, capture_output=True, timeout=120
    )
    assert not canary.exists(), f"{variable}={payload!r} ran a command in make {target}"


def test_no_step_hides_a_failed_make_in_an_echo() -> None:
    """`echo "x=$(make ...)"` exits 0 when make fails (errexit ignores a failed command substitution
    in an argument): the output is empty and later jobs are skipped or misled. An assignment fails."""
    offending = [
        f"{path.name}: {line.strip()}"
        for path in WORKFLOWS
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\becho\b[^#]*\$\(make\b", line)
    ]
    assert not offending, 'assign the output first (value="$(make ...)"), then echo it:\n' + "\n".join(
        offending
    )
