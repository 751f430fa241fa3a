"""What stands where use-data puts the file is named (R13A-12): a folder under the file's name in
data/raw was "data/.use-data.qh06w6et/ud.csv: Is a directory" (a staging folder that no longer
exists), a file in place of data/raw or of data/ "data/raw: File exists; check the path, its
permissions and free space", both from the generic OSError fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.code.test_use_data import SRC, USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)


def unfolded(stderr: str) -> str:
    return " ".join(line.removeprefix("[textclf]").strip() for line in stderr.splitlines())


def test_a_folder_under_the_files_name_is_named(clone: Path) -> None:  # noqa: F811
    (clone / "data/raw/spam.jsonl").mkdir()
    before = snapshot(clone)

    done = textclf(clone, *USE)

    said = unfolded(done.stderr)
    assert done.returncode == 2 and snapshot(clone) == before
    assert "error: data/raw/spam.jsonl is a folder: use-data writes your file there under its name" in said, (
        said
    )
    assert ".use-data." not in said


@pytest.mark.parametrize(("blocked", "where"), [("data/raw", "data.raw_dir"), ("data", "on the way to")])
def test_a_file_in_place_of_the_data_folder_is_named(clone: Path, blocked: str, where: str) -> None:  # noqa: F811
    shutil.rmtree(clone / blocked)
    (clone / blocked).write_text("not a folder\n", encoding="utf-8")

    done = textclf(clone, *USE)

    said = unfolded(done.stderr)
    assert done.returncode == 2
    assert (
        f"error: {blocked} ({where}" in said
        and "is a file, not a folder: use-data puts your file in data/raw" in said
    ), said
    assert "File exists" not in said and (clone / blocked).read_text(encoding="utf-8") == "not a folder\n"


def test_a_data_folder_that_is_a_link_leading_nowhere_is_named(clone: Path) -> None:  # noqa: F811
    shutil.rmtree(clone / "data/raw")
    (clone / "data/raw").symlink_to("../elsewhere")

    done = textclf(clone, *USE)

    said = unfolded(done.stderr)
    assert done.returncode == 2 and (clone / "data/raw").is_symlink()
    assert "error: data/raw is a symbolic link that leads nowhere (to ../elsewhere)" in said, said
    assert "File exists" not in said


@pytest.mark.parametrize("argument", [".", "./", "..", "/", "", "data/raw/..", "data"])
def test_a_folder_given_as_the_data_file_is_named_as_such(clone: Path, argument: str) -> None:  # noqa: F811
    """R14A-7: `use-data .` (or .., /, '', data/raw/..) was told to move or rename data/raw (or
    data/), a folder under the argument's name in data/raw, instead of that it named no data file."""
    before = snapshot(clone)

    done = textclf(clone, "use-data", "--text-column", "body", "--label-column", "kind", "--", argument)

    said = unfolded(done.stderr)
    assert done.returncode == 2 and snapshot(clone) == before, said
    shown = argument or "''"
    assert (
        f"error: {shown}: is a folder, not a data file; give the path of your CSV, JSONL or Parquet" in said
    )
    assert "move or rename" not in said and "Traceback" not in said


def test_a_second_use_data_while_one_runs_is_refused_and_the_first_keeps_its_result(
    clone: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """R14A-6: two use-data runs at once were not serialised: the one that failed put back the
    params.yaml it had read over the other's, whose success was then half undone."""
    tools = tmp_path / "slow-dvc"
    tools.mkdir()
    marker = tmp_path / "dvc-started"
    (tools / "dvc").write_text(f'#!/bin/sh\ntouch "{marker}"\nsleep 3\n', encoding="utf-8")
    (tools / "dvc").chmod(0o755)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PATH": str(tools) + os.pathsep + str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "textclf.cli", *USE], cwd=clone, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()[1]
            time.sleep(0.05)
        during = snapshot(clone)

        second = textclf(clone, *USE, path=env["PATH"])

        said = unfolded(second.stderr)
        assert second.returncode == 2, said
        assert "another `textclf use-data` (or `make use-data`) is running in this repository" in said, said
        assert "nothing was changed" in said and "Traceback" not in said
        assert snapshot(clone) == during
    finally:
        _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert "text_column: body" in (clone / "params.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("written", "as_written"), [("  text_column: text", '  "text_column": text')])
def test_a_data_section_use_data_cannot_edit_is_named_without_a_temporary_file(
    clone: Path,  # noqa: F811
    written: str,
    as_written: str,
) -> None:
    """A quoted key (or a space before a colon) in params.yaml's data section ended in
    "`.use-data.xxxx/params.yaml`: line 9: key 'text_column' is given twice": a temporary file the
    user never sees, and a duplicate the user did not write."""
    params = clone / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace(written, as_written, 1), encoding="utf-8")
    before = snapshot(clone)

    done = textclf(clone, *USE)

    said = unfolded(done.stderr)
    assert done.returncode == 2 and snapshot(clone) == before, said
    assert "params.yaml: could not set data.text_column, data.label_column, data.labels in place" in said, (
        said
    )
    assert "set them by hand (data.text_column: 'body', data.label_column: 'kind'" in said
    assert ".use-data." not in said and "given twice" not in said
