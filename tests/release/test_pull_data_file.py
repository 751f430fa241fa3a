"""`textclf pull-data` on a data.dvc that is not a DVC file (issue 27, round 8, T-f): it read the file
unguarded after `dvc pull` failed (YAML, attribute, type and Unicode tracebacks), and an empty one was
"data pulled" although nothing was. The file is checked first, named, and restoring it is said."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from textclf.release import retrain


@pytest.fixture
def no_dvc(tmp_path: Path, monkeypatch) -> Path:
    """A `dvc` on PATH that records being called and succeeds, as `dvc pull` does on an empty file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "dvc"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> '{calls}'\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return calls


@pytest.mark.parametrize(
    "content",
    [b"", b"outs: [", b"[1, 2]", b"outs: 5", b"outs: [5]", b"\xff\xfe", b"outs: []", b"outs:\n- md5: x\n"],
)
def test_a_file_that_is_not_a_dvc_file_is_named_and_nothing_is_pulled(no_dvc: Path, content: bytes) -> None:
    Path("data.dvc").write_bytes(content)
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.pull_data()
    assert str(refused.value).startswith("data.dvc: not a DVC file ("), refused.value
    assert str(refused.value).endswith("restore it (git checkout data.dvc)")
    assert not no_dvc.exists()  # dvc was not run


def test_a_dvc_file_is_pulled(no_dvc: Path) -> None:
    Path("data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: raw\n")
    retrain.pull_data()
    assert no_dvc.read_text().split() == ["pull", "data.dvc"]
    assert retrain.dataset_hash() == "0123456789abcdef0123456789abcdef"
