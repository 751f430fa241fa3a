"""prepare against hostile raw data and output paths: one message naming the file, line or setting,
no partial output, and nothing outside the stage's own outputs ever removed or replaced.

Grouped by boundary: where the outputs go, what the raw files hold; then the `textclf prepare`
command as a user runs it, and property-based tests over arbitrary CSV and JSONL bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError
from textclf.text import hidden_label_character

LABELS = ("billing", "delivery", "returns")
GOOD_CSV = "text,label\n" + "".join(f"note {i} on {label},{label}\n" for label in LABELS for i in range(20))
OUTPUTS = ("data/prepared", "metrics/data.json")


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A repository root with code, history and raw data: everything prepare must leave alone."""
    monkeypatch.chdir(tmp_path)
    for name, text in {
        "src/textclf/__init__.py": "",
        ".git/HEAD": "ref: refs/heads/main\n",
        "docs/index.md": "# docs\n",
        "data/raw/a.csv": GOOD_CSV,
        "params.yaml": "data: {}\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def snapshot(root: Path, skip: tuple[str, ...] = OUTPUTS) -> dict[str, str]:
    """Every file below root (outside the stage's outputs) with a hash of its bytes."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if any(relative == out or relative.startswith(out + "/") for out in skip):
            continue
        if path.is_symlink():
            files[relative] = "-> " + os.readlink(path)
        elif path.is_file():
            files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def template_data(**changes) -> dict:
    """The template's data section (every key given, as the commands require) with `changes`."""
    template = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8")
    )
    return {**template["data"], "labels": list(LABELS), **changes}


def template_model() -> dict:
    """The template's model section: prepare counts the texts longer than model.max_length."""
    return yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8"))[
        "model"
    ]


def data(**changes) -> DataParams:
    return DataParams(**{"labels": list(LABELS), **changes})


# --- where the outputs go ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "target", "message"),
    [
        ("data/prepared", "../src", "is a symbolic link"),
        ("data/prepared", "..", "is a symbolic link"),
        ("data/out", "../src", "leads into src/"),
        ("data/out", "/", "not to a folder inside the repository"),
        ("data/out", "../.git", "leads into .git/"),
        ("data/out", "raw", "overlaps the raw data"),
    ],
)
def test_symbolic_links_cannot_lead_the_outputs_astray(project, link, target, message):
    prepared_dir = "data/prepared" if link == "data/prepared" else "data/out/prepared"
    (project / link).symlink_to(target)
    before = snapshot(project, skip=())

    with pytest.raises(DataError, match=message):
        prepare.run(data(prepared_dir=prepared_dir))

    assert snapshot(project, skip=()) == before


@pytest.mark.parametrize("folder", ["docs", "data/prepared"])
def test_a_folder_holding_other_files_is_not_replaced(project, folder):
    (project / folder).mkdir(exist_ok=True)
    (project / folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = snapshot(project, skip=())

    with pytest.raises(DataError, match=r"holds files prepare did not write \(.*notes.txt"):
        prepare.run(data(prepared_dir=folder))

    assert snapshot(project, skip=()) == before


def test_a_file_in_place_of_the_output_folder_is_kept(project):
    with pytest.raises(DataError, match="is a file; name a folder"):
        prepare.run(data(prepared_dir="docs/index.md"))
    assert (project / "docs/index.md").read_text(encoding="utf-8") == "# docs\n"


def test_the_summary_cannot_land_inside_the_splits_folder(project):
    with pytest.raises(DataError, match=r"must not hold data/out/data.json"):
        prepare.run(data(prepared_dir="data/out"), summary_file=Path("data/out/data.json"))


def test_a_failed_run_removes_only_its_own_earlier_outputs(project):
    prepare.run(data())
    assert sorted(p.name for p in (project / "data/prepared").iterdir()) == sorted(prepare.PREPARED_FILES)
    (project / "data/raw/a.csv").write_text("text,label\n", encoding="utf-8")
    before = snapshot(project)

    with pytest.raises(DataError, match="has no rows"):
        prepare.run(data())

    assert not (project / "data/prepared").exists() and not (project / "metrics/data.json").exists()
    assert snapshot(project) == before


def test_an_empty_raw_folder_never_touches_src(project):
    """The issue's case: `prepared_dir: src` plus an empty raw folder removed src/ on clean-up."""
    shutil.rmtree(project / "data/raw")
    (project / "data/raw").mkdir()
    with pytest.raises(ValueError, match="src"):
        prepare.run(data(prepared_dir="src"))
    assert (project / "src/textclf/__init__.py").is_file()


# --- what the raw files hold ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "text,label\nx,billing,extra\n", r"a.csv: line 2 has 3 fields, the header 2; quote"),
        ("a.csv", "text,label,text\nx,billing,y\n", r"a.csv: line 1: the header names \['text'\] more"),
        (
            "a.csv",
            'text,label\n"never closed,billing\n',
            r"a.csv: line 2: a quoted text that starts on this line is never closed",
        ),
        ("a.jsonl", '{"text": "x", "label": "billing"}\nnull\n', r"a.jsonl: line 2: expected a JSON object"),
        ("a.jsonl", '{"text": "x", "label": "billing"}\n{"text": \n', r"a.jsonl: line 2: not valid JSON"),
        ("a.jsonl", '{"text": "x", "label": [1]}\n', r"row 1 \(line 1\): column 'label' must be a text or"),
        ("a.jsonl", '{"text": "x", "label": 1e999}\n', r"column 'label' must be a text or a number, got inf"),
        ("a.jsonl", '\n\n{"text": 5, "label": "billing"}\n', r"row 1 \(line 3\): column 'text' must be text"),
        ("a.jsonl", "[" * 100_000 + "\n", r"a.jsonl: line 1: (nested too deeply|not valid JSON)"),
        (
            "a.jsonl",
            '{"text": "x", "label": "billing", "label": "refund"}\n',
            r"a.jsonl: line 1: key 'label' is given twice",
        ),
        ("a.parquet", "PAR1 not really PAR1", r"a.parquet: cannot be read as parquet"),
        (
            "a.jsonl",
            '{"text": "x \\ud800 y", "label": "billing"}\n',
            r"row 1 \(line 1\): column 'text' holds a lone surrogate \(U\+D800\)",
        ),
        (
            "a.jsonl",
            '{"text": "x", "label": "bill\\udfffing"}\n',
            r"row 1 \(line 1\): column 'label' holds a lone surrogate \(U\+DFFF\)",
        ),
    ],
)
def test_bad_raw_files_name_the_file_and_line(project, name, content, message):
    (project / "data/raw" / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        prepare.run(data())
    assert not (project / "data/prepared").exists()


@pytest.mark.parametrize("target", ["missing.csv", "loop.csv"])
def test_a_link_that_leads_nowhere_is_an_error_not_a_skipped_file(project, target):
    """Bad input, round 4: a dangling link was skipped without a word, a loop was a traceback."""
    (project / "data/raw/loop.csv").symlink_to("loop.csv") if target == "loop.csv" else None
    (project / "data/raw/b.csv").symlink_to(target)
    with pytest.raises(DataError, match=r"b.csv: a symbolic link that leads nowhere"):
        prepare.run(data())
    assert not (project / "data/prepared").exists()


def test_a_jsonl_record_may_hold_line_separators_and_a_bom(project):
    """Only a newline ends a JSONL record; U+2028 and form feeds are text, a BOM is not."""
    (project / "data/raw/a.csv").unlink()
    records = [
        f'{{"text": "note {i}\u2028on\\f{label}", "label": "{label}"}}' for label in LABELS for i in range(20)
    ]
    (project / "data/raw/a.jsonl").write_text("\ufeff" + "\n".join(records) + "\n", encoding="utf-8")
    assert prepare.run(data())["rows"]["raw"] == 60


# --- the command line -------------------------------------------------------------------------


def test_the_issues_cases_through_the_cli_exit_2_and_change_nothing(project):
    src = Path(__file__).resolve().parents[2] / "src"
    for prepared_dir in (".", "src", "data/raw", "../../elsewhere", "docs"):
        (project / "params.yaml").write_text(
            yaml.safe_dump({"data": template_data(prepared_dir=prepared_dir), "model": template_model()})
        )
        before = snapshot(project, skip=())
        done = subprocess.run(
            [sys.executable, "-m", "textclf.cli", "prepare"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
        assert done.returncode == 2, (prepared_dir, done.stderr)
        assert "data.prepared_dir" in done.stderr and "Traceback" not in done.stderr
        assert snapshot(project, skip=()) == before
    assert not (project.parent.parent / "elsewhere").exists()


# --- any bytes at all -------------------------------------------------------------------------

CSV_PIECES = st.sampled_from(
    ['text', 'label', ',', '"', '""', '\n', '\r\n', '\r', 'billing', 'delivery', 'returns', ' ', '\x00',
     '\u2028', '\ufeff', 'é', ';', 'NaN', 'null', '#']
)  # fmt: skip
JSONL_PIECES = st.sampled_from(
    ['{', '}', '[', ']', '"text"', '"label"', ': ', ', ', '"billing"', '"returns"', '1', '1e999', 'null',
     'true', '\n', '\r\n', '"\\u2028"', '"\\ud800"', ' ', 'NaN', '-', '"',
     '{"text": "a b", "label": "returns"}']
)  # fmt: skip


def run_in_a_fresh_project(name: str, content: bytes) -> None:
    """prepare over one raw file: a DataError or a success, and only the outputs ever written."""
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        root = Path(folder)
        (root / "data/raw").mkdir(parents=True)
        (root / "data/raw/base.csv").write_text(GOOD_CSV, encoding="utf-8")
        (root / "data/raw" / name).write_bytes(content)
        (root / "src").mkdir()
        (root / "src/keep.py").write_text("x = 1\n", encoding="utf-8")
        before = snapshot(root)
        try:
            summary = prepare.run(data(labels=None))
        except DataError as error:
            assert str(error), "an empty message"
            assert not (root / "data/prepared").exists() and not (root / "metrics").exists()
        else:
            assert summary["rows"]["raw"] >= 60
            written = sorted(p.name for p in (root / "data/prepared").iterdir())
            assert written == sorted(prepare.PREPARED_FILES)
        assert snapshot(root) == before


@settings(max_examples=120, deadline=None)
@given(pieces=st.lists(st.one_of(CSV_PIECES, st.text(max_size=4)), max_size=40), tail=st.binary(max_size=4))
def test_any_csv_gives_a_message_or_a_success(pieces, tail):
    run_in_a_fresh_project("new.csv", "".join(pieces).encode("utf-8", "surrogatepass") + tail)


@settings(max_examples=120, deadline=None)
@given(pieces=st.lists(st.one_of(JSONL_PIECES, st.text(max_size=4)), max_size=40), tail=st.binary(max_size=4))
def test_any_jsonl_gives_a_message_or_a_success(pieces, tail):
    run_in_a_fresh_project("new.jsonl", "".join(pieces).encode("utf-8", "surrogatepass") + tail)


# --- round 3 (issue 27): what DVC does not version, numbers as labels, names of things ---------


def test_files_dvcignore_hides_are_not_read(project):
    (project / ".dvcignore").write_text("**/.*.tmp*\n", encoding="utf-8")
    (project / "data/raw/.x.tmp.csv").write_text("text,label\nnot versioned,refunds\n", encoding="utf-8")
    (project / "data/raw/sub").mkdir()
    # One inside the raw folder only as DVC takes it: hiding itself (test_nested_dvcignore.py).
    (project / "data/raw/sub/.dvcignore").write_text(".dvcignore\nskip.csv\n", encoding="utf-8")
    (project / "data/raw/sub/skip.csv").write_text("text,label\nnot versioned either,refunds\n")

    summary = prepare.run(data())

    assert summary["rows"]["raw"] == 60  # a.csv only; "refunds" would not even be an allowed label


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_numeric_labels_are_one_class_per_value(project):
    (project / "data/raw/a.csv").unlink()
    records = [{"text": f"note {i} one", "label": [1, 1.0, "1"][i % 3]} for i in range(30)]
    records += [{"text": f"note {i} half", "label": 1.5} for i in range(30)]
    (project / "data/raw/a.jsonl").write_text(jsonl(*records), encoding="utf-8")

    summary = prepare.run(data(labels=None))

    assert json.loads((project / "data/prepared/labels.json").read_text())["labels"] == ["1", "1.5"]
    assert (
        sum(summary["classes"]["train"].values()) + summary["rows"]["validation"] + summary["rows"]["test"]
        == 60
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"text": "x", "label": True},
            r"row 3 \(line 3\): column 'label' must be a text or a number, got True",
        ),
        ({"text": "x", "label": 10**400}, None),  # a huge integer is a label like any other
        (
            {"label": "billing"},
            r"row 3 \(line 3\): no 'text' key \(data.text_column in params.yaml\); the row ",
        ),
        ({"text": "x"}, r"row 3 \(line 3\): no 'label' key"),
    ],
)
def test_a_bad_jsonl_row_is_named_by_its_own_line(project, record, message):
    good = [{"text": f"note {i}", "label": LABELS[i % 3]} for i in range(2)]
    (project / "data/raw/b.jsonl").write_text(jsonl(*good, record), encoding="utf-8")
    if message is None:
        with pytest.raises(
            DataError, match=r"label '1000.*'(\.\.\. \(\d+ characters\))? is not one of data.labels"
        ):
            prepare.run(data())
        return
    with pytest.raises(DataError, match=message):
        prepare.run(data(labels=None))


def test_labels_differing_only_in_case_are_refused_unless_listed(project):
    rows = "".join(f"other note {i},Billing\n" for i in range(20))
    (project / "data/raw/b.csv").write_text("text,label\n" + rows, encoding="utf-8")

    with pytest.raises(
        DataError, match=r"labels 'billing' \(first at .*a.csv: row 1 \(line 2\)\) and 'Billing'"
    ):
        prepare.run(data(labels=None))
    assert prepare.run(data(labels=[*LABELS, "Billing"]))["classes"]["train"]["Billing"] > 0


@pytest.mark.parametrize(
    "name", ["extra.json", "extra.tsv", "more/extra.xlsx", "extra.txt", "rows.dat", "NOTES", "more/x.md"]
)
def test_data_files_prepare_does_not_read_are_named(project, name):
    (project / "data/raw" / name).parent.mkdir(exist_ok=True)
    (project / "data/raw" / name).write_text('[{"text": "x", "label": "billing"}]', encoding="utf-8")

    with pytest.raises(DataError, match=rf"{name}: prepare reads .csv, .jsonl and .parquet files only"):
        prepare.run(data())


def test_a_file_dvcignore_hides_is_neither_versioned_nor_read(project):
    (project / "data/raw/README.txt").write_text("where the data comes from\n", encoding="utf-8")
    (project / ".dvcignore").write_text("data/raw/README.txt\n", encoding="utf-8")
    assert prepare.run(data())["rows"]["raw"] == len(GOOD_CSV.splitlines()) - 1


@pytest.mark.parametrize(
    ("label", "character"),
    [
        ("\x1b[31mbilling", "U+001B"),  # an ESC sequence recolours a terminal
        ("billing\u202e", "U+202E"),  # shows the name in another order than it is
        ("bill\u200bing", "U+200B"),  # invisible: two classes that look the same
        ("bill\u2028ing", "U+2028"),  # a line separator inside a name
        ("</script><script>alert(1)//", "U+003C"),  # ends the chart's script in the plots page
        ("b\u0456lling", "U+0456"),  # a Cyrillic look-alike: a second class that reads as billing
    ],
)
def test_a_label_with_a_control_or_invisible_character_is_refused(project, label, character):
    rows = GOOD_CSV + f"one more note,{label}\n"
    (project / "data/raw/a.csv").write_text(rows, encoding="utf-8")
    where = r"a.csv: row 61 \(line 62\): column 'label' holds "
    with pytest.raises(DataError, match=where + re.escape(character)):
        prepare.run(data(labels=None))
    assert not (project / "data/prepared").exists()


def test_a_link_to_a_file_outside_the_repository_is_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "b.csv"
    outside.write_text(GOOD_CSV.replace("note", "other"), encoding="utf-8")
    (project / "data/raw/b.csv").symlink_to(outside)

    with pytest.raises(DataError, match=r"b.csv: a symbolic link to .*, outside the repository"):
        prepare.run(data())

    (project / "data/raw/b.csv").unlink()
    (project / "docs/b.csv").write_text(GOOD_CSV.replace("note", "other"), encoding="utf-8")
    (project / "data/raw/b.csv").symlink_to(project / "docs/b.csv")  # inside: read
    assert prepare.run(data())["rows"]["raw"] == 120


@pytest.mark.parametrize(
    ("prepared_dir", "message"),
    [
        ("data/prepared/../prepared", r"without '.', '..' or doubled slashes, e.g. data/prepared"),
        ("params.yaml/x", r"params.yaml is a file, so no folder can be made inside it"),
        ("data/" + "p" * 300, r"not a usable folder name \(File name too long\)"),
        ("data/pre\0pared", r"holds a NUL byte"),
    ],
)
def test_output_folder_names_that_cannot_work_are_refused_before_anything_changes(
    project, prepared_dir, message
):
    prepare.run(data())
    before = snapshot(project, skip=())

    with pytest.raises(DataError, match=message):
        prepare.checked_output_dir(
            DataParams.model_construct(**{**data().__dict__, "prepared_dir": prepared_dir})
        )
    with pytest.raises(DataError, match=message):
        prepare.run(DataParams.model_construct(**{**data().__dict__, "prepared_dir": prepared_dir}))

    assert snapshot(project, skip=()) == before  # data/prepared still there, no temporary folder
    assert sorted(p.name for p in (project / "data").iterdir()) == ["prepared", "raw"]


def test_a_text_longer_than_the_csv_modules_default_field_limit_is_read(project):
    long_text = "word " * 40_000  # 200 KB in one field
    (project / "data/raw/b.csv").write_text(f'text,label\n"{long_text}",billing\n', encoding="utf-8")

    assert prepare.run(data())["text_chars"]["max"] == len(long_text.strip())


# --- round 4 (issue 27): the single-class message names the settings to fix ------------------


def single_class_message(**changes) -> str:
    with pytest.raises(DataError) as refused:
        prepare.run(data(labels=None, **changes))
    assert not Path("data/prepared").exists() and not Path("metrics").exists()
    return str(refused.value)


def test_a_single_class_names_raw_dir_and_label_column_and_what_to_do(project):
    """The message "the data holds a single class ('billing')" said neither where the data is nor
    which setting chose the column."""
    rows = "".join(f"note {i},billing,web\n" for i in range(30))
    (project / "data/raw/a.csv").write_text("text,label,source\n" + rows, encoding="utf-8")

    message = single_class_message()

    assert message.startswith("data/raw: the data holds a single class ('billing') in column 'label'")
    assert "add rows of the other classes to the files in data.raw_dir" in message
    assert "or set data.label_column in params.yaml to the column that holds the labels" in message

    # The wrong column named: the message says which one was read.
    (project / "data/raw/a.csv").write_text(
        "text,label,source\n" + "".join(f"n {i},{LABELS[i % 3]},web\n" for i in range(60)), encoding="utf-8"
    )
    assert "single class ('web') in column 'source'" in single_class_message(label_column="source")


@settings(max_examples=25, deadline=None)
@given(label=st.text(alphabet=st.characters(categories=["L", "N", "P"], exclude_characters='",'), min_size=1))
def test_any_single_class_names_the_two_settings(label):
    assume(hidden_label_character(label) is None)  # `@x`, `=x`: refused as a formula, named so
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        Path("data/raw").mkdir(parents=True)
        rows = "".join(f'text {i},"{label}"\n' for i in range(30))
        Path("data/raw/a.csv").write_text("text,label\n" + rows, encoding="utf-8")
        with pytest.raises(DataError) as refused:
            prepare.run(data(labels=None))
        message = str(refused.value)
        assert "a single class" in message, message
        assert "data.raw_dir" in message and "data.label_column in params.yaml" in message
        assert not Path("data/prepared").exists()
