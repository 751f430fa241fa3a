"""A prepare stopped by SIGTERM (a cancelled job, `timeout`, `dvc repro` stopped) removes its spool
folder, data/.prepare.<random>.tmp, the size of the data; one that a killed run left is removed at
the next start (issue 27 round 8, U-k1: four stopped runs of a 28 MB CSV left 157 MB, hidden by
.dvcignore, never removed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from textclf.config import DataParams
from textclf.pipeline import prepare

SRC = Path(prepare.__file__).resolve().parents[2]  # the code under test, in the child too
LABELS = ["account", "billing", "cancellation", "delivery", "product", "returns"]


def spools(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".prepare"))


def test_sigterm_removes_the_spool_folder(tmp_path, repo_root):
    shutil.copy(repo_root / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data/raw").mkdir(parents=True)
    with (tmp_path / "data/raw/big.csv").open("w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        for n in range(300_000):
            handle.write(f"message number {n} about this and that,{LABELS[n % 6]}\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    started = subprocess.Popen(
        [sys.executable, "-m", "textclf.cli", "prepare"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not spools(tmp_path / "data") and started.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert spools(tmp_path / "data"), "prepare ended before its spool folder was seen"

    started.send_signal(signal.SIGTERM)
    _, stderr = started.communicate(timeout=60)

    assert started.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert spools(tmp_path / "data") == []
    assert not (tmp_path / "data/prepared").exists()


def test_a_spool_a_killed_run_left_is_removed_at_start(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    rows = "".join(f"message {n} about {label},{label}\n" for label in LABELS[:2] for n in range(20))
    (tmp_path / "data/raw/a.csv").write_text("text,label\n" + rows, encoding="utf-8")
    stale = tmp_path / "data/.prepare.k3x_9abc.tmp"
    stale.mkdir()
    (stale / "rows.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "data/.prepare.mine.tmp").mkdir()  # not a name prepare makes: left alone

    prepare.run(DataParams())

    assert spools(tmp_path / "data") == [".prepare.mine.tmp"]


def test_a_file_or_link_named_like_a_spool_is_left_alone(tmp_path):
    (tmp_path / ".prepare.k3x_9abc.tmp").write_text("mine\n", encoding="utf-8")
    (tmp_path / "kept").mkdir()
    (tmp_path / ".prepare.abcdefgh.tmp").symlink_to("kept", target_is_directory=True)

    prepare.remove_stale_spools(tmp_path)

    assert (tmp_path / ".prepare.k3x_9abc.tmp").read_text(encoding="utf-8") == "mine\n"
    assert (tmp_path / ".prepare.abcdefgh.tmp").is_symlink() and (tmp_path / "kept").is_dir()
