"""What DVC leaves out of a tracked folder without any .dvcignore (issue 27 round 10, F-o): `.git` and
`.hg` folders (and a `.git` file) at any depth are not read by prepare either; a `.dvc` folder, which
makes the folder holding it a DVC repository of its own that `dvc add` leaves out whole (an empty
dataset for a `.dvc` in data/raw), is refused naming it; retrain-import refuses keys that would make
one. prepare read them all, so the model trained on rows the commit's data.dvc did not pin."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.data.test_nested_dvcignore import ROWS, dvc_versions, project, read_by_prepare  # noqa: F401
from textclf.pipeline import prepare
from textclf.release import retrain


@pytest.mark.parametrize("where", [".git/extra.csv", ".hg/extra.csv", "sub/.git/objects/extra.csv"])
def test_git_and_mercurial_folders_are_left_out_as_dvc_leaves_them_out(project: Path, where: str) -> None:  # noqa: F811 (the fixture)
    (project / "data/raw" / where).parent.mkdir(parents=True)
    (project / "data/raw" / where).write_text(ROWS, encoding="utf-8")
    (project / "data/raw/x.tmp.csv").unlink()

    assert read_by_prepare() == {"a.csv"}
    assert dvc_versions(project) == {"a.csv"}


def test_a_git_file_is_left_out_as_dvc_leaves_it_out(project: Path) -> None:  # noqa: F811 (the fixture)
    (project / "data/raw/sub").mkdir()
    (project / "data/raw/sub/.git").write_text("gitdir: ../../.git/worktrees/sub\n", encoding="utf-8")
    (project / "data/raw/x.tmp.csv").unlink()

    assert read_by_prepare() == {"a.csv"}
    assert dvc_versions(project) == {"a.csv"}


@pytest.mark.parametrize("where", ["data/raw/.dvc", "data/raw/incoming/.dvc"])
def test_a_dvc_folder_inside_the_raw_folder_is_refused(project: Path, where: str) -> None:  # noqa: F811 (the fixture)
    (project / where).mkdir(parents=True)
    (project / "data/raw/incoming/old.csv").parent.mkdir(exist_ok=True)
    (project / "data/raw/incoming/old.csv").write_text(ROWS, encoding="utf-8")

    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))

    folder = where.removesuffix("/.dvc")
    assert str(refused.value).startswith(
        f"{where}: a DVC repository's folder inside data/raw (data.raw_dir): DVC leaves {folder} out"
    ), refused.value
    versions = dvc_versions(project)  # what DVC does: the folder's files are not versioned
    assert isinstance(versions, subprocess.CompletedProcess) or "incoming/old.csv" not in versions


@pytest.mark.parametrize("listed", [False, True])
def test_a_dvc_file_inside_the_raw_folder_is_refused_even_listed_in_dvcignore(
    project: Path,  # noqa: F811 (the fixture)
    listed: bool,
) -> None:
    # Round 10, F-s: with a `.dvc` file in data/raw `dvc add` recorded no file at all, while prepare,
    # told to list the file in .dvcignore, read every one.
    (project / "data/raw/.dvc").write_text("x\n", encoding="utf-8")
    if listed:
        with (project / ".dvcignore").open("a", encoding="utf-8") as ignore:
            ignore.write("data/raw/.dvc\n")

    with pytest.raises(
        prepare.DataError, match=r"^data/raw/\.dvc: a DVC repository's marker inside data/raw"
    ):
        prepare.data_files(Path("data/raw"))


@pytest.mark.parametrize("key", ["incoming/.dvc/new.csv", "incoming/a/.git/new.csv", "incoming/.HG/new.csv"])
def test_retrain_import_refuses_a_key_through_such_a_folder(key: str) -> None:
    with pytest.raises(retrain.RetrainError, match=r"folder, which DVC leaves out of the dataset"):
        retrain.relative_path(key)


@pytest.mark.parametrize("name", [b"caf\xe9.csv", b"d\xe9j\xe0/a.csv"])
def test_a_name_that_is_not_utf8_is_named_and_refused(project: Path, name: bytes) -> None:  # noqa: F811
    """U-r10-3: prepare wrote the name into the splits as bytes that are not UTF-8; train refused them."""
    path = bytes(project / "data/raw") + b"/" + name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(ROWS)

    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))

    shown = repr(name.split(b"/")[0])
    assert str(refused.value).startswith("data/raw: holds " + shown + ", a name that is not UTF-8"), (
        refused.value
    )
