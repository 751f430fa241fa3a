"""`python bench/cost_compare.py --out FILE` replaces only a file it wrote (issue 27, round 7, U-12:
`--out README.md` wrote over a tracked file without a word): anything else is refused, exit 2, one
line naming the file, nothing printed or written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "cost_compare.py"


def run(folder: Path, out: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--small", "--out", out],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "README.md").write_text("# my project\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("README.md", "exists and is not a file this script wrote"),
        ("params.yaml", "exists and is not a file this script wrote"),
        ("other.json", "exists and is not a file this script wrote"),
        (".", "is a folder"),
        ("link.json", "is a symbolic link"),
    ],
)
def test_a_file_it_did_not_write_is_refused(folder: Path, out: str, message: str) -> None:
    (folder / "other.json").write_text(json.dumps({"rows": []}), encoding="utf-8")
    (folder / "link.json").symlink_to("README.md")
    before = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}

    done = run(folder, out)

    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"[cost_compare.py] error: --out {out}: {message}"), done.stderr
    assert "Traceback" not in done.stderr
    assert {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()} == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_refused_without_being_opened(folder: Path) -> None:
    os.mkfifo(folder / "cost.json")

    done = run(folder, "cost.json")

    assert done.returncode == 2 and "is not a file this script wrote" in done.stderr


def test_its_own_file_is_replaced(folder: Path) -> None:
    assert run(folder, "out/cost.json").returncode == 0
    first = json.loads((folder / "out/cost.json").read_text(encoding="utf-8"))

    again = run(folder, "out/cost.json")

    assert again.returncode == 0, again.stderr
    assert "| rate |" in again.stdout
    assert json.loads((folder / "out/cost.json").read_text(encoding="utf-8")) == first
    assert [path.name for path in (folder / "out").iterdir()] == ["cost.json"]  # no temporary file left
