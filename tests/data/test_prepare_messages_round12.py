"""prepare's refusals say why, in one bounded line (issue 27, bad-input round 12):

- R12-8: a quote left open on one line that a quote of the next closes was "cannot be read as csv:
  line 3: ',' expected after '\"'", csv's words at the line after the cause.
- R12-9: labels of data.labels left without rows by the clean-up were "have no rows in the data",
  without what the clean-up dropped.
- R12-10: a label of the data that differs from one of data.labels only by U+FE0F was "label '❤' is
  not one of data.labels in params.yaml (❤️, ☀️)": two texts most terminals draw alike.
- R12-11: a 5,001-digit label was echoed whole ("class '1000...0' has 1 rows after cleaning"), and
  use-data's --empty-text of 3,000 characters too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import own_data, prepare
from textclf.pipeline.prepare import DataError


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    return tmp_path


def refused(workdir: Path, body: str, **params) -> str:
    (workdir / "data/raw/x.csv").write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as raised:
        prepare.run(DataParams(**params))
    message = str(raised.value)
    assert "\n" not in message and len(message) < 600, message
    return message


OPENED = 'line 3: a " ends a quoted text but the text goes on (the field opened on line 2)'


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('text,label\n"open,a\nnext "x",b\n', OPENED),
        ('text,label\n"ab"c",a\n', 'line 2: a " ends a quoted text but the text goes on: a text'),
    ],
)
def test_a_quote_inside_a_quoted_text_is_named(workdir, body, where):
    message = refused(workdir, body)
    assert message.startswith(f"data/raw/x.csv: {where}"), message
    assert 'each " inside it doubled ("say ""hi""")' in message, message


def test_labels_the_clean_up_emptied_say_what_it_dropped(workdir):
    body = "text,label\n" + "".join(
        f"bill {n},billing\ndeliver {n},delivery\n   ,returns\n" for n in range(20)
    )
    message = refused(workdir, body, labels=["billing", "delivery", "returns"], empty_text="drop")
    assert message.startswith(
        "labels ['returns'] from data.labels in params.yaml have no rows in the data; the clean-up dropped "
    ), message
    assert "20 rows with an empty text (data.empty_text: drop)" in message, message


def test_a_long_label_is_shown_cut_with_its_length(workdir):
    body = "text,label\n" + "".join(f"text {n},billing\n" for n in range(20)) + "only,1" + "0" * 5000 + "\n"
    message = refused(workdir, body)
    assert message.startswith(f"class '1{'0' * 59}'... (5,001 characters) has 1 row after cleaning;"), message


def test_a_long_empty_text_value_is_shown_cut(workdir):
    with pytest.raises(DataError) as raised:
        own_data.given_empty_text("x" * 3000, own_data.MAKE_VARIABLES)
    assert str(raised.value).startswith(f"EMPTY_TEXT= '{'x' * 40}'... (3,000 characters): is neither"), (
        raised.value
    )
    assert len(str(raised.value)) < 300


def test_a_label_differing_only_by_a_presentation_selector_says_so(workdir):
    body = "text,label\n" + "".join(f"love {n},\u2764\nsun {n},\u2600\ufe0f\n" for n in range(10))
    message = refused(workdir, body, labels=["\u2764\ufe0f", "\u2600\ufe0f"])
    assert message == (
        "data/raw/x.csv: row 1 (line 2): label '\u2764' is not one of data.labels in params.yaml "
        "(\u2764\ufe0f, \u2600\ufe0f); it differs from '\u2764\ufe0f' only by a presentation selector "
        "(U+FE0E/U+FE0F, which choose text or emoji drawing and most terminals draw alike): write it one "
        "way in both; fix the row or add the label there"
    )


@pytest.mark.parametrize("name", ["x.csv", "x.jsonl", "x.parquet"])
def test_a_long_column_setting_and_a_wide_header_are_shown_cut(workdir, name):
    # Before: a 3,000-character data.text_column and every name of the header were echoed whole.
    path = workdir / "data/raw" / name
    columns = [f"column {n:02d}" for n in range(30)] + ["label"]
    if name == "x.csv":
        path.write_text(",".join(columns) + "\n" + ",".join("v" for _ in columns) + "\n", encoding="utf-8")
    elif name == "x.jsonl":
        path.write_text(json.dumps(dict.fromkeys(columns, "v")) + "\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({column: ["v"] for column in columns}), path)
    with pytest.raises(DataError) as raised:
        prepare.run(DataParams(text_column="t" * 3000))
    message = str(raised.value)
    assert f"'{'t' * 60}'... (3,000 characters)" in message, message
    assert "'column 19'] and 11 more" in message and "column 20" not in message, message
    assert len(message) < 700, message


def test_a_long_task_is_shown_cut():
    with pytest.raises(DataError) as raised:
        own_data.given_task("T" * 3000, own_data.MAKE_VARIABLES)
    assert str(raised.value).startswith(f"TASK= '{'T' * 60}'... (3,000 characters): "), raised.value
