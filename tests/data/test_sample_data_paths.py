"""`textclf sample-data --out` paths that cannot work are refused before any folder is made (issue
27, round 7, U-9: `--out d3/../mydir`, refused because mydir held the user's file, still left an
empty d3 behind), and a write that fails removes the folders it made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from textclf.pipeline import sample_data


def listing(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


@pytest.fixture
def repository(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "main"], check=True)
    (tmp_path / "mydir").mkdir()
    (tmp_path / "mydir/messages.csv").write_text("text,label\nmine,a\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("out", ["d3/../mydir", "d3/../new", "d3/d4/../../mydir"])
def test_dot_dot_after_a_folder_that_is_not_there_makes_nothing(repository, out):
    before = listing(repository)

    answer = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "sample-data", "--out", out], capture_output=True, text=True
    )

    assert answer.returncode == 2, answer.stderr
    assert "leads nowhere" in answer.stderr and "Traceback" not in answer.stderr
    assert listing(repository) == before  # no d3, no new folder


def test_a_write_that_fails_removes_the_folders_it_made(repository, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sample_data.tempfile, "NamedTemporaryFile", refuse)
    before = listing(repository)

    with pytest.raises(PermissionError):
        sample_data.write_sample(Path("a/b/c"))

    assert listing(repository) == before


def test_dot_dot_through_an_existing_folder_still_works(repository):
    (repository / "d3").mkdir()

    written = sample_data.write_sample(Path("d3/../fresh"))

    assert written.resolve() == (repository / "fresh/messages.csv").resolve()
