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


# Variables a person sets to choose a tool or add arguments (a command, a venv, an index URL, extra
# options): their text is meant to be run. Every other `?=` variable is a value from outside.
TOOL_SETTINGS = {"PYTHON", "DOCKER", "CHROMIUM", "TOOLS_CACHE", "PYPI_INDEX", "TORCH_INDEX"}
TOOL_SUFFIXES = ("_VENV", "_ARGS")
REFERENCE = re.compile(r"(?<!\$)\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")
DEFINITION = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|::=|=|\+=)\s*(.*)$")


def logical_lines(path: Path) -> list[tuple[int, bool, str]]:
    """(first line number, is a recipe line, text with backslash continuations joined)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    joined, index = [], 0
    while index < len(lines):
        start, text = index, lines[index]
        while text.endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text[:-1] + " " + lines[index].lstrip("\t")
        joined.append((start + 1, lines[start].startswith("\t"), text))
        index += 1
    return joined


def outside_values() -> tuple[set[str], dict[str, set[str]]]:
    """The `?=` variables (the environment or make's command line may set them) that are not tool
    settings, and what each variable's definition refers to."""
    outside, refers = set(), {}
    for path in MAKEFILES:
        for _, recipe, text in logical_lines(path):
            match = None if recipe else DEFINITION.match(text)
            if match:
                refers.setdefault(match[1], set()).update(REFERENCE.findall(match[3]))
                if (
                    match[2] == "?="
                    and match[1] not in TOOL_SETTINGS
                    and not match[1].endswith(TOOL_SUFFIXES)
                ):
                    outside.add(match[1])
    return outside, refers


def carried(
    name: str, outside: set[str], refers: dict[str, set[str]], seen: frozenset = frozenset()
) -> set[str]:
    """The outside values `$(name)` brings into the text it is expanded in, directly or through
    the variables its definition refers to."""
    if name in seen:
        return set()
    found = {name} if name in outside else set()
    if name not in outside:
        for inner in refers.get(name, ()):
            found |= carried(inner, outside, refers, seen | {name})
    return found


def test_no_recipe_or_shell_call_expands_a_value_from_outside() -> None:
    """`make batch-stop BATCH_JOB_FILE='x"; touch p; echo "'` ran `touch p`: a value make may take from
    the environment or its command line reaches recipes as "$$NAME" (exported), and a `$(shell ...)`
    takes it shell-quoted from `$(value NAME)`, never as `$(NAME)` (mk/ci.mk)."""
    outside, refers = outside_values()
    assert {"BATCH_JOB_FILE", "IMAGE_REF", "DEPLOY_ENV", "CML_VERSION", "LOCALCLOUD_PORT"} <= outside
    offending = []
    for path in MAKEFILES:
        name = str(path.relative_to(REPO))
        for number, recipe, text in logical_lines(path):
            match = None if recipe else DEFINITION.match(text)
            if recipe:
                scanned = text
            elif match and "$(shell" in match[3]:
                scanned = match[3][match[3].index("$(shell") :]
            else:
                continue
            for reference in REFERENCE.findall(scanned):
                for value in sorted(carried(reference, outside, refers)):
                    via = "" if value == reference else f" (through $({reference}))"
                    offending.append(f"{name}:{number}: $({value}){via}")
    assert not offending, (
        'export these and read them as "$$NAME" in the recipe (or shell-quote $(value NAME) in a '
        "$(shell ...)); the program they reach checks them:\n" + "\n".join(sorted(set(offending)))
    )


@pytest.mark.parametrize(
    ("target", "variable"),
    [
        ("batch-stop", "BATCH_JOB_FILE"),
        ("batch-cancel", "BATCH_JOB_FILE"),
        ("image-tags", "IMAGE_REF"),
        ("cml-install", "CML_VERSION"),
        ("training-image-uri", "PROJECT"),
    ],
)
@pytest.mark.parametrize(
    "payload", ['x"; touch {canary}; echo "', "x'; touch {canary}; echo '", "`touch {canary}`"]
)
def test_a_hostile_make_variable_runs_nothing(
    tmp_path: Path, target: str, variable: str, payload: str
) -> None:
    canary = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    subprocess.run(
        ["make", "--no-print-directory", "-s", target, f"{variable}={payload.format(canary=canary)}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert not canary.exists(), f"make {target} {variable}={payload!r} ran a command"
