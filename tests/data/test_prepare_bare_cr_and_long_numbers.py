"""Raw files Python's readers refuse in their own words are named in the project's (issue 27, round 11):

- U-r11-6: a CSV whose lines end in a bare CR (as old Mac programs save) was "cannot be read as csv:
  line 1: new-line character seen in unquoted field - do you need to open the file in
  universal-newline mode?"; it is named as bare-CR line ends to re-save with LF or CR LF (a JSONL
  file so saved too). A CR inside quotes, or before an LF, reads as before; a quote never closed
  names the line it opens on.
- U-r11-7: a JSONL line with a 5,001-digit number in a key prepare does not read was "not valid JSON
  (... use sys.set_int_max_str_digits() to increase the limit)"; the line and key are named.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline.prepare import DataError, read_raw


def read(folder: Path, name: str, content: bytes) -> list[tuple[str, str]]:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    return [(example.text, example.label) for example in read_raw(folder, DataParams(labels=None))]


def refused(folder: Path, name: str, content: bytes) -> str:
    with pytest.raises(DataError) as error:
        read(folder, name, content)
    message = str(error.value)
    assert "\n" not in message and "universal-newline" not in message and "sys.set_int" not in message
    return message


@pytest.mark.parametrize(
    ("name", "content", "excel"),
    [
        ("m.csv", b"text,label\rhello there,a\rgood bye,b\r", " (Excel: CSV UTF-8)"),
        # Before: "line 1: not valid JSON (Extra data: line 1 column 30 (char 29))".
        ("m.jsonl", b'{"text": "hi", "label": "a"}\r{"text": "ho", "label": "b"}\r', ""),
    ],
)
def test_a_file_with_bare_cr_line_ends_is_named(tmp_path, name, content, excel):
    raw = tmp_path / "raw"
    assert refused(raw, name, content) == (
        f"{raw / name}: the file's lines end in a bare carriage return (CR, as old Mac programs save), "
        f"which prepare does not read as a line end: re-save it with LF or CR LF line ends{excel}"
    )


def test_a_bare_cr_between_two_json_objects_names_its_line(tmp_path):
    # Before: "line 2: not valid JSON (Extra data: line 1 column 29 (char 28)); one object per line".
    raw = tmp_path / "raw"
    content = b'{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\r{"text": "c", "label": "x"}\n'
    assert refused(raw, "m.jsonl", content) == (
        f"{raw / 'm.jsonl'}: line 2: a carriage return (CR) without a line feed after it between two JSON "
        "objects: prepare reads one object per line, lines ending in LF or CR LF; end the line there with LF"
    )
    # A CR inside a JSON object is whitespace (or, escaped, text): read as before.
    rows = read(
        tmp_path / "ok", "m.jsonl", b'{"text": "a\\rb",\r "label": "x"}\r\n{"text": "c", "label": "y"}\n'
    )
    assert rows == [("a\rb", "x"), ("c", "y")]


def test_a_bare_cr_inside_an_unquoted_text_names_its_line(tmp_path):
    raw = tmp_path / "raw"
    message = refused(raw, "m.csv", b"text,label\r\nfine,a\r\nhello\rthere,a\r\ngood,b\r\n")
    assert message.startswith(
        f"{raw / 'm.csv'}: line 3: a carriage return (CR) without a line feed after it, outside quotes: "
        "quote the text that holds it, or remove it"
    ), message


def test_other_csv_errors_keep_their_message(tmp_path):
    # A CR later on the line does not take the blame for an error before it.
    message = refused(tmp_path / "raw", "m.csv", b'text,label\n"abc"x,a\rb\n')
    assert 'line 2: a " ends a quoted text but the text goes on' in message, message
    assert "carriage return" not in message, message


@pytest.mark.parametrize(
    "content",
    [
        b"text,label\nhello,a\ngood bye,b\n",
        b"text,label\r\nhello,a\r\ngood bye,b\r\n",
        b'text,label\r\n"hello\rthere",a\r\ngood bye,b\r\n',  # a CR inside quotes is text
        b"text,label\nhello,a\ngood bye,b\r",  # a last line ending in CR
    ],
)
def test_lf_crlf_and_quoted_crs_still_read(tmp_path, content):
    rows = read(tmp_path / "raw", "m.csv", content)
    assert [label for _, label in rows] == ["a", "b"]
    assert rows[1][0] == "good bye"


@pytest.mark.parametrize(
    ("record", "where"),
    [
        ('{"text": "hi", "label": "a", "id": %s}', "key 'id'"),
        ('{"text": "hi", "label": "a", "meta": {"ids": [1, -%s]}}', "key 'meta.ids[1]'"),
        ('{"text": "hi", "label": %s}', "key 'label'"),
    ],
)
def test_a_number_too_long_names_the_line_and_key(tmp_path, record, where):
    raw = tmp_path / "raw"
    good = json.dumps({"text": "first", "label": "a"})
    message = refused(raw, "m.jsonl", f"{good}\n{record % ('9' * 5001)}\n".encode())
    assert message == (
        f"{raw / 'm.jsonl'}: line 2: {where} holds a number of 5,001 digits, too long to read (no text, "
        "label or id needs one): shorten it, or quote it as text"
    )


def test_other_invalid_json_keeps_its_message(tmp_path):
    message = refused(tmp_path / "raw", "m.jsonl", b'{"text": "x", "label": 1, "id": 99\n')
    assert "line 1: not valid JSON" in message, message


def test_long_numbers_python_reads_still_load(tmp_path):
    rows = read(tmp_path / "raw", "m.jsonl", f'{{"text": "hi", "label": "a", "id": {"9" * 4000}}}\n'.encode())
    assert rows == [("hi", "a")]


@pytest.mark.parametrize(
    ("between", "named"),
    [("\u2028", "U+2028 (LINE SEPARATOR)"), ("\x85", "U+0085"), ("\x0c", "U+000C"), ("\u2029", "U+2029")],
)
def test_an_editor_line_break_between_two_json_objects_is_named(tmp_path, between, named):
    # Before: "line 2: not valid JSON (Extra data: line 1 column 29 (char 28)); one object per line".
    raw = tmp_path / "raw"
    row = '{{"text": "{}", "label": "x"}}'.format
    content = f"{row('a')}\n{row('b')}{between}{row('c')}\n"
    message = refused(raw, "m.jsonl", content.encode())
    assert message.startswith(f"{raw / 'm.jsonl'}: line 2: {named}"), message
    assert message.endswith(
        "between two JSON objects, a line break to some editors but not to prepare or git, "
        "which read one object per line ending in LF or CR LF: replace it with LF"
    ), message


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        # Before: "cannot be read as csv: line 4: unexpected end of data" (the file's last line).
        ("m.csv", b'text,label\n"hi",a\n"never closed,b\nmore,a\n',
         'line 3: a quoted text that starts on this line is never closed; add its closing " (a " inside a '
         'quoted text is written "")'),
        # Before: "not valid JSON (Extra data: line 1 column 29 (char 28))".
        ("m.jsonl", b'{"text": "a", "label": "x"} {"text": "b", "label": "y"}\n',
         "line 1, column 29: a second JSON value after the line's first one; prepare reads one object per "
         "line: put each on its own line"),
    ],
)  # fmt: skip
def test_where_a_record_goes_wrong_is_named(tmp_path, name, content, said):
    raw = tmp_path / "raw"
    assert refused(raw, name, content) == f"{raw / name}: {said}"
