"""A CSV with a very wide header is read in time linear in its columns (issue 27 round 9, H-i: the
repeated-column check counted each name over the whole header; 200,000 columns took minutes, and
prepare, use-data and retrain-import stalled on such a file)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

COLUMNS = 60_000


def test_a_wide_header_is_checked_quickly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    extra = ",".join(f"c{i}" for i in range(COLUMNS))
    with (tmp_path / "data/raw/wide.csv").open("w", encoding="utf-8") as handle:
        handle.write(f"text,label,{extra},c7\n")  # c7 twice
        handle.write("row one,billing" + ",1" * (COLUMNS + 1) + "\n")

    started = time.monotonic()
    with pytest.raises(DataError, match=r"the header names \['c7'\] more than once"):
        prepare.run(DataParams())

    assert time.monotonic() - started < 10
