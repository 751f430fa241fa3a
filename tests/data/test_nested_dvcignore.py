""".dvcignore files inside data.raw_dir, taken as DVC takes them (issue 27, round 10, U-i1).

prepare read every .dvcignore down the raw folder and honoured it, while `dvc add data/raw` stops at one
(".dvcignore file should not be in collected dir path", dvc_data's _build_tree): the data a user ran
prepare on could not be versioned. Now a nested .dvcignore is refused naming it and what to do, unless
DVC takes it too: one the patterns above hide is neither read nor an error, and one that hides itself
is read and honoured. Each case is checked against real DVC (`dvc add`, its .dir manifest).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.release import retrain

ROWS = "text,label\n" + "".join(
    f"note {i} on {label},{label}\n" for label in ("billing", "returns") for i in range(10)
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    (root / "data/raw").mkdir(parents=True)
    (root / "data/raw/a.csv").write_text(ROWS, encoding="utf-8")
    (root / "data/raw/x.tmp.csv").write_text(ROWS.replace("note", "draft"), encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def dvc_versions(root: Path) -> subprocess.CompletedProcess | set[str]:
    """The files `dvc add data/raw` versions (from its .dir manifest), or its failed run."""
    assert dvc(root, "init", "--no-scm", "--quiet").returncode == 0
    added = dvc(root, "add", "data/raw")
    if added.returncode != 0:
        return added
    import yaml

    digest = yaml.safe_load((root / "data/raw.dvc").read_text(encoding="utf-8"))["outs"][0]["md5"]
    manifest = root / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    return {entry["relpath"] for entry in json.loads(manifest.read_text(encoding="utf-8"))}


def read_by_prepare() -> set[str]:
    return {path.relative_to("data/raw").as_posix() for path in prepare.data_files(Path("data/raw"))}


@pytest.mark.parametrize("where", ["data/raw", "data/raw/sub"])
def test_a_dvcignore_inside_the_raw_folder_is_refused_as_dvc_refuses_it(project: Path, where: str) -> None:
    (project / where).mkdir(exist_ok=True)
    (project / where / ".dvcignore").write_text("*.tmp.csv\n", encoding="utf-8")

    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))
    message = str(refused.value)
    assert message.startswith(f"{where}/.dvcignore: a .dvcignore inside data/raw (data.raw_dir)"), message
    assert "should not be in collected dir path" in message and f"prefixed with {where}/" in message
    assert f"and delete {where}/.dvcignore" in message and "\n" not in message
    with pytest.raises(retrain.RetrainError, match=rf"^{where}/\.dvcignore: a \.dvcignore inside"):
        retrain.hidden_by_dvcignore(Path(where) / "incoming.csv", Path("data/raw"))
    with pytest.raises(prepare.DataError, match=r"a \.dvcignore inside"):
        prepare.run(DataParams(labels=None))

    failed = dvc_versions(project)  # what DVC does with the same folder
    assert isinstance(failed, subprocess.CompletedProcess), failed
    assert ".dvcignore file should not be in collected dir path" in failed.stderr + failed.stdout


def test_a_dvcignore_that_hides_itself_is_honoured_as_dvc_honours_it(project: Path) -> None:
    (project / "data/raw/.dvcignore").write_text(".dvcignore\n*.tmp.csv\n", encoding="utf-8")

    assert read_by_prepare() == {"a.csv"}
    assert retrain.hidden_by_dvcignore(Path("data/raw/incoming/y.tmp.csv"), Path("data/raw"))
    assert dvc_versions(project) == {"a.csv"}


def test_a_dvcignore_the_patterns_above_hide_is_not_read_as_dvc_does_not_read_it(project: Path) -> None:
    (project / ".dvcignore").write_text("data/raw/.dvcignore\n", encoding="utf-8")
    (project / "data/raw/.dvcignore").write_text("*.tmp.csv\n", encoding="utf-8")

    assert read_by_prepare() == {"a.csv", "x.tmp.csv"}
    assert not retrain.hidden_by_dvcignore(Path("data/raw/incoming/y.tmp.csv"), Path("data/raw"))
    assert dvc_versions(project) == {"a.csv", "x.tmp.csv"}


def test_the_repository_dvcignore_with_the_moved_lines_agrees_with_dvc(project: Path) -> None:
    """What the refusal says to do: the line moved to the repository's .dvcignore, prefixed."""
    (project / ".dvcignore").write_text("data/raw/**/*.tmp.csv\n", encoding="utf-8")

    assert read_by_prepare() == {"a.csv"}
    assert dvc_versions(project) == {"a.csv"}


@pytest.mark.parametrize("where", ["data/raw", "data/raw/incoming"])
def test_a_folder_named_dvcignore_is_refused_as_dvc_stops_on_it(project: Path, where: str) -> None:
    # Round 11, U-r11-9: prepare walked the folder and read its files (one row more than `dvc add`
    # could version), where `dvc add data/raw` ends in "[Errno 21] Is a directory".
    (project / where / ".dvcignore").mkdir(parents=True)
    (project / where / ".dvcignore/x.csv").write_text(ROWS, encoding="utf-8")

    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))
    assert str(refused.value) == (
        f"{where}/.dvcignore: a folder named .dvcignore inside data/raw (data.raw_dir); DVC reads "
        ".dvcignore as a file of patterns and `dvc add data/raw` stops on the folder ('Is a directory'): "
        "rename it, or move its files out of it"
    )

    failed = dvc_versions(project)  # what DVC does with the same folder
    assert isinstance(failed, subprocess.CompletedProcess), failed
    assert "Is a directory" in failed.stderr + failed.stdout


def test_a_folder_named_dvcignore_the_patterns_above_hide_is_left_out_as_dvc_leaves_it(project: Path) -> None:
    (project / ".dvcignore").write_text("data/raw/incoming/.dvcignore\n", encoding="utf-8")
    (project / "data/raw/incoming/.dvcignore").mkdir(parents=True)
    (project / "data/raw/incoming/.dvcignore/x.csv").write_text(ROWS, encoding="utf-8")

    assert read_by_prepare() == {"a.csv", "x.tmp.csv"}
    assert dvc_versions(project) == {"a.csv", "x.tmp.csv"}


def test_a_dvcignore_above_the_raw_folder_that_dvc_does_not_read_is_not_read_by_prepare(project: Path):
    """R14A-10: a root `.*` hides data/.dvcignore from DVC, which then versions what that file lists;
    prepare applied it anyway and left the listed file out unsaid."""
    (project / ".dvcignore").write_text(".*\n", encoding="utf-8")
    (project / "data/.dvcignore").write_text("x.tmp.csv\n", encoding="utf-8")

    read = read_by_prepare()

    assert read == {"a.csv", "x.tmp.csv"}
    assert read == dvc_versions(project)


def test_a_dvcignore_above_the_raw_folder_that_dvc_reads_still_hides(project: Path):
    (project / "data/.dvcignore").write_text("x.tmp.csv\n", encoding="utf-8")

    assert read_by_prepare() == {"a.csv"} == dvc_versions(project)


def test_a_deeper_dvcignore_brings_back_what_an_outer_one_left_out_as_dvc_does(project: Path):
    """R14A-13: the root's `/data/raw/x.tmp.csv` and data/.dvcignore's `!*.csv`: DVC takes the last
    match and versions x.tmp.csv; prepare took any match and left it out unsaid."""
    (project / ".dvcignore").write_text("/data/raw/x.tmp.csv\n", encoding="utf-8")
    (project / "data/.dvcignore").write_text("!*.csv\n", encoding="utf-8")

    read = read_by_prepare()

    assert read == {"a.csv", "x.tmp.csv"}
    assert read == dvc_versions(project)
