"""use-data's all or nothing holds when the run is terminated (SIGTERM: a cancelled CI job, `timeout`,
`kill`) as it does on Ctrl-C: the files --force set aside come back under their own names, params.yaml
and data.dvc as they were, no hidden folder left, exit 143."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.code.test_use_data import SRC, USE, clone, snapshot, textclf  # noqa: F401 (clone: the fixture)
from textclf.pipeline import own_data


def test_sigterm_while_tracking_puts_every_file_back_and_exits_143(clone, tmp_path):  # noqa: F811 (the fixture)
    (clone / "data/raw/mine.csv").write_text("text,label\nmy own row,ham\n", encoding="utf-8")
    tools = tmp_path / "terminating-dvc"
    tools.mkdir()
    # `dvc add` runs last, after the files were moved and params.yaml and data.dvc written.
    (tools / "dvc").write_text("#!/bin/sh\nkill -TERM $PPID\nexec sleep 10\n", encoding="utf-8")
    (tools / "dvc").chmod(0o755)
    before = snapshot(clone)

    done = textclf(clone, *USE, "--force", path=str(tools) + os.pathsep + os.environ["PATH"])

    assert done.returncode == 143, done.stderr
    assert "terminated (SIGTERM): params.yaml, data.dvc and data/raw are as they were" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(clone) == before
    assert not list((clone / "data").glob(".use-data.*"))


def test_the_files_set_aside_keep_their_names(tmp_path):
    raw, staging = tmp_path / "data/raw", tmp_path / "data/.use-data.x"
    (raw / "sub").mkdir(parents=True)
    staging.mkdir()
    (raw / "messages.csv").write_text("a\n", encoding="utf-8")
    (raw / "sub/mine.csv").write_text("b\n", encoding="utf-8")
    (staging / "new.csv").write_text("c\n", encoding="utf-8")
    params, dvc_file = tmp_path / "params.yaml", tmp_path / "data.dvc"
    params.write_text("data: {}\n", encoding="utf-8")
    placement = own_data.Placement(
        staging / "new.csv", raw / "new.csv", ["a"], Counter(), [raw / "messages.csv", raw / "sub/mine.csv"]
    )
    seen: list[str] = []

    def track() -> None:
        backup = staging / own_data.REPLACED
        seen.extend(sorted(p.relative_to(backup).as_posix() for p in backup.rglob("*") if p.is_file()))

    own_data.apply(placement, staging, raw, params, "data: {}\n", dvc_file, track)

    assert seen == ["messages.csv", "sub/mine.csv"]


def test_files_that_cannot_be_put_back_are_named_with_the_folder_that_keeps_them(tmp_path, monkeypatch):
    raw, staging = tmp_path / "data/raw", tmp_path / "data/.use-data.x"
    raw.mkdir(parents=True)
    staging.mkdir()
    (raw / "mine.csv").write_text("a\n", encoding="utf-8")
    (staging / "new.csv").write_text("c\n", encoding="utf-8")
    params, dvc_file = tmp_path / "params.yaml", tmp_path / "data.dvc"
    params.write_text("data: {}\n", encoding="utf-8")
    placement = own_data.Placement(staging / "new.csv", raw / "new.csv", ["a"], Counter(), [raw / "mine.csv"])
    real_replace = Path.replace

    def track() -> None:
        def refuse_back(self, target):
            if Path(target) == raw / "mine.csv":
                raise PermissionError(13, "Permission denied")
            return real_replace(self, target)

        monkeypatch.setattr(Path, "replace", refuse_back)
        raise KeyboardInterrupt

    try:
        own_data.apply(placement, staging, raw, params, "data: {}\n", dvc_file, track)
    except own_data.DataError as error:
        message = str(error)
    monkeypatch.undo()

    kept = staging / own_data.REPLACED / "mine.csv"
    assert f"in {staging / own_data.REPLACED} under their own names" in message and str(raw) in message
    assert kept.read_text(encoding="utf-8") == "a\n"
    own_data.discard(staging)
    assert kept.exists()


def test_sigterm_while_dvc_add_runs_stops_dvc_before_data_dvc_is_put_back(clone, tmp_path):  # noqa: F811
    """R14A-1: a SIGTERM to textclf alone (a CI cancel, `kill`) while `dvc add` ran put data.dvc back
    while dvc went on and wrote it after: data.dvc pinned the new file, params.yaml and data/raw were
    the old ones, and the run said all three were as they were. dvc is now stopped, and waited for,
    before anything is put back."""
    tools = tmp_path / "slow-dvc"
    tools.mkdir()
    # A dvc that writes data.dvc a moment after textclf is told to stop, unless it is stopped first.
    (tools / "dvc").write_text(
        "#!/bin/sh\nkill -TERM $PPID\nsleep 1\nprintf 'outs:\\n- md5: late.dir\\n' > data.dvc\n",
        encoding="utf-8",
    )
    (tools / "dvc").chmod(0o755)
    before = snapshot(clone)

    done = textclf(clone, *USE, path=str(tools) + os.pathsep + os.environ["PATH"])
    time.sleep(2)  # the old code's dvc, still running, has written data.dvc by now

    assert done.returncode == 143, done.stderr
    assert "terminated (SIGTERM): params.yaml, data.dvc and data/raw are as they were" in done.stderr
    assert snapshot(clone) == before


def test_sigterm_after_use_data_finished_says_it_had_finished(clone, tmp_path):  # noqa: F811
    """A signal while the next steps were printed ended use-data without a word, exit 143, with
    params.yaml, data.dvc and data/raw all changed: now it says the work was done."""
    tools = tmp_path / "quick-dvc"
    tools.mkdir()
    (tools / "dvc").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (tools / "dvc").chmod(0o755)
    script = (
        "import os, signal, sys, time\n"
        "from textclf import cli\n"
        "def next_steps(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(1)\n"
        "    return []\n"
        "cli._use_data_next = next_steps\n"
        f"sys.exit(cli.main({list(USE)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "PATH": str(tools) + os.pathsep + os.environ["PATH"]}
    done = subprocess.run([sys.executable, "-c", script], cwd=clone, capture_output=True, text=True, env=env)

    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())
    assert done.returncode == 143, said
    assert "stopped (SIGTERM) after use-data had finished: params.yaml, data.dvc and data/raw hold" in said
    assert "next: make repro" in said and "Traceback" not in said
    assert "text_column: body" in (clone / "params.yaml").read_text(encoding="utf-8")
