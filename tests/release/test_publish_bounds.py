"""`textclf publish` packs a model folder of bounded size and leaves no half-written archive behind
on SIGTERM or SIGHUP (issue 27, R14B-36): a 30 GB file in models/model was packed for minutes, and a
cancelled run (`timeout`, a workflow's cancel) left /tmp/textclf-publish-*/model.tar.gz."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from textclf.config import AwsParams
from textclf.release import promote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def model_folder(root: Path) -> Path:
    folder = root / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "labels.json").write_text('{"labels": ["a", "b"]}', encoding="utf-8")
    return folder


def test_a_model_folder_larger_than_an_endpoint_loads_is_refused_before_packing(tmp_path):
    folder = model_folder(tmp_path)
    with (folder / "huge.bin").open("wb") as handle:  # sparse: no disk used
        handle.truncate(30 * 2**30)
    archive = tmp_path / "model.tar.gz"

    started = time.perf_counter()
    with pytest.raises(promote.ReleaseError) as refused:
        promote.pack_model(folder, archive)

    message = str(refused.value)
    assert message.startswith(f"{folder}: 30.0 GiB of files, more than the 6 GiB")
    assert f"{folder / 'huge.bin'} (30.0 GiB)" in message and "Nothing was packed" in message
    assert not archive.exists() and time.perf_counter() - started < 5


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_while_packing_removes_the_half_written_archive(tmp_path, monkeypatch, signum):
    folder = model_folder(tmp_path)
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))

    def packing(model_dir: Path, archive: Path) -> None:
        archive.write_bytes(b"half an archive")
        os.kill(os.getpid(), signum)  # the run is cancelled while it packs
        time.sleep(5)

    monkeypatch.setattr(promote, "pack_model", packing)
    monkeypatch.setattr(promote, "check_workspace_commit", lambda commit: commit)
    monkeypatch.setattr(promote, "passing_evaluation", lambda *args: ({"accuracy": 0.9}, None))
    monkeypatch.setattr(promote, "check_evaluated_model", lambda *args: None)

    with pytest.raises(KeyboardInterrupt):
        promote.publish(COMMIT, AwsParams(), model_dir=folder, s3=object())

    assert list(work.iterdir()) == []  # no textclf-publish-* folder left
