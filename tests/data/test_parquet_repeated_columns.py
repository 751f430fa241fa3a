"""A Parquet file whose schema names a column twice (issue 27 round 10, F-q): pyarrow returns every
column of a repeated name, so the second `text` column was read as the label and trained on without a
word (use-data took its values as the classes). Refused naming the file and the column, as the CSV
reader refuses a repeated header name."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare

TEXTS = [f"message number {i} about an order" for i in range(30)]


@pytest.mark.parametrize(
    "names", [["text", "text", "label"], ["text", "label", "label"], ["text", "label", "x", "x"]]
)
def test_a_repeated_column_name_is_refused(tmp_path: Path, monkeypatch, names: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    columns = [TEXTS, ["en", "fr", "de"] * 10, ["refund", "delivery", "account"] * 10, ["a"] * 30][
        : len(names)
    ]
    pq.write_table(pa.Table.from_arrays([pa.array(c) for c in columns], names=names), "data/raw/x.parquet")
    repeated = sorted({name for name in names if names.count(name) > 1})

    with pytest.raises(prepare.DataError) as refused:
        prepare.classes_kept(Path("data/raw"), DataParams(labels=None))

    assert str(refused.value) == (
        f"data/raw/x.parquet: the schema names the columns {repeated} more than once; keep one of each"
    )
