"""prepare: schema checks, cleaning, the stratified split, and every bad input the issue lists."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

LABELS = ["billing", "delivery", "returns"]


def rows(n_per_label: int = 20) -> list[dict]:
    return [
        {"text": f"message {i} about {label} number {i * 7}", "label": label}
        for label in LABELS
        for i in range(n_per_label)
    ]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    return tmp_path


def params(**overrides) -> DataParams:
    return DataParams(**overrides)


def write_csv(path: Path, records: list[dict]) -> None:
    pd.DataFrame(records).to_csv(path, index=False)


def run_expecting(message: str, **overrides) -> None:
    with pytest.raises(DataError, match=message):
        prepare.run(params(**overrides))
    # No partial outputs are left behind.
    assert not Path("data/prepared").exists()
    assert not Path("metrics/data.json").exists()


def test_splits_are_stratified_disjoint_and_seeded(workdir):
    write_csv(workdir / "data/raw/a.csv", rows(40))
    summary = prepare.run(params())
    splits = {
        name: [
            json.loads(line) for line in (workdir / f"data/prepared/{name}.jsonl").read_text().splitlines()
        ]
        for name in prepare.SPLITS
    }
    assert summary["rows"] == {"raw": 120, "train": 84, "validation": 18, "test": 18}
    for name in prepare.SPLITS:
        counts = {label: sum(r["label"] == label for r in splits[name]) for label in LABELS}
        assert len(set(counts.values())) == 1, f"{name} is not stratified: {counts}"
    texts = [set(r["text"] for r in splits[name]) for name in prepare.SPLITS]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert json.loads((workdir / "data/prepared/labels.json").read_text()) == {"labels": LABELS}
    first = (workdir / "data/prepared/test.jsonl").read_bytes()
    prepare.run(params())
    assert (workdir / "data/prepared/test.jsonl").read_bytes() == first, "same seed, same split"
    prepare.run(params(seed=7))
    assert (workdir / "data/prepared/test.jsonl").read_bytes() != first, "another seed, another split"


def test_reads_csv_jsonl_and_parquet_together(workdir):
    records = rows(30)
    write_csv(workdir / "data/raw/a.csv", records[:30])
    pd.DataFrame(records[30:60]).to_json(workdir / "data/raw/b.jsonl", orient="records", lines=True)
    pd.DataFrame(records[60:]).to_parquet(workdir / "data/raw/c.parquet")
    assert prepare.run(params())["rows"]["raw"] == 90


def test_cleans_whitespace_unicode_and_duplicates(workdir):
    records = rows(20)
    records += [
        {"text": "  message 0 about   billing\tnumber 0 ", "label": "billing"},  # a duplicate once cleaned
        {"text": "Cafe\u0301 order\u200b late", "label": "delivery"},  # NFC + zero-width space
        {"text": "same text, two labels", "label": "billing"},
        {"text": "same text, two labels", "label": "returns"},
    ]
    write_csv(workdir / "data/raw/a.csv", records)
    summary = prepare.run(params())
    assert summary["dropped"] == {"empty_text": 0, "duplicate": 2, "conflicting_labels": 1}
    all_texts = [
        json.loads(line)["text"]
        for name in prepare.SPLITS
        for line in (workdir / f"data/prepared/{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert "Café order late" in all_texts
    assert "same text, two labels" not in all_texts


def test_empty_text_can_be_dropped_instead(workdir):
    write_csv(workdir / "data/raw/a.csv", [*rows(20), {"text": "   ", "label": "billing"}])
    assert prepare.run(params(empty_text="drop"))["dropped"]["empty_text"] == 1


def test_empty_file(workdir):
    (workdir / "data/raw/a.csv").write_text("")
    run_expecting(r"a.csv: the file is empty")


def test_header_only_file(workdir):
    (workdir / "data/raw/a.csv").write_text("text,label\n")
    run_expecting(r"a.csv: the file has no rows")


def test_no_data_files(workdir):
    run_expecting(r"no .csv, .jsonl or .parquet files")


@pytest.mark.parametrize("column", ["text", "label"])
def test_missing_column(workdir, column):
    frame = pd.DataFrame(rows()).drop(columns=[column])
    frame.to_csv(workdir / "data/raw/a.csv", index=False)
    run_expecting(rf"a.csv: missing column '{column}' \(data.{column}_column in params.yaml\)")


def test_empty_text_names_the_row(workdir):
    records = rows()
    records[4]["text"] = ""
    write_csv(workdir / "data/raw/a.csv", records)
    run_expecting(r"a.csv: row 5 \(line 6\): column 'text' is empty")


def test_non_string_text_names_the_row(workdir):
    records = rows()
    records[2]["text"] = 12345
    pd.DataFrame(records).to_json(workdir / "data/raw/a.jsonl", orient="records", lines=True)
    run_expecting(r"a.jsonl: row 3 \(line 3\): column 'text' must be text, got 12345")


def test_label_outside_the_configured_set(workdir):
    write_csv(workdir / "data/raw/a.csv", [*rows(), {"text": "hello there", "label": "complaints"}])
    run_expecting(r"row 61 \(line 62\): label 'complaints' is not one of data.labels", labels=LABELS)


def test_single_class(workdir):
    write_csv(workdir / "data/raw/a.csv", [r for r in rows() if r["label"] == "billing"])
    run_expecting(r"single class \('billing'\)")


def test_class_too_small_to_stratify(workdir):
    write_csv(
        workdir / "data/raw/a.csv", [*rows(), *[{"text": f"rare {i}", "label": "rare"} for i in range(3)]]
    )
    run_expecting(r"class 'rare' has 3 rows after cleaning; .* needs at least 7")


def test_non_utf8_bytes_name_the_line(workdir):
    good = "text,label\n" + "".join(f"message {i},{LABELS[i % 3]}\n" for i in range(30))
    (workdir / "data/raw/a.csv").write_bytes(good.encode() + b"caf\xe9 latte,billing\n")
    run_expecting(r"a.csv: line 32: bytes that are not UTF-8")


def test_failed_run_removes_previous_outputs(workdir):
    write_csv(workdir / "data/raw/a.csv", rows())
    prepare.run(params())
    assert Path("data/prepared/train.jsonl").exists()
    (workdir / "data/raw/a.csv").write_text("")
    run_expecting("the file is empty")
