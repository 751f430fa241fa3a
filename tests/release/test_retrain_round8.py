"""retrain-import (issue 27 round 8): a new incoming object that only repeats rows the dataset holds
is not imported, so no pull request opens on the same data (U-r3, second half: it was "new" and
opened one); skipped objects that look like data (.xlsx, .tsv, .json, .csv.gz) are named with the
suffixes the pipeline reads (U-r6: "4 skipped; no new data" and nothing more)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from tests.code.test_retrain_body import IncomingBucket

from textclf import cli
from textclf.config import AwsParams, DataParams
from textclf.release import retrain

LABELS = ("billing", "delivery", "returns")


def csv_bytes(rows: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([("text", "label"), *rows])
    return out.getvalue().encode("utf-8")


def rows(tag: str) -> list[tuple[str, str]]:
    return [(f"{tag} message {i} about my {label} issue", label) for label in LABELS for i in range(4)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/messages.csv").write_bytes(csv_bytes(rows("first")))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_new_object_that_only_repeats_the_dataset_is_not_imported(project: Path) -> None:
    repeated = rows("first")[3:] + rows("first")[:2]  # the dataset's rows, in another order
    bucket = IncomingBucket(
        {"incoming/again.csv": csv_bytes(repeated), "incoming/more.csv": csv_bytes(rows("x"))}
    )

    summary = retrain.import_incoming(AwsParams(), DataParams(labels=list(LABELS)), s3=bucket)

    assert summary.repeats == ["incoming/again.csv"] and summary.new == ["incoming/more.csv"]
    assert summary.rows == 12
    assert sorted(p.name for p in (project / "data/raw/incoming").iterdir()) == ["more.csv"]
    note = retrain.skipped_notes(summary)
    assert any("incoming/again.csv: not imported: every row of them is in the dataset" in n for n in note)


def test_only_repeats_is_no_new_data(project: Path) -> None:
    bucket = IncomingBucket({"incoming/again.csv": csv_bytes(rows("first"))})

    summary = retrain.import_incoming(AwsParams(), DataParams(labels=list(LABELS)), s3=bucket)

    assert not summary.changed and summary.rows == 0
    assert not (project / "data/raw/incoming").exists()


def test_a_changed_object_is_imported_even_when_it_adds_no_row(project: Path) -> None:
    (project / "data/raw/incoming").mkdir()
    (project / "data/raw/incoming/a.csv").write_bytes(csv_bytes(rows("second")))
    bucket = IncomingBucket({"incoming/a.csv": csv_bytes(rows("first"))})  # now: the dataset's rows

    summary = retrain.import_incoming(AwsParams(), DataParams(labels=list(LABELS)), s3=bucket)

    assert summary.updated == ["incoming/a.csv"] and summary.repeats == [] and summary.changed


def test_skipped_objects_that_look_like_data_are_named_with_what_is_read(project: Path) -> None:
    objects = {
        key: b"x"
        for key in (
            "incoming/drop.xlsx",
            "incoming/b.tsv",
            "incoming/c.json",
            "incoming/d.csv.gz",
            "incoming/README.md",
        )
    }

    summary = retrain.import_incoming(AwsParams(), DataParams(), s3=IncomingBucket(objects))

    notes = retrain.skipped_notes(summary)
    assert len(notes) == 1, notes
    for key in ("drop.xlsx", "b.tsv", "c.json", "d.csv.gz"):
        assert f"incoming/{key}" in notes[0]
    assert "README.md" not in notes[0]
    assert ".csv, .jsonl, .parquet files only" in notes[0] and "save as CSV UTF-8" in notes[0]


def test_the_command_logs_them(project: Path, monkeypatch, capsys, repo_root) -> None:
    (project / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    bucket = IncomingBucket({"incoming/drop.xlsx": b"x"})
    monkeypatch.setattr(retrain, "pull_data", lambda: None)
    real = retrain.import_incoming
    monkeypatch.setattr(retrain, "import_incoming", lambda aws, data: real(aws, data, s3=bucket))

    assert cli.main(["retrain-import"]) == 0

    err = capsys.readouterr().err
    assert "incoming/drop.xlsx: not imported: the prepare stage reads .csv" in " ".join(err.split()), err


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("incoming/CON.csv", "a reserved device name"),
        ("incoming/2026/aux.csv", "a reserved device name"),
        ("incoming/LPT1.jsonl", "a reserved device name"),
        ("incoming/a:b.csv", "the character ':'"),
        ("incoming/what?.csv", "the character '?'"),
        ("incoming/x./a.csv", "a dot or space at the end"),
    ],
)
def test_a_key_a_windows_checkout_cannot_hold_is_refused(key: str, why: str) -> None:
    """Round 9, U-r7: incoming/CON.csv and incoming/a:b.csv were imported; a Windows checkout lacks them."""
    with pytest.raises(retrain.RetrainError, match="a segment Windows cannot hold as a file name") as refused:
        retrain.relative_path(key)
    assert why in str(refused.value) and "nothing was imported" in str(refused.value)


@pytest.mark.parametrize(
    "key", ["incoming/console.csv", "incoming/con-1/a.csv", "incoming/2026-11/batch.csv"]
)
def test_names_that_only_look_reserved_pass(key: str) -> None:
    assert str(retrain.relative_path(key)) == key.removeprefix("incoming/")


@pytest.mark.parametrize("key", ["incoming/COM\u00b9.csv", "incoming/LPT\u00b2.csv", "incoming/CONIN$.csv"])
def test_the_other_reserved_device_names_are_refused(key: str) -> None:
    """Round 9, U-r7b: COM1-3 and LPT1-3 with superscript digits and the console's names passed."""
    with pytest.raises(retrain.RetrainError, match="a reserved device name"):
        retrain.relative_path(key)


@pytest.mark.parametrize("length", [242, 246, 255])
def test_a_file_name_too_long_for_its_copy_is_refused_naming_the_key(length: int) -> None:
    """Round 9, T-l: a 241-255 byte name passed, and its `.<name>.tmp.incoming` copy ended in a traceback."""
    key = "incoming/" + "y" * (length - 4) + ".csv"
    with pytest.raises(
        retrain.RetrainError,
        match=rf"a segment longer than a file name may be here \({retrain.MAX_NAME_BYTES} bytes",
    ):
        retrain.relative_path(key)


def test_the_longest_name_that_fits_is_imported(project: Path) -> None:
    key = "incoming/" + "y" * (retrain.MAX_NAME_BYTES - 4) + ".csv"
    bucket = IncomingBucket({key: csv_bytes(rows("long"))})

    summary = retrain.import_incoming(AwsParams(), DataParams(labels=list(LABELS)), s3=bucket)

    assert summary.new == [key] and (project / "data/raw" / key).is_file()
