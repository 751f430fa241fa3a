"""`textclf retrain-pr` on an import summary it did not expect (issue 27, round 8, T-d): a truncated,
non-object, wrongly typed or non-UTF-8 .cache/retrain/import.json ended in a JSONDecodeError,
AttributeError, TypeError or UnicodeDecodeError traceback. It is named, with what to run, before
any branch is made or pushed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from textclf.release import retrain

DVC = "outs:\n- md5: {}.dir\n  path: raw\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository whose data.dvc differs from its commit, as after an import."""
    monkeypatch.chdir(tmp_path)
    Path("data.dvc").write_text(DVC.format("0" * 32))
    for command in (["init", "-q", "-b", "main"], ["add", "data.dvc"]):
        subprocess.run(["git", *command], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "data"], check=True
    )
    Path("data.dvc").write_text(DVC.format("1" * 32))
    Path(".cache/retrain").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize(
    "content",
    [
        b'{"new":',
        b"[1,2]",
        b'{"new": 5}',
        b"\xff",
        b'{"bucket": "b", "new": [5]}',
        b'{"new": []}',
        b'{"bucket": "b", "rows": "12"}',
        b"[" * 100_000,
    ],
)
def test_a_summary_it_did_not_write_is_named_before_any_branch(repo: Path, content: bytes) -> None:
    Path(".cache/retrain/import.json").write_bytes(content)
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.open_pr()
    message = str(refused.value)
    assert message.startswith(".cache/retrain/import.json: not the summary retrain-import writes ("), message
    assert message.endswith("run textclf retrain-import again")
    branch = subprocess.run(["git", "branch", "--show-current"], capture_output=True, text=True).stdout
    assert branch.strip() == "main"


def test_the_summary_retrain_import_writes_is_read(repo: Path) -> None:
    summary = retrain.ImportSummary(bucket="b", new=["incoming/a.csv"], rows=3)
    retrain.write_summary(summary)
    assert retrain.read_summary() == json.loads(Path(".cache/retrain/import.json").read_text())
    assert retrain.read_summary(Path("missing.json")) == {}
