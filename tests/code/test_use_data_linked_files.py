"""use-data and a params.yaml or data.dvc that is a symbolic link (R13A-8): it wrote each anew and
renamed it over the path, so the link became a regular file and the file it led to kept the old
settings, without a word (a team's params.yaml linked to a shared configs/params.yaml). Now it
refuses, naming the link and what to do, before anything is changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.code.test_use_data import USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)


@pytest.mark.parametrize("name", ["params.yaml", "data.dvc"])
def test_a_linked_file_use_data_writes_is_refused_and_nothing_changes(clone: Path, name: str) -> None:  # noqa: F811
    (clone / "configs").mkdir()
    (clone / name).replace(clone / "configs" / name)
    os.symlink(f"configs/{name}", clone / name)
    before = snapshot(clone)

    done = textclf(clone, *USE)

    assert done.returncode == 2, done.stderr
    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())  # unfolded
    assert (
        f"{name} is a symbolic link (to configs/{name}); use-data writes {name} anew, which would replace "
        "the link with a file" in said
    )
    assert f"cp --remove-destination configs/{name} {name}" in said
    assert "Traceback" not in done.stderr
    assert (clone / name).is_symlink() and snapshot(clone) == before


def test_a_params_file_outside_the_repository_is_refused(clone: Path) -> None:  # noqa: F811
    """R13A-16: `--params ../other/params.yaml` (another clone's) was rewritten while this repository's
    data.dvc and data/raw changed and its own params.yaml, which the pipeline reads, did not."""
    other = clone.parent / "other"
    other.mkdir()
    (other / "params.yaml").write_bytes((clone / "params.yaml").read_bytes())
    before, theirs = snapshot(clone), (other / "params.yaml").read_bytes()

    done = textclf(clone, *USE, "--params", "../other/params.yaml")

    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())
    assert done.returncode == 2, said
    assert "--params ../other/params.yaml: leads to" in said and "outside the repository" in said
    assert "pass --params params.yaml, or leave it out; nothing was changed" in said
    assert snapshot(clone) == before and (other / "params.yaml").read_bytes() == theirs


@pytest.mark.parametrize("other", ["configs/p.yaml", "data/params.yaml"])
def test_a_params_file_inside_the_repository_other_than_params_yaml_is_refused(
    clone: Path,  # noqa: F811
    other: str,
) -> None:
    """R13A-16: `--params configs/p.yaml` was edited while data.dvc and data/raw changed, and the
    stages went on reading params.yaml's old data settings against the new data."""
    (clone / other).parent.mkdir(exist_ok=True)
    (clone / other).write_bytes((clone / "params.yaml").read_bytes())
    before = snapshot(clone)

    done = textclf(clone, *USE, "--params", other)

    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())
    assert done.returncode == 2, said
    assert f"--params {other}: not the repository's params.yaml, the file the pipeline's stages read" in said
    assert "pass --params params.yaml, or leave it out" in said and "nothing was changed" in said
    assert "Traceback" not in done.stderr
    assert snapshot(clone) == before


def test_params_yaml_named_another_way_is_the_repositorys(clone: Path) -> None:  # noqa: F811
    done = textclf(clone, *USE, "--params", "./params.yaml")
    assert done.returncode == 0, done.stderr
    assert "text_column: body" in (clone / "params.yaml").read_text(encoding="utf-8")
