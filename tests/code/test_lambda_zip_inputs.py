"""`python -m textclf.lambda_zip MODULE TARGET.zip` (make lambda-zip, drift-zip, proxy-zip): a module
it cannot use is one line naming it, exit 2, not a traceback; it makes TARGET's own folder (build/ in a
fresh clone) but not a chain of missing folders (issue 27 round 8, U-l1: it made /nonexistent/dir/)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from textclf import lambda_zip

SRC = Path(lambda_zip.__file__).resolve().parents[1]  # the code under test, in the child too


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf.lambda_zip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("module", "said"),
    [
        ("textclf.nosuch", "MODULE 'textclf.nosuch': cannot be imported"),
        ("../../etc", "MODULE '../../etc': not a module of this package"),
        ("os", "MODULE 'os': not a module of this package"),
        ("textclf.text", "MODULE 'textclf.text': lists no ZIP_FILES"),
    ],
)
def test_a_module_it_cannot_use_is_one_line(tmp_path, module, said):
    done = run(tmp_path, module, "out.zip")

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {said}") and "Traceback" not in done.stderr, done.stderr
    assert "textclf.release.redeploy" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_folders_on_the_way_to_the_target_are_not_made(tmp_path):
    done = run(tmp_path, "textclf.release.redeploy", "nonexistent/dir/x.zip")

    assert done.returncode == 2 and "the folder nonexistent does not exist" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_target_folder_itself_is_made_as_in_a_fresh_clone(tmp_path):
    done = run(tmp_path, "textclf.release.redeploy", "build/redeploy.zip")

    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "build/redeploy.zip") as archive:
        assert "textclf/release/redeploy.py" in archive.namelist()
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["redeploy.zip"]
