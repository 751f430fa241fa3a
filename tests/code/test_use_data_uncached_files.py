"""use-data's refusal of files it did not write says which --force could bring back (R13A-10): it said
"what data.dvc tracked stays in DVC's cache and git history" for every such file, and a file copied
into data/raw and never `dvc add`ed (in no cache at all) was then deleted for good by --force. Now the
refusal names the files in no DVC cache apart ("--force would delete them for good: move them out of
the folder first"), and --force says which it deleted for good."""

from __future__ import annotations

from pathlib import Path

from tests.code.test_use_data import USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)
from textclf.pipeline import own_data


def unfolded(stderr: str) -> str:
    return " ".join(line.removeprefix("[textclf]").strip() for line in stderr.splitlines())


def test_a_file_in_no_dvc_cache_is_named_apart_and_force_says_it_deleted_it(clone: Path) -> None:  # noqa: F811
    (clone / "data/raw/mine.csv").write_text('text,label\n"my only copy",x\n', encoding="utf-8")
    before = snapshot(clone)

    refused = textclf(clone, *USE)

    said = unfolded(refused.stderr)
    assert refused.returncode == 2 and snapshot(clone) == before
    assert (
        "data/raw/mine.csv: in no DVC cache, so --force would delete them for good: move them out of the "
        "folder first" in said
    ), said
    assert "stays in DVC's cache" not in said

    forced = textclf(clone, *USE, "--force")

    assert forced.returncode == 0, forced.stderr
    assert "replaced data/raw/mine.csv (it was in no DVC cache: deleted for good)" in unfolded(forced.stderr)


def test_a_file_whose_content_dvc_holds_is_named_as_one_force_can_bring_back(clone: Path) -> None:  # noqa: F811
    mine = clone / "data/raw/mine.csv"
    mine.write_text('text,label\n"pinned once",x\n', encoding="utf-8")
    digest = own_data.md5(mine)
    cached = clone / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(mine.read_bytes())

    said = unfolded(textclf(clone, *USE).stderr)

    assert "data/raw/mine.csv: DVC's cache holds a copy" in said and "in no DVC cache" not in said, said
