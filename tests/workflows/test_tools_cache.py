"""The tools' cache folder (TOOLS_CACHE, else XDG_CACHE_HOME or HOME) is a path make pastes into rule
names and recipes: a value it cannot use safely runs nothing and stops every target that needs a
tool's venv before any recipe runs, naming the variable (issue 27, round 8, R-b)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.workflows.makerun import run_make as make

PROBE = "/cache-probe-for-the-test"


def tool_targets() -> set[str]:
    """The targets whose prerequisites reach a file in the tools' cache, read from make's database."""
    database = make("-pq", f"TOOLS_CACHE={PROBE}").stdout
    rules: dict[str, set[str]] = {}
    for line in database.split("# Files", 1)[1].splitlines():
        match = re.match(r"^([^#\t\s][^:=]*?):(?![:=])\s*(.*)$", line)
        if match:
            for target in match[1].split():
                rules.setdefault(target, set()).update(match[2].replace("|", " ").split())

    def reaches(target: str, seen: set[str]) -> bool:
        if target.startswith(PROBE):
            return True
        seen.add(target)
        return any(reaches(p, seen) for p in rules.get(target, ()) if p not in seen)

    return {t for t in rules if not t.startswith((PROBE, ".")) and reaches(t, set())}


def test_the_tool_targets_are_found() -> None:
    found = tool_targets()
    assert {
        "act",
        "infra-checkov",
        "infra-checkov-plan",
        "infra-cloudsplaining",
        "lock",
        "rehearse",
        "test",
    } <= found


UNUSABLE = [
    ("HOME", "/tmp/a b"),
    ("HOME", "/tmp/x`touch {canary}`y"),
    ("XDG_CACHE_HOME", "/tmp/x`touch {canary}`y"),
    ("XDG_CACHE_HOME", "/tmp/x$(shell touch {canary})y"),
    ("XDG_CACHE_HOME", "/tmp/x$$(touch {canary})y"),
    ("XDG_CACHE_HOME", "/tmp/x;touch {canary};y"),
    ("TOOLS_CACHE", "/tmp/x'\"`touch {canary}`"),
    ("TOOLS_CACHE", "/tmp/x\ny"),
]


@pytest.mark.parametrize(("variable", "value"), UNUSABLE)
def test_an_unusable_cache_path_stops_every_tool_target_and_runs_nothing(
    tmp_path: Path, variable: str, value: str
) -> None:
    canary = tmp_path / "ran"
    env = {variable: value.format(canary=canary)}
    if variable == "HOME":
        env["XDG_CACHE_HOME"] = ""
    for target in sorted(tool_targets()):
        result = make("-n", target, env=env)
        assert result.returncode == 2, (target, result.stdout, result.stderr)
        # Refused while make reads its files: not one recipe line was printed (-n), none ran.
        assert result.stdout == "", (target, result.stdout)
        assert f"(from {variable})" in result.stderr and "set TOOLS_CACHE" in result.stderr, result.stderr
        assert "overriding recipe" not in result.stderr
    # Targets without tools still work, and nothing ran while make read its files.
    assert make("-n", "help", env=env).returncode == 0
    assert not canary.exists(), f"{variable}={value!r} ran a command"


def test_a_real_run_with_backticks_in_the_cache_path_runs_nothing(tmp_path: Path) -> None:
    """The tester's run: `make act PYTHON=true` with backticks in XDG_CACHE_HOME created the canary
    (and, the path holding a space, ran cloudsplaining's recipe)."""
    canary = tmp_path / "ran"
    result = make("act", "PYTHON=true", env={"XDG_CACHE_HOME": f"{tmp_path}/x`touch {canary}`y"})
    assert result.returncode == 2
    assert "from XDG_CACHE_HOME" in result.stderr
    assert not canary.exists()
    assert not list(tmp_path.glob("x*")), "a venv was made"


def test_a_usable_cache_path_is_used_as_given() -> None:
    out = make("-n", "infra-checkov", env={"XDG_CACHE_HOME": "/var/cache-x/u_1.2+@"}).stdout
    assert "/var/cache-x/u_1.2+@/textclf-tools/checkov-" in out
    out = make("-n", "lock", env={"TOOLS_CACHE": "/opt-x/tools", "HOME": "/h b"}).stdout
    assert "/opt-x/tools/uv-" in out


def test_index_urls_reach_the_lock_script_through_the_environment(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    hostile = f'x"; touch {canary}; echo "'
    out = make(
        "-n", "lock", env={"TOOLS_CACHE": str(tmp_path), "PYPI_INDEX": hostile, "TORCH_INDEX": hostile}
    )
    assert hostile not in out.stdout, out.stdout
    assert not canary.exists()


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"HOME": "/tmp/h\u00f6me", "XDG_CACHE_HOME": ""}, "(the characters \u00f6;"),
        ({"HOME": "/tmp/a b", "XDG_CACHE_HOME": ""}, "(a space;"),
        ({"HOME": "", "XDG_CACHE_HOME": ""}, "(HOME is unset or empty;"),
    ],
)
def test_the_refusal_names_what_is_wrong(env: dict[str, str], reason: str) -> None:
    """An accented home folder was refused as holding "a character a recipe would run or split
    on", and an unset HOME put the cache at /.cache (review of round 9, F6)."""
    result = make("-n", "act", env=env)

    assert result.returncode == 2 and reason in result.stderr, result.stderr
