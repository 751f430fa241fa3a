"""prepare keeps where each row came from (raw file, row) and counts the texts longer than
model.max_length tokens, with the model's own tokenizer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from textclf.config import DataParams, ModelParams
from textclf.pipeline import prepare
from textclf.pipeline.modeling import token_counter
from textclf.text import normalise

LABELS = ["billing", "delivery", "returns"]


def write_raw(folder: Path) -> list[dict]:
    records = []
    for i in range(30):
        label = LABELS[i % 3]
        long = i % 5 == 0  # 6 of 30 texts far longer than 32 tokens
        text = f"message {i} about {label} " + (
            "and a long story about the order " * 20 if long else "please"
        )
        records.append({"text": text, "label": label})
    folder.mkdir(parents=True)
    with (folder / "a.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(records)
    return records


def test_each_prepared_row_names_its_raw_row_and_long_texts_are_counted(
    tmp_path, monkeypatch, tiny_model_dir
):
    monkeypatch.chdir(tmp_path)
    records = write_raw(Path("data/raw"))

    summary = prepare.run(DataParams(labels=None), model=ModelParams(name=str(tiny_model_dir), max_length=32))

    prepared = [
        json.loads(line)
        for name in prepare.SPLITS
        for line in Path(f"data/prepared/{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(prepared) == 30
    for row in prepared:
        source = row["source"]
        assert source["file"] == "data/raw/a.csv" and source["line"] == source["row"] + 1  # header: line 1
        assert normalise(records[source["row"] - 1]["text"]) == row["text"]  # row N of the file a user edits
    counter = token_counter(str(tiny_model_dir))
    longer = sum(len(e.ids) > 32 for e in counter.encode_batch([r["text"] for r in prepared]))
    truncation = summary["truncation"]
    assert longer == 6
    assert (truncation["rows_longer"], truncation["counted_rows"], truncation["sampled"]) == (6, 30, False)
    assert truncation["share"] == 0.2 and truncation["max_length"] == 32
    assert truncation["token_percentiles"]["max"] > 32
    assert json.loads(Path("metrics/data.json").read_text())["truncation"] == truncation


def test_without_the_model_params_prepare_counts_no_tokens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_raw(Path("data/raw"))

    assert "truncation" not in prepare.run(DataParams(labels=None))


def test_a_model_whose_tokenizer_cannot_load_stops_prepare_with_no_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_raw(Path("data/raw"))
    missing = tmp_path / "no-model"
    missing.mkdir()

    try:
        prepare.run(DataParams(labels=None), model=ModelParams(name=str(missing), max_length=32))
    except prepare.DataError as error:
        assert "model.max_length tokens with model.name's tokenizer" in str(error)
    else:
        raise AssertionError("prepare went on without a tokenizer")
    assert not Path("data/prepared").exists() and not Path("metrics/data.json").exists()


def test_a_huge_text_is_counted_as_longer_without_tokenizing_all_of_it(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.chdir(tmp_path)
    write_raw(Path("data/raw"))
    huge = "word " * 4_000_000  # 20 MB in one field
    with Path("data/raw/a.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow([huge, "billing"])
    tokenized: list[int] = []
    counter = token_counter(str(tiny_model_dir))

    class Measuring:
        def encode_batch(self, texts):
            tokenized.extend(len(text) for text in texts)
            return counter.encode_batch(texts)

    monkeypatch.setattr("textclf.pipeline.modeling.token_counter", lambda name: Measuring())

    summary = prepare.run(DataParams(labels=None), model=ModelParams(name=str(tiny_model_dir), max_length=32))

    assert summary["truncation"]["rows_longer"] == 7
    assert max(tokenized) <= 32 * prepare.CHARS_PER_TOKEN
