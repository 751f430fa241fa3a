"""`make dvc-remote` checks TEXTCLF_DATA_BUCKET with S3's bucket-name rule (textclf.s3uri) before it
writes .dvc/config.local (issue 27, round 8, U-d2: 'a b', 'Textclf', '-h', 'x/../../y' were written)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.makerun import REPO, run_make
from textclf.s3uri import check_bucket

BAD = [
    "a b",
    "Textclf",
    "-h",
    "x/../../y",
    "ab",
    "a..b",
    "192.168.5.4",
    "xn--abc",
    "`touch {canary}`",
    "b$(id)",
]


@pytest.mark.parametrize("bucket", BAD)
def test_make_dvc_remote_refuses_a_bucket_s3_refuses_and_writes_nothing(tmp_path: Path, bucket: str) -> None:
    canary = tmp_path / "ran"
    value = bucket.format(canary=canary)
    local = REPO / ".dvc" / "config.local"
    before = local.read_bytes() if local.exists() else None
    result = run_make("-s", "dvc-remote", env={"TEXTCLF_DATA_BUCKET": value})
    assert result.returncode == 2, result.stdout
    # A long value (the canary's path: longer under pytest-xdist's worker folders) is shown cut,
    # with its length: its start and the reason are what the message must hold.
    assert f"error: TEXTCLF_DATA_BUCKET {value!r}"[:50] in result.stderr, result.stderr
    assert "must be an S3 bucket name" in result.stderr, result.stderr
    assert ".dvc/config.local was not changed" in result.stderr
    assert "DVC remote:" not in result.stdout
    assert (local.read_bytes() if local.exists() else None) == before
    assert not canary.exists()


def test_the_module_names_the_variable_and_takes_a_good_name() -> None:
    env = {**os.environ, "TEXTCLF_DATA_BUCKET": "textclf-data-123456789012"}
    run = [sys.executable, "-m", "textclf.s3uri", "bucket", "TEXTCLF_DATA_BUCKET"]
    assert subprocess.run(run, env=env, capture_output=True, timeout=60).returncode == 0
    assert check_bucket("my.bucket-1", "B") == "my.bucket-1"
    with pytest.raises(ValueError, match="B 'a-s3alias' must be an S3 bucket name that S3 allows"):
        check_bucket("a-s3alias", "B")
    with pytest.raises(ValueError, match=r"B 'xxxxx.*\(300 characters\) must be"):
        check_bucket("x" * 300, "B")
