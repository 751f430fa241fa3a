"""prepare says, before training, what shapes it: the rows it dropped and why, the share of texts
longer than model.max_length tokens and that they are cut, and rows x epochs samples with the time
that takes on a CPU, each line within 100 columns; every blank text is counted and the first few
named in one error; a `;`-separated CSV is named as such; a use-data run killed outright is warned
of, naming the files it left outside data.raw_dir. Messages only: the outputs are the same."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from textclf.config import DataParams, ModelParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

LABELS = ("billing", "delivery", "returns")


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    return tmp_path


def write_rows(path: Path, rows: list[tuple[str, str]], delimiter: str = ",") -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def distinct_rows(per_label: int = 20) -> list[tuple[str, str]]:
    return [
        (f"message {i} about {label} number {i * 7}", label) for label in LABELS for i in range(per_label)
    ]


def run_logged(**kwargs) -> tuple[dict, list[str]]:
    lines: list[str] = []
    summary = prepare.run(DataParams(labels=None, empty_text="drop"), log=lines.append, **kwargs)
    return summary, lines


def shown(lines: list[str]) -> str:
    return "\n".join(lines)


def test_the_rows_dropped_are_said_per_reason(workdir):
    rows = distinct_rows()
    rows += [("   ", "billing"), ("", "returns")]  # 2 empty texts
    rows += rows[:3]  # 3 duplicates
    rows += [(rows[5][0], "returns")]  # a text given a second label: both copies dropped
    write_rows(workdir / "data/raw/a.csv", rows)

    summary, lines = run_logged(epochs=2)

    assert summary["rows"]["raw"] == 66
    assert "dropped 7 of 66 rows: 2 empty texts, 3 duplicates, 2 whose text has two labels" in lines
    assert all(len("[textclf] " + line) <= 100 for line in lines), shown(lines)


def test_one_row_dropped_is_said_in_the_singular(workdir):
    # Before: "dropped 2 of 62 rows: 1 empty texts, 1 duplicates".
    rows = distinct_rows()
    rows += [("   ", "billing"), rows[0]]
    write_rows(workdir / "data/raw/a.csv", rows)

    _, lines = run_logged()

    assert "dropped 2 of 62 rows: 1 empty text, 1 duplicate" in lines, shown(lines)


def test_nothing_dropped_is_said_too(workdir):
    write_rows(workdir / "data/raw/a.csv", distinct_rows())

    _, lines = run_logged()

    assert "kept all 60 rows: no empty, duplicate or conflicting texts" in lines


def test_the_training_size_and_its_time_on_a_cpu(workdir):
    write_rows(workdir / "data/raw/a.csv", distinct_rows(100))  # 300 rows: 210 train

    summary, lines = run_logged(epochs=2)

    assert summary["rows"]["train"] == 210
    assert "training: 210 rows x 2 epochs (train.epochs) = 420 samples" in lines
    # 420 samples at 4 to 2 samples a second: 105 to 210 s
    assert "  about 2 min to 4 min on a shared 2-core CPU (2 to 4 samples/s, README)" in lines
    assert not [line for line in lines if "faster:" in line]
    _, elsewhere = run_logged(epochs=1.5, on_cpu=False)
    assert "training: 210 rows x 1.5 epochs (train.epochs) = 315 samples" in elsewhere
    assert not [line for line in elsewhere if "2-core CPU" in line]


def test_the_texts_longer_than_max_length_are_counted_and_said_cut(workdir, tiny_model_dir):
    short = distinct_rows()
    long_text = " ".join(f"word{n}" for n in range(80))
    rows = [*short, *((f"{long_text} {label} {i}", label) for label in LABELS for i in range(5))]
    write_rows(workdir / "data/raw/a.csv", rows)

    summary, lines = run_logged(model=ModelParams(name=str(tiny_model_dir), max_length=32), epochs=2)

    truncation = summary["truncation"]
    assert truncation["rows_longer"] == 15 and truncation["counted_rows"] == 75
    assert "20.0% of texts (15 of 75) are over 32 tokens (model.max_length)" in lines
    cut = [line for line in lines if "they are cut" in line]
    assert cut == ["  they are cut: the model sees the first 32 tokens; raise model.max_length (up to 512)"]
    assert all(len("[textclf] " + line) <= 100 for line in lines), shown(lines)


def test_no_long_text_is_said_as_such():
    summary = {
        "rows": {"raw": 10, "train": 7, "validation": 1, "test": 2},
        "truncation": {
            "max_length": 128,
            "share": 0.0,
            "rows_longer": 0,
            "counted_rows": 10,
            "sampled": False,
        },
    }
    lines = prepare.facts(summary, {"empty_text": 0, "repeated": 0, "conflicting": 0})
    assert "no text is longer than 128 tokens (model.max_length): the model sees each whole" in lines


@pytest.mark.parametrize(
    ("share", "longer", "expected"),
    [(0.00004, 1, "under 0.1%"), (0.99996, 19_999, "over 99.9%"), (0.2134, 4_268, "21.3%")],
)
def test_a_share_never_reads_none_or_all_when_it_is_not(share, longer, expected):
    summary = {
        "rows": {"raw": 10_025_000, "train": 17_500, "validation": 3_750, "test": 3_750},
        "truncation": {
            "max_length": 128,
            "share": share,
            "rows_longer": longer,
            "counted_rows": 20_000,
            "sampled": True,
        },
    }
    lines = prepare.facts(
        summary, {"empty_text": 1_000_000, "repeated": 2_000_000, "conflicting": 3_000_000}, 3, 512
    )
    assert any(line.startswith(f"{expected} of texts ({longer:,} of 20,000 sampled)") for line in lines), (
        lines
    )
    assert all(len("[textclf] " + line) <= 100 for line in lines), shown(lines)


def test_the_outputs_are_the_same_with_or_without_the_lines(workdir):
    rows = distinct_rows()
    write_rows(workdir / "data/raw/a.csv", [*rows, ("", "billing"), *rows[:2]])
    prepare.run(DataParams(labels=None, empty_text="drop"), log=lambda _line: None)
    first = {path: path.read_bytes() for path in sorted(workdir.glob("data/prepared/*"))}
    first_summary = Path("metrics/data.json").read_bytes()

    run_logged(epochs=2)

    assert {path: path.read_bytes() for path in sorted(workdir.glob("data/prepared/*"))} == first
    assert Path("metrics/data.json").read_bytes() == first_summary
    assert json.loads(first_summary)["dropped"] == {"empty_text": 1, "duplicate": 2, "conflicting_labels": 0}


def test_every_empty_text_is_counted_and_the_first_few_named(workdir):
    rows = distinct_rows()
    for at in (3, 9, 15, 21, 27, 33, 40):
        rows[at] = (" ", rows[at][1])
    write_rows(workdir / "data/raw/a.csv", rows)

    with pytest.raises(DataError) as error:
        prepare.run(DataParams(labels=None), log=lambda _line: None)

    message = str(error.value)
    assert message == (
        "data/raw/a.csv: row 4 (line 5): column 'text' is empty, and in 6 more rows: row 10 (line 11), "
        "row 16 (line 17), row 22 (line 23), row 28 (line 29) and 2 more; fix those 7 rows, or set "
        "data.empty_text: drop in params.yaml to drop such rows"
    )
    assert not Path("data/prepared").exists()


def test_a_single_empty_text_is_named_as_before(workdir):
    rows = distinct_rows()
    rows[4] = ("", rows[4][1])
    write_rows(workdir / "data/raw/a.csv", rows)

    with pytest.raises(
        DataError, match=r"^data/raw/a.csv: row 5 \(line 6\): column 'text' is empty; fix the row, or set"
    ):
        prepare.run(DataParams(labels=None), log=lambda _line: None)


@pytest.mark.parametrize(("delimiter", "named"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_a_csv_separated_otherwise_is_named_so(workdir, delimiter, named):
    write_rows(workdir / "data/raw/a.csv", distinct_rows(), delimiter=delimiter)

    with pytest.raises(DataError) as error:
        prepare.run(DataParams(labels=None), log=lambda _line: None)

    message = str(error.value)
    assert message.startswith(f"data/raw/a.csv: line 1: the header is one field, {f'text{delimiter}label'!r}")
    assert f"the file looks {named}-separated" in message and "re-save it comma-separated" in message
    assert "missing column" not in message


def test_a_header_without_another_separator_still_names_the_columns(workdir):
    write_rows(workdir / "data/raw/a.csv", distinct_rows())

    with pytest.raises(DataError, match=r"missing column 'body' .* found columns \['text', 'label'\]"):
        prepare.run(DataParams(labels=None, text_column="body"), log=lambda _line: None)


def test_files_a_killed_use_data_left_are_warned_of(workdir):
    write_rows(workdir / "data/raw/new.csv", distinct_rows())
    kept = workdir / "data/.use-data.abc123/.replaced/mine.csv"
    kept.parent.mkdir(parents=True)
    kept.write_text("text,label\n", encoding="utf-8")

    _, lines = run_logged()

    warnings = [line for line in lines if line.startswith("warning: ")]
    assert warnings == [
        "warning: data/.use-data.abc123/.replaced: holds data/.use-data.abc123/.replaced/mine.csv, files an "
        "earlier use-data took out of data/raw and did not put back (it was stopped); prepare reads only "
        "what data/raw holds. Move them back into data/raw under the same names (and `git checkout data.dvc "
        "params.yaml` if it changed them), or delete data/.use-data.abc123 if you do not need them"
    ]
    kept.unlink()
    _, quiet = run_logged()
    assert not [line for line in quiet if line.startswith("warning: ")]


def test_a_run_shorter_than_one_sample_still_says_one():
    """R12-14: 30 rows x 0.01 epochs rounded to "0 samples"; the trainer runs at least one step."""
    summary = {"rows": {"raw": 40, "train": 30, "validation": 5, "test": 5}}
    lines = prepare.facts(summary, {"empty_text": 0, "repeated": 0, "conflicting": 0}, 0.01)
    assert "training: 30 rows x 0.01 epochs (train.epochs) = 1 sample" in lines, lines
