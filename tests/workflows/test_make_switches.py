"""Yes/no settings mean what the user typed (issue 27 round 8, R-a): CI=false turned on -auto-approve
for real applies and destroys (any non-empty CI), DRY_RUN=TRUE ran setup-cloud for real, and
DRIFT_CHECK=true planned the drift check away. Now -auto-approve needs CI=true exactly (what GitHub
Actions sets), the local cloud, or AUTO_APPROVE=1; DRY_RUN and DRIFT_CHECK take 1/true/yes/on and
0/false/no/off/empty in any case; anything else is refused, naming the setting, before anything
runs. The real Makefile: `make -n` prints the recipes; --eval adds a target that prints the export."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETTINGS = (
    "CI",
    "AUTO_APPROVE",
    "DRY_RUN",
    "DRIFT_CHECK",
    "AWS_ENDPOINT_URL",
    "TF_VAR_drift_lambda_zip_path",
)


def make(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """make in this repository, away from any local cloud (LOCALCLOUD_DIR names an empty folder)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in (*SETTINGS, "MAKEFLAGS", "MAKELEVEL", "MFLAGS") and not key.startswith("GITHUB_")
    }
    return subprocess.run(
        ["make", "-s", "--no-print-directory", f"LOCALCLOUD_DIR={tmp_path}", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "approves"),
    [
        ({}, False),
        ({"CI": "false"}, False),
        ({"CI": "0"}, False),
        ({"CI": "no"}, False),
        ({"CI": ""}, False),
        ({"CI": "true"}, True),
        ({"CI": "false", "AUTO_APPROVE": "1"}, True),
        ({"AUTO_APPROVE": "yes"}, True),
        ({"CI": "true", "AUTO_APPROVE": "0"}, False),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, True),  # the local cloud
    ],
)  # fmt: skip
@pytest.mark.parametrize("target", ["bootstrap", "infra-destroy"])
def test_auto_approve_needs_ci_true_or_auto_approve_1(tmp_path, target, env, approves):
    done = make(tmp_path, "-n", target, "GITHUB_REPOSITORY=a/b", **env)

    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if " destroy " in line or " apply " in line)
    assert ("-auto-approve" in line) == approves, line


@pytest.mark.parametrize(
    ("variable", "target"),
    [("AUTO_APPROVE", "infra-destroy"), ("DRY_RUN", "setup-cloud"), ("DRIFT_CHECK", "help")],
)
@pytest.mark.parametrize("value", ["maybe", "y", "1 0", "$(shell touch {canary})", "`touch {canary}`"])
def test_any_other_value_is_refused_naming_the_setting(tmp_path, variable, target, value):
    canary = tmp_path / "ran"
    value = value.format(canary=canary)
    done = make(
        tmp_path, "-n", "-o", ".venv/.installed", target, "GITHUB_REPOSITORY=a/b", **{variable: value}
    )

    assert done.returncode == 2, done.stdout
    assert f"{variable} is '{value}', neither yes nor no: set {variable}=1" in done.stderr
    assert done.stdout == "" and not canary.exists()


@pytest.mark.parametrize(
    ("value", "dry"),
    [("1", True), ("TRUE", True), ("Yes", True), ("on", True), ("0", False), ("false", False), ("", False)],
)
def test_dry_run_means_what_it_says(tmp_path, value, dry):
    done = make(tmp_path, "-n", "-o", ".venv/.installed", "setup-cloud", "REPO=a/b", DRY_RUN=value)

    assert done.returncode == 0, done.stderr
    assert "textclf.release.setup_cloud" in done.stdout
    assert ("--dry-run" in done.stdout) == dry, done.stdout


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, True),  # the default
        ("on", True), ("true", True), ("YES", True), ("1", True), ("On", True),
        ("off", False), ("false", False), ("no", False), ("0", False), ("", False),
    ],
)  # fmt: skip
def test_drift_check_means_what_it_says(tmp_path, value, on):
    show = 'show-drift-zip: ; @echo "[$${TF_VAR_drift_lambda_zip_path:-}]"'
    env = {} if value is None else {"DRIFT_CHECK": value}
    done = make(tmp_path, "--eval", show, "show-drift-zip", **env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("[../build/drift.zip]" if on else "[]")
