"""`make clean` keeps what a link inside data.raw_dir or a local model.name leads to (issue 27,
round 9, D-i: data/raw/messages.csv a link into work/ was read by prepare, and make clean removed
work/ with the user's file, leaving the link dangling)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.code.test_clean_keeps_linked_data import root  # noqa: F401 (the fixture)
from tests.workflows.test_make_clean import make_clean
from textclf.config import folders_to_keep


@pytest.fixture
def linked_file(root: Path) -> Path:  # noqa: F811
    """data/raw a real folder whose messages.csv is a link to work/mine/messages.csv."""
    (root / "data/raw").unlink()
    (root / "data/raw").mkdir()
    (root / "work/mine").mkdir()
    os.replace(root / "work/mydata/messages.csv", root / "work/mine/messages.csv")
    (root / "data/raw/messages.csv").symlink_to(Path("..", "..", "work", "mine", "messages.csv"))
    return root


def test_clean_refuses_a_folder_a_raw_file_links_into(linked_file: Path) -> None:
    result = make_clean(linked_file)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "work holds data.raw_dir (data/raw)'s linked data/raw/messages.csv, which is" in result.stderr
    assert "nothing was removed" in result.stderr
    assert (linked_file / "work/mine/messages.csv").exists(), "make clean removed the user's file"
    assert (linked_file / "models/model").exists(), "make clean removed files before refusing"


def test_a_linked_subfolder_and_links_inside_it_are_kept(linked_file: Path, monkeypatch) -> None:
    monkeypatch.chdir(linked_file)
    (linked_file / "build/more").mkdir(parents=True)
    (linked_file / "reports").mkdir()
    (linked_file / "reports/x.csv").write_text("text,label\nb,a\n")
    (linked_file / "build/more/x.csv").symlink_to(Path("..", "..", "reports", "x.csv"))
    (linked_file / "data/raw/more").symlink_to(Path("..", "..", "build", "more"))
    (linked_file / "data/raw/loop").symlink_to(Path(".."))  # a cycle is walked once
    kept = dict((target, setting) for setting, target in folders_to_keep())
    assert os.path.realpath("build/more") in kept and os.path.realpath("reports/x.csv") in kept, kept
    assert os.path.realpath("work/mine/messages.csv") in kept


def test_clean_still_removes_work_when_links_lead_elsewhere(linked_file: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    os.replace(linked_file / "work/mine/messages.csv", outside)
    (linked_file / "data/raw/messages.csv").unlink()
    (linked_file / "data/raw/messages.csv").symlink_to(outside)
    result = make_clean(linked_file)
    assert result.returncode == 0, result.stderr
    assert not (linked_file / "work").exists() and outside.exists()
