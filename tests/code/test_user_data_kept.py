"""`textclf sample-data` and `textclf data` never replace the user's own data without --force."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MINE = "text,label\nmy own row,billing\nanother,returns\n"


def textclf(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PATH": str(cwd / "no-tools") + os.pathsep + os.environ["PATH"],
    }
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def fake_dvc(root: Path) -> Path:
    """A `dvc` on PATH that records its arguments (the test checks whether `dvc commit` ran)."""
    tools = root / "no-tools"
    tools.mkdir()
    script = tools / "dvc"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{root}/dvc-calls"\n', encoding="utf-8")
    script.chmod(0o755)
    return root / "dvc-calls"


def test_sample_data_refuses_to_replace_the_users_messages_csv(tmp_path):
    raw = tmp_path / "data/raw"
    raw.mkdir(parents=True)
    (raw / "messages.csv").write_text(MINE, encoding="utf-8")

    done = textclf(tmp_path, "sample-data")

    assert done.returncode == 2, done.stderr
    assert "data/raw/messages.csv: exists and is not the bundled sample" in done.stderr
    assert "--force" in done.stderr and "Traceback" not in done.stderr
    assert (raw / "messages.csv").read_text(encoding="utf-8") == MINE
    assert sorted(path.name for path in raw.iterdir()) == ["messages.csv"]  # no temporary file left


def test_sample_data_with_force_replaces_it_and_again_is_a_no_op(tmp_path):
    from textclf.pipeline import sample_data

    raw = tmp_path / "data/raw"
    raw.mkdir(parents=True)
    (raw / "messages.csv").write_text(MINE, encoding="utf-8")

    assert textclf(tmp_path, "sample-data", "--force").returncode == 0
    assert (raw / "messages.csv").read_bytes() == sample_data.sample_bytes()
    again = textclf(tmp_path, "sample-data")  # the sample itself is not "the user's file"
    assert again.returncode == 0, again.stderr
    assert sorted(path.name for path in raw.iterdir()) == ["messages.csv"]


def test_data_refuses_while_data_dvc_pins_the_sample_but_data_raw_holds_the_users_files(tmp_path, repo_root):
    calls = fake_dvc(tmp_path)
    shutil.copy(repo_root / "data.dvc", tmp_path / "data.dvc")
    raw = tmp_path / "data/raw"
    raw.mkdir(parents=True)
    (raw / "messages.csv").write_text(MINE, encoding="utf-8")
    (raw / "more.jsonl").write_text('{"text": "x", "label": "billing"}\n', encoding="utf-8")

    done = textclf(tmp_path, "data")

    assert done.returncode == 2, done.stderr
    assert "data/raw: holds files that are not the bundled sample" in done.stderr
    assert "data/raw/messages.csv" in done.stderr and "data/raw/more.jsonl" in done.stderr
    assert "dvc commit --force data.dvc" in done.stderr and "Traceback" not in done.stderr
    assert (raw / "messages.csv").read_text(encoding="utf-8") == MINE
    assert not calls.exists(), "dvc commit ran although nothing was written"

    forced = textclf(tmp_path, "data", "--force")
    assert forced.returncode == 0, forced.stderr
    assert calls.read_text().startswith("commit --force")
    assert (raw / "more.jsonl").exists()  # --force replaces messages.csv only


def test_data_on_a_fresh_clone_still_writes_the_sample(tmp_path, repo_root):
    calls = fake_dvc(tmp_path)
    shutil.copy(repo_root / "data.dvc", tmp_path / "data.dvc")
    done = textclf(tmp_path, "data")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data/raw/messages.csv").is_file() and calls.read_text().startswith("commit")


def test_a_folder_the_command_cannot_write_is_one_message(tmp_path, repo_root):
    """A machine's refusal (here: reports/ is a file) names the path, without a traceback."""
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    (tmp_path / "metrics").mkdir()
    # The committed metrics: the gate refuses an eval.json that leaves out params.yaml's classes.
    shutil.copy(repo_root / "metrics/eval.json", tmp_path / "metrics/eval.json")
    (tmp_path / "reports").write_text("not a folder", encoding="utf-8")
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"], cwd=tmp_path, check=True
    )
    done = textclf(tmp_path, "gate", "--champion", "main")
    assert done.returncode == 2, done.stderr
    assert "error: reports" in done.stderr and "Traceback" not in done.stderr


def test_data_into_another_folder_than_data_dvc_tracks_is_refused_before_anything_is_written(
    tmp_path, repo_root
):
    """R14A-3: `data --out data/other` checked data/other for the user's files, wrote the sample there,
    then ran `dvc commit --force data.dvc`, which committed data/raw with the user's unversioned
    file in it; without a data/raw the commit failed after the sample was written."""
    calls = fake_dvc(tmp_path)
    shutil.copy(repo_root / "data.dvc", tmp_path / "data.dvc")
    raw = tmp_path / "data/raw"
    raw.mkdir(parents=True)
    (raw / "mine.csv").write_text(MINE, encoding="utf-8")

    for out in ("data/other", "data/raw/../other2"):
        done = textclf(tmp_path, "data", "--out", out)

        assert done.returncode == 2, done.stderr
        assert f"--out {out}: not the folder data.dvc tracks (data/raw)" in done.stderr, done.stderr
        assert "pass --out data/raw, or leave it out" in done.stderr and "nothing was written" in done.stderr
        assert "Traceback" not in done.stderr
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["raw"]
    assert not calls.exists(), "dvc ran although --out is not the folder data.dvc tracks"
    assert (tmp_path / "data.dvc").read_bytes() == (repo_root / "data.dvc").read_bytes()


def test_data_into_the_tracked_folder_named_another_way_still_writes_the_sample(tmp_path, repo_root):
    fake_dvc(tmp_path)
    shutil.copy(repo_root / "data.dvc", tmp_path / "data.dvc")

    done = textclf(tmp_path, "data", "--out", "./data/raw")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data/raw/messages.csv").is_file()


@pytest.mark.parametrize("name", ["params.yaml", "dvc.lock", ""])
def test_data_with_a_dvc_file_that_is_none_names_it(tmp_path, repo_root, name):
    """`data --dvc-file params.yaml` said it tracked data other than the sample and advised `dvc
    remote list` and AWS credentials; `--dvc-file ''` said ": is a folder; ... (git checkout )"."""
    calls = fake_dvc(tmp_path)
    for file in ("params.yaml", "dvc.lock"):
        shutil.copy(repo_root / file, tmp_path / file)

    done = textclf(tmp_path, "data", "--dvc-file", name)

    assert done.returncode == 2, done.stderr
    said = (
        f"{name}: not a .dvc file (it has no `outs:` list of what DVC tracks)"
        if name
        else "--dvc-file '': names no file; pass --dvc-file data.dvc (the default)"
    )
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not calls.exists() and not (tmp_path / "data").exists()
