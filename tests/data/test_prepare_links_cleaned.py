"""A raw data file that is a symbolic link into a folder `make clean` removes (work/, build/,
reports/, dvc_plots/) or a stage writes is refused by prepare, naming the folder (issue 27 round 9,
D-i: prepare read it, then make clean deleted the user's file and left the link dangling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

ROWS = "text,label\n" + "".join(
    f"message {n} about {label},{label}\n" for label in ("a", "b") for n in range(20)
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("folder", ["work/mine", "build", "reports", "dvc_plots", "Work/mine"])
def test_a_link_into_a_cleaned_folder_is_refused(repo: Path, folder: str) -> None:
    (repo / folder).mkdir(parents=True)
    (repo / folder / "messages.csv").write_text(ROWS, encoding="utf-8")
    depth = "../" * 2
    (repo / "data/raw/messages.csv").symlink_to(f"{depth}{folder}/messages.csv")

    with pytest.raises(DataError) as raised:
        prepare.run(DataParams())

    message = str(raised.value)
    top = folder.split("/")[0].casefold()
    assert message.startswith("data/raw/messages.csv: a symbolic link to "), message
    assert f"inside {top}/, which a stage writes or `make clean` removes" in message
    assert (repo / folder / "messages.csv").exists()


def test_a_link_to_another_folder_of_the_repository_is_read(repo: Path) -> None:
    (repo / "shared").mkdir()
    (repo / "shared/messages.csv").write_text(ROWS, encoding="utf-8")
    (repo / "data/raw/messages.csv").symlink_to("../../shared/messages.csv")

    assert prepare.run(DataParams())["rows"]["raw"] == 40
