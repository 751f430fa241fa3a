"""A data provider's object below a folder named `.dvcignore` (issue 27, U-r11-9): the retrain import
placed `incoming/.dvcignore/x.csv` in the raw data folder, and `dvc add` then ended every retrain run
with "unexpected error - [Errno 21] Is a directory": DVC opens the `.dvcignore` of every folder it
walks as its ignore rules. Such a key is refused before anything is downloaded, named, as a key
through a `.dvc`, `.git` or `.hg` folder is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflows.conftest import BIN, sh, write_rows
from tests.workflows.test_retrain_keys import folder, good_csv, import_now, put, tree  # noqa: F401
from textclf.release import retrain

KEYS = ["incoming/.dvcignore/x.csv", "incoming/a/.dvcignore/b/x.jsonl", "incoming/.DVCIGNORE/x.parquet"]


@pytest.mark.parametrize("key", KEYS)
def test_a_key_through_a_dvcignore_folder_is_named(key: str) -> None:
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.relative_path(key)

    message = str(refused.value)
    assert message.startswith(f"s3 key {key!r} cannot be imported: it has a ") and "\n" not in message
    assert "folder: DVC reads the `.dvcignore` of every folder in the dataset as its ignore rules" in message
    assert message.endswith("rename the object to incoming/<folder>/<file>.csv (nothing was imported)")


@pytest.mark.parametrize(
    "key", ["incoming/.dvcignore.csv", "incoming/x.dvcignore/a.csv", "incoming/dvcignore/a.csv"]
)
def test_names_that_only_look_like_it_pass(key: str) -> None:
    assert retrain.relative_path(key) == Path(key.removeprefix("incoming/"))


def test_the_import_refuses_it_and_writes_nothing(folder, tmp_path):  # noqa: F811
    put("incoming/fine.csv", good_csv())  # a good object beside it is not imported either
    put("incoming/.dvcignore/x.csv", good_csv("third"))
    before = tree(tmp_path)

    with pytest.raises(
        retrain.RetrainError, match=r"^s3 key 'incoming/\.dvcignore/x\.csv' cannot be imported"
    ):
        import_now()

    assert tree(tmp_path) == before
    assert not (folder / "data/raw/incoming").exists()


def test_dvc_add_fails_on_such_a_folder(tmp_path):
    """Why it is refused: what `dvc add` does with the file the import used to place."""
    sh("git", "init", "-q", cwd=tmp_path)
    dvc = BIN / "dvc"
    sh(dvc, "init", "-q", cwd=tmp_path)
    write_rows(tmp_path / "data/raw/messages.csv", [("a message", "billing")])
    write_rows(tmp_path / "data/raw/incoming/.dvcignore/x.csv", [("another", "billing")])

    result = sh(dvc, "add", "data/raw", cwd=tmp_path, check=False)

    assert result.returncode != 0
    assert "Is a directory" in result.stdout + result.stderr
