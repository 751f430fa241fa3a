"""Stage `prepare`: validate and clean the raw data, then split it by label with a seed.

Reads every CSV, JSONL and Parquet file in `data.raw_dir` (not those `.dvcignore` hides: DVC does
not version them). Writes `train.jsonl`, `validation.jsonl`, `test.jsonl` and `labels.json` to
`data.prepared_dir`, and a data summary (rows per split and class, text length percentiles, what
was dropped) to `metrics/data.json`.

Memory is bounded by the rows, not by their texts: the files are streamed (CSV and JSON lines row
by row, Parquet by record batch), each cleaned text goes to a temporary spool file as its output
line, and what stays in memory per row is a 16-byte digest (for duplicates), its label, lengths
and spool offset. The split is drawn on row indices with the same seeded shuffles as before, then
the splits are written by copying the spooled lines in that order.

Each prepared row keeps where it came from, `source`: the raw file and its row as a spreadsheet
shows it (and the line, for CSV), so a check that flags a prepared row names the row a user edits.
Given the model params (`textclf prepare` passes them), the summary also says how many texts are
longer than `model.max_length` tokens, whose ends the model never sees (`truncation`; counted with the
base model's tokenizer on every row, or on a seeded sample of TOKEN_SAMPLE_ROWS when there are
more).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import numbers
import os
import random
import re
import shutil
import stat
import sys
import tempfile
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from textclf import atomic
from textclf.config import (
    PROTECTED_DIRS,
    DataParams,
    ModelParams,
    label_character_problem,
    without_presentation_selectors,
    written_folder,
)
from textclf.interrupt import sigterm_as_interrupt
from textclf.text import character_name, composed_twins, lone_surrogate, normalise

SUMMARY_FILE = Path("metrics/data.json")
SPLITS = ("train", "validation", "test")
READERS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
IGNORE_FILES = frozenset({".dvcignore", ".gitignore"})
# What DVC leaves out without any .dvcignore, at any depth (dvc/ignore.py, DvcIgnoreFilter's
# default_ignore_patterns: `.hg/`, `.git/`, `.git`, `.dvc/`): prepare does not read it either. A
# `.dvc` folder also makes the folder holding it a DVC repository of its own, which DVC leaves out
# whole (DvcIgnoreFilter._update_sub_repo): refused (data_files).
DVC_IGNORED_FOLDERS = frozenset({".git", ".hg"})
DVC_IGNORED_FILES = frozenset({".git"})
# Everything prepare writes into data.prepared_dir: the only files it may replace there.
PREPARED_FILES = frozenset({*(f"{name}.jsonl" for name in SPLITS), "labels.json"})
PARQUET_BATCH_ROWS = 10_000
# Texts whose tokens are counted for the truncation figure: all up to this, else a seeded sample.
TOKEN_SAMPLE_ROWS = 20_000
TOKEN_BATCH_ROWS = 1_000
# Texts are cut to max_length * this many characters before they are counted: a WordPiece token
# covers at most about 100 characters (a longer word is one [UNK]) and whitespace is collapsed, so a
# cut text still counts more than max_length tokens whenever the whole does, and a 50 MB field is
# not tokenized whole. Percentiles above max_length are then lower bounds.
CHARS_PER_TOKEN = 128
# Rows a message names when many share a problem (empty texts, labels outside a list); the rest counted.
SHOWN_ROWS = 5
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long e-mail is one field; the default is 128 KB


class DataError(ValueError):
    """The raw data cannot be used; the message names the file, row or field."""


@dataclass
class Example:
    text: str
    label: str
    source: str  # "file, row N" for error messages


@dataclass
class Cleaned:
    examples: list[Example]
    dropped: Counter = field(default_factory=Counter)


# ---------------------------------------------------------------------------------------------
# Which files


def _regular_file(path: Path) -> bool:
    """A regular file, or a link to one (checked on the file itself: a FIFO must never be opened)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _dvcignore_specs(folders: Iterable[Path]) -> list[tuple[Path, object]]:
    """The `.dvcignore` of each folder that has one, compiled; DataError naming the file and line of a
    pattern that cannot be compiled. DVC does not skip such a line either: `dvc check-ignore` (3.x)
    stops with "unexpected error - bad character range" or "Invalid git pattern" for `[z-a]`, a lone
    backslash or a lone `!` (dvc/ignore.py compiles every line of the file with pathspec's
    gitignore pattern and re.compile)."""
    import pathspec

    specs = []
    for folder in folders:
        ignore = folder / ".dvcignore"
        if ignore.is_file():
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines, start=1):
                try:
                    pathspec.PathSpec.from_lines("gitwildmatch", [line])
                except (ValueError, re.error) as error:
                    raise DataError(
                        f"{_shown(ignore)} line {number}: {line!r} is not a pattern DVC can use ({error}); "
                        "DVC stops on it too: fix or delete the line (gitignore syntax: "
                        "https://git-scm.com/docs/gitignore)"
                    ) from None
            specs.append((folder, pathspec.PathSpec.from_lines("gitwildmatch", lines)))
    return specs


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _shown(path: Path) -> Path:
    """A path as the user names it: relative to the repository root (the current folder) if inside."""
    root = Path.cwd().resolve()
    return path.relative_to(root) if _inside(path, root) else path


def _hiding(absolute: Path, specs: list[tuple[Path, object]], tail: str = "") -> Path | None:
    """The `.dvcignore` that hides the file (or, with tail "/", the folder), or None. The last
    pattern that matches decides, across the files from the root down (`specs` in that order), as
    DVC merges them: a deeper file's `!*.csv` brings back what an outer one left out, which DVC
    then versions and prepare left out unsaid (R14A-13)."""
    hiding = None
    for where, spec in specs:
        decided = spec.check_file(absolute.relative_to(where).as_posix() + tail)
        if decided.include is not None:
            hiding = _shown(where / ".dvcignore") if decided.include else None
    return hiding


def _hidden(absolute: Path, specs: list[tuple[Path, object]], tail: str = "") -> bool:
    """Whether a `.dvcignore` hides the file (or, with tail "/", the folder)."""
    return _hiding(absolute, specs, tail) is not None


def _outer_specs(raw_dir: Path) -> tuple[list[tuple[Path, object]], bool]:
    """The `.dvcignore` files from the repository root (the current folder) down to the folder that
    holds `raw_dir`, compiled; and whether `raw_dir` is inside the repository (DVC tracks it there,
    so a `.dvcignore` inside it is one DVC refuses: _inner_specs). A raw folder outside the
    repository reads its own `.dvcignore` as before."""
    root = Path.cwd().resolve()
    resolved_raw = raw_dir.resolve()
    base = root if _inside(resolved_raw, root) else resolved_raw
    chain = [base, *reversed([d for d in resolved_raw.parents if _inside(d, base) and d != base])]
    # As DVC (3.x) reads them (dvc/ignore.py, DvcIgnoreFilter._update_trie): a folder's .dvcignore
    # only where the patterns above do not match it. A root `.*` hides data/.dvcignore from DVC,
    # which then versions what it lists, while prepare left those files out unsaid (R14A-10).
    specs: list[tuple[Path, object]] = []
    for folder in chain:
        if folder == base or not _hidden(folder / ".dvcignore", specs):
            specs += _dvcignore_specs([folder])
    return specs, resolved_raw != base


def _inner_specs(folder: Path, specs: list[tuple[Path, object]], raw_dir: Path) -> list[tuple[Path, object]]:
    """The specs in force in `folder`, a folder inside data.raw_dir holding a `.dvcignore`, given
    those of its parent (`specs`): as DVC (3.x) takes them when `dvc add` hashes the folder.

    DVC reads a `.dvcignore` only if the patterns above it do not match it (dvc/ignore.py,
    DvcIgnoreFilter._update_trie), and merges its patterns with theirs; hashing the tracked folder
    then walks it with those patterns and stops at any `.dvcignore` the walk still lists
    (dvc_data/hashfile/build.py, _build_tree: IgnoreInCollectedDirError, ".dvcignore file should
    not be in collected dir path"). So a `.dvcignore` the patterns above hide is neither read nor
    an error; one that hides itself (a line `.dvcignore`, or `*`) is read and honoured; any other
    stops `dvc add data/raw`: refused here, naming it and what to do."""
    absolute = folder.resolve() / ".dvcignore"
    if _hidden(absolute, specs):
        return specs
    own = _dvcignore_specs([folder.resolve()])
    if own and own[0][1].match_file(".dvcignore"):
        return specs + own
    shown = _shown(absolute)
    prefix = _shown(folder.resolve()).as_posix()
    raise DataError(
        f"{shown}: a .dvcignore inside {raw_dir} (data.raw_dir), the folder DVC tracks, which `dvc add "
        f"{raw_dir}` refuses ('.dvcignore file should not be in collected dir path'): move its lines to "
        f"the repository's .dvcignore, each prefixed with {prefix}/ (a line `*.tmp` becomes "
        f"`{prefix}/**/*.tmp`), and delete {shown}"
    )


def dvcignore_specs_at(folder: Path, raw_dir: Path) -> list[tuple[Path, object]]:
    """The `.dvcignore` specs in force in `folder` (inside `raw_dir`, or `raw_dir` itself, existing or
    not) as data_files and DVC take them; DataError for a line that is no pattern or for a
    `.dvcignore` inside `raw_dir` that DVC refuses (_inner_specs)."""
    specs, tracked = _outer_specs(raw_dir)
    if not tracked:
        return specs + _dvcignore_specs([raw_dir.resolve()])
    inside = folder.resolve().relative_to(raw_dir.resolve()).parts
    here = raw_dir
    for part in (None, *inside):
        here = here if part is None else here / part
        if (here / ".dvcignore").exists() or (here / ".dvcignore").is_symlink():
            specs = _inner_specs(here, specs, raw_dir)
    return specs


# C0 and C1 control characters and DEL (a line feed, a carriage return, ESC) in a file or folder name.
_CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _utf8(name: str) -> bool:
    """Whether a file name read from the disk is UTF-8 (undecodable bytes come as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def data_files(raw_dir: Path, allow_empty: bool = False) -> list[Path]:
    """The files prepare reads: by suffix, not hidden by a `.dvcignore`, links kept inside the
    repository; a data file of a kind prepare does not read is an error, not silently skipped.
    None is an error (naming the `.dvcignore` that hides them, if one does) unless `allow_empty`."""
    if not raw_dir.is_dir():
        if allow_empty:
            return []
        raise DataError(f"{raw_dir}: raw data folder not found (data.raw_dir in params.yaml)")
    root = Path.cwd().resolve()
    resolved_raw = raw_dir.resolve()
    files: list[Path] = []
    hidden: list[tuple[Path, Path]] = []  # (data file, the .dvcignore that hides it)
    # .dvcignore files from the repository root down to the folder holding the raw folder; one
    # inside it is taken as DVC takes it (_inner_specs), and holds for the folders below.
    specs, tracked = _outer_specs(raw_dir)
    specs_of: dict[Path, list[tuple[Path, object]]] = {}
    for folder, folders, names in os.walk(raw_dir, followlinks=False):
        here = Path(folder)
        specs_here = specs_of.pop(here, specs)
        if ".dvcignore" in names:
            if tracked:
                specs_here = _inner_specs(here, specs_here, raw_dir)
            else:  # a raw folder outside the repository: DVC does not track it; read as before
                specs_here = specs_here + _dvcignore_specs([here.resolve()])
        # A `.dvc` file or link there too: `dvc add` recorded no file of the folder (issue 27, round 10, F-s).
        dvc_entry = ".dvc" in folders or ".dvc" in names
        if dvc_entry and (here == raw_dir or not _hidden(here.resolve(), specs_here, "/")):
            raise DataError(
                f"{here / '.dvc'}: a DVC repository's {'folder' if '.dvc' in folders else 'marker'} inside "
                f"{raw_dir} (data.raw_dir): DVC leaves "
                f"{here} out of the dataset whole (a repository of its own), so `dvc add` would not "
                f"version what prepare reads there; remove {here / '.dvc'} (or move {here} out of {raw_dir})"
            )
        # DVC reads a `.dvcignore` in every folder it walks unless the patterns above match it as a
        # file, and opens a folder of that name as one: `dvc add` ends in "[Errno 21] Is a directory"
        # (dvc/ignore.py, DvcIgnoreFilter._update_trie); prepare walked it and read its files (issue
        # 27, round 11, U-r11-9). A link of that name is refused below as a link to a folder.
        if (
            ".dvcignore" in folders
            and not (here / ".dvcignore").is_symlink()
            and not _hidden(here.resolve() / ".dvcignore", specs_here)
        ):
            raise DataError(
                f"{here / '.dvcignore'}: a folder named .dvcignore inside {raw_dir} (data.raw_dir); "
                f"DVC reads .dvcignore as a file of patterns and `dvc add {raw_dir}` stops on the "
                "folder ('Is a directory'): rename it, or move its files out of it"
            )
        folders[:] = [name for name in folders if name not in DVC_IGNORED_FOLDERS | {".dvc"}]
        specs_of.update({here / name: specs_here for name in folders})
        for name in sorted(folders):
            if (here / name).is_symlink():
                raise DataError(
                    f"{here / name}: a symbolic link to a folder; DVC versions what is in "
                    f"{raw_dir}, so put the files there"
                )
            if Path(name).suffix.lower() in READERS and not _hidden(here.resolve() / name, specs_here, "/"):
                # Named as a data file, it would be walked as a folder: a user who meant a file
                # (an unpacked archive, a Spark output folder) hears it rather than loses the rows.
                raise DataError(
                    f"{here / name}: a folder named like a data file; prepare reads .csv, .jsonl and "
                    ".parquet files, not folders: rename the folder or put its files there"
                )
        for name in [*folders, *names]:
            if not _utf8(name):
                # Its name reached the splits' `source` as bytes that are not UTF-8: train refused them
                # and said to run prepare again, which wrote the same; `dvc add` refuses the name too.
                raise DataError(
                    f"{here}: holds {os.fsencode(name)!r}, a name that is not UTF-8 (written on another "
                    "system?); rename it with letters, digits, spaces, - _ . only"
                )
            if _CONTROL_IN_NAME.search(name):
                # Named as it is, a line break in it started a line of its own in every message and
                # log: `::error ...::` there is a GitHub workflow command (R14A-12). use-data refuses
                # such a name for the file it copies (own_data.check_source).
                raise DataError(
                    f"{here}: holds {name!r}, a name with a line break or another control character; "
                    "rename it with letters, digits, spaces, - _ . only"
                )
        for name in names:
            path = here / name
            absolute = here.resolve() / name
            if (ignore := _hiding(absolute, specs_here)) is not None:
                if path.suffix.lower() in READERS:
                    hidden.append((path, ignore))
                continue  # DVC does not version it: training must not read it either
            if name in IGNORE_FILES or name in DVC_IGNORED_FILES:
                continue  # DVC's and git's own rules, not data
            if path.suffix.lower() not in READERS:
                # DVC versions every file here, so a file prepare would skip (notes.txt, rows.dat)
                # is data nobody trains on: said, not silently left out.
                raise DataError(
                    f"{path}: prepare reads .csv, .jsonl and .parquet files only; convert it (JSON "
                    f"records one per line: .jsonl), move it out of {raw_dir} (data.raw_dir), or list "
                    "it in .dvcignore if it is not data (DVC then neither versions it nor prepare reads it)"
                )
            if path.is_symlink():
                try:  # strict: a dangling link or a loop is an error, not a file silently skipped
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    raise DataError(
                        f"{path}: a symbolic link that leads nowhere (a loop or a missing file); "
                        "replace it by the file or remove it"
                    ) from None
                if not (_inside(target, root) or _inside(target, resolved_raw)):
                    raise DataError(
                        f"{path}: a symbolic link to {target}, outside the repository; DVC would not "
                        f"version that file: copy it into {raw_dir}"
                    )
                cleared = (
                    written_folder(target.relative_to(root).as_posix(), holding=False)
                    if _inside(target, root)
                    else None
                )
                if cleared is not None:
                    # `make clean` (or a stage) removes that folder, the file with it: the link
                    # would dangle and the data be gone.
                    raise DataError(
                        f"{path}: a symbolic link to {_shown(target)}, inside {cleared}/, which a stage "
                        f"writes or `make clean` removes; move the file into {raw_dir} (data.raw_dir)"
                    )
            if not _regular_file(path):
                # A pipe would block prepare for ever, a device never ends: neither is data DVC versions.
                raise DataError(
                    f"{path}: not a regular file (a pipe, device or socket); replace it by the data "
                    f"file or move it out of {raw_dir} (data.raw_dir)"
                )
            files.append(path)
    if not files and hidden and not allow_empty:
        path, ignore = hidden[0]
        raise DataError(
            f"{raw_dir}: no .csv, .jsonl or .parquet files prepare may read: {len(hidden)} such file(s) "
            f"are there ({path}{' ...' if len(hidden) > 1 else ''}) but .dvcignore hides them ({ignore}), "
            "so DVC does not version them; remove the line that matches them from that .dvcignore"
        )
    if not files and not allow_empty:
        raise DataError(f"{raw_dir}: no .csv, .jsonl or .parquet files found")
    return sorted(files)


# ---------------------------------------------------------------------------------------------
# Reading: one (text, label, row index, line) at a time


def _lines(path: Path, handle) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) of a binary file; a line that is not UTF-8 is an error naming it."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}: line {number}: bytes that are not UTF-8 ({raw[error.start : error.end]!r}); "
                "re-save the file as UTF-8"
            ) from None
        yield number, line.removeprefix("\ufeff") if number == 1 else line  # a BOM, as Excel writes


def _csv_records(path: Path, params: DataParams) -> Iterator[tuple[object, object, int, int]]:
    with path.open("rb") as handle:
        current = [""]  # the line csv reads, to name a bare carriage return in it

        def lines() -> Iterator[str]:
            for _, line in _lines(path, handle):
                current[0] = line
                yield line

        reader = csv.reader(lines(), strict=True)
        try:
            before = 0  # the lines before the record being read
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: the file is empty; remove it or add rows with a header")
            # Counted once: header.count per name was quadratic (200,000 columns: minutes).
            repeated = sorted(name for name, times in Counter(header).items() if times > 1)
            if repeated:
                # pandas would rename the second one to `text.1` and silently read the first.
                raise DataError(
                    f"{path}: line 1: the header names {repeated} more than once; keep one of each"
                )
            columns = {}
            for column, setting in (
                (params.text_column, "text_column"),
                (params.label_column, "label_column"),
            ):
                if column not in header:
                    if (delimiter := _other_delimiter(header)) is not None:
                        raise DataError(
                            f"{path}: line 1: the header is one field, {header[0][:80]!r}, holding "
                            f"{delimiter}: the file looks {delimiter}-separated (Excel saves CSV so in many "
                            "locales), and prepare reads comma-separated CSV; re-save it comma-separated "
                            "(Excel: CSV UTF-8), or as .jsonl"
                        )
                    raise DataError(
                        f"{path}: missing column {shown_label(column)} (data.{setting} in params.yaml); "
                        f"found columns {shown_names(header)}"
                    )
                columns[setting] = header.index(column)
            index = 0
            while True:
                before = reader.line_num
                row = next(reader, None)
                if row is None:
                    break
                if not row:
                    continue  # a blank line
                if len(row) > len(header):
                    raise DataError(
                        f"{path}: line {before + 1} has {len(row)} fields, the header {len(header)}; "
                        "quote texts that hold commas"
                    )
                text = row[columns["text_column"]] if columns["text_column"] < len(row) else ""
                label = row[columns["label_column"]] if columns["label_column"] < len(row) else ""
                yield text, label, index, before + 1
                index += 1
        except csv.Error as error:
            if "new-line character" in str(error) and _BARE_CR.search(current[0]):
                if _bare_cr_line_ends(reader.line_num, current[0]):
                    raise DataError(_bare_cr_line_ends_message(path)) from None
                raise DataError(
                    f"{path}: line {reader.line_num}: a carriage return (CR) without a line feed after it, "
                    "outside quotes: quote the text that holds it, or remove it"
                ) from None
            if "expected after '\"'" in str(error):  # strict csv: a quoted field goes on after its quote
                opened = f" (the field opened on line {before + 1})" if reader.line_num > before + 1 else ""
                raise DataError(
                    f'{path}: line {reader.line_num}: a " ends a quoted text but the text goes on{opened}: a '
                    'text that holds a " is quoted whole, each " inside it doubled ("say ""hi"""); a quote '
                    "left open on an earlier line shows here"
                ) from None
            if "unexpected end of data" in str(error):  # strict csv: the file ends inside quotes
                raise DataError(
                    f"{path}: line {before + 1}: a quoted text that starts on this line is never closed; "
                    'add its closing " (a " inside a quoted text is written "")'
                ) from None
            raise DataError(f"{path}: cannot be read as csv: line {reader.line_num}: {error}") from None
    if index == 0:
        raise DataError(f"{path}: the file has no rows")


# A carriage return without a line feed after it, outside quotes: Python's csv refuses it with
# "new-line character seen in unquoted field - do you need to open the file in universal-newline
# mode?", advice about Python, not about the file (issue 27, round 11, U-r11-6). Named instead, and
# not read as a line end: prepare numbers lines at LF, as git, its diffs and editors' line numbers
# do, and a file of bare-CR line ends is one line to git.
_BARE_CR = re.compile("\r(?!\n)")


def _bare_cr_line_ends(number: int, line: str) -> bool:
    """Whether `line`, line `number` as read at LF, is a whole file whose lines end in a bare CR."""
    return number == 1 and not line.endswith("\n") and len(_BARE_CR.findall(line.rstrip("\r"))) > 0


def _bare_cr_line_ends_message(path: Path) -> str:
    excel = " (Excel: CSV UTF-8)" if path.suffix.lower() == ".csv" else ""
    return (
        f"{path}: the file's lines end in a bare carriage return (CR, as old Mac programs save), which "
        f"prepare does not read as a line end: re-save it with LF or CR LF line ends{excel}"
    )


# Field separators other than the comma: Excel writes `;` where the comma is the decimal mark (most
# of Europe), and a tab or `|` are common exports. Named, never guessed: the file is read as CSV.
OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def _other_delimiter(header: list[str]) -> str | None:
    """How the header would be separated, when it is one field holding `;`, a tab or `|` (the
    most frequent), as a message names it; None otherwise."""
    if len(header) != 1:
        return None
    counts = {shown: header[0].count(character) for character, shown in OTHER_DELIMITERS.items()}
    shown, times = max(counts.items(), key=lambda item: item[1])
    return shown if times else None


class _Overlong(str):
    """The digits of an integer longer than Python's int() reads (int_max_str_digits, 4,300)."""


def _overlong_number(line: str) -> tuple[str, int] | None:
    """(key, digits) of the first integer in the JSON object `line` too long for int(), which
    json.loads refuses with "use sys.set_int_max_str_digits() to increase the limit", advice a
    user cannot follow (issue 27, round 11, U-r11-7); None if none is. Only read after that
    refusal: valid lines are parsed as before."""

    def digits(text: str) -> int | str:
        try:
            return int(text)
        except ValueError:
            return _Overlong(text)

    try:
        record = json.loads(line, parse_int=digits)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[str, object]] = [("", record)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, _Overlong):
            return key, len(value.lstrip("-"))
        if isinstance(value, dict):
            stack += reversed(
                [(f"{key}.{inner}" if key else str(inner), item) for inner, item in value.items()]
            )
        elif isinstance(value, list):
            stack += reversed([(f"{key}[{index}]", item) for index, item in enumerate(value)])
    return None


# Characters some editors (and Python's str.splitlines) break a line at, which JSON does not take
# as whitespace: `{...}<U+2028>{...}` is two objects on one line to prepare and git.
_EDITOR_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _extra_data_message(path: Path, number: int, line: str, at: int) -> str:
    """JSON's "Extra data": a second value after the line's first one, at index `at`."""
    if line[at] in _EDITOR_BREAKS:
        return (
            f"{path}: line {number}: {character_name(line[at])} between two JSON "
            "objects, a line break to some editors but not to prepare or git, which read one object per "
            "line ending in LF or CR LF: replace it with LF"
        )
    return (
        f"{path}: line {number}, column {at + 1}: a second JSON value after the line's first one; "
        "prepare reads one object per line: put each on its own line"
    )


def _jsonl_records(path: Path, params: DataParams) -> Iterator[tuple[object, object, int, int]]:
    """One JSON object per line; only a newline ends a record (U+2028 and form feeds are text)."""
    index = 0
    with path.open("rb") as handle:
        for number, line in _lines(path, handle):
            if not line.strip():
                continue  # a blank line, e.g. at the end of the file
            try:
                record = json.loads(line, object_pairs_hook=atomic.unique_keys)
            except atomic.DuplicateKey as duplicate:
                raise DataError(
                    f"{path}: line {number}: key {duplicate.key!r} is given twice; keep one"
                ) from None
            except ValueError as error:
                if _bare_cr_line_ends(number, line):
                    raise DataError(_bare_cr_line_ends_message(path)) from None
                if getattr(error, "msg", "") == "Extra data" and _BARE_CR.search(line, 0, error.pos):
                    # `{...}<CR>{...}`: two records on one line to git and prepare, two to an editor
                    raise DataError(
                        f"{path}: line {number}: a carriage return (CR) without a line feed after it "
                        "between two JSON objects: prepare reads one object per line, lines ending in "
                        "LF or CR LF; end the line there with LF"
                    ) from None
                if getattr(error, "msg", "") == "Extra data":
                    raise DataError(_extra_data_message(path, number, line, error.pos)) from None
                if (overlong := _overlong_number(line)) is not None:
                    key, length = overlong
                    where = f"key {key[:80]!r}" if key else "the line"
                    raise DataError(
                        f"{path}: line {number}: {where} holds a number of {length:,} digits, too long to "
                        "read (no text, label or id needs one): shorten it, or quote it as text"
                    ) from None
                raise DataError(
                    f"{path}: line {number}: not valid JSON ({error}); one object per line"
                ) from None
            except RecursionError:
                raise DataError(
                    f"{path}: line {number}: nested too deeply; one flat object per line"
                ) from None
            if not isinstance(record, dict):
                raise DataError(
                    f"{path}: line {number}: expected a JSON object such as "
                    f'{{"text": "...", "label": "..."}}, got {type(record).__name__}'
                )
            for column, setting in (
                (params.text_column, "text_column"),
                (params.label_column, "label_column"),
            ):
                if column not in record:
                    keys = shown_names(sorted(map(str, record)))
                    raise DataError(
                        f"{path}: row {index + 1} (line {number}): no {shown_label(column)} key "
                        f"(data.{setting} in params.yaml); the row has {keys}"
                    )
            yield record[params.text_column], record[params.label_column], index, number
            index += 1
    if index == 0:
        raise DataError(f"{path}: the file is empty; remove it or add rows")


def _parquet_records(path: Path, params: DataParams) -> Iterator[tuple[object, object, int, None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
        names = table.schema_arrow.names
        repeated = sorted(name for name, times in Counter(names).items() if times > 1)
        if repeated:
            # iter_batches(columns=[text, label]) returns every column of a repeated name, so the batch's
            # second column was the second `text` column, trained on as the label, without a word.
            raise DataError(
                f"{path}: the schema names the columns {repeated} more than once; keep one of each"
            )
        for column, setting in ((params.text_column, "text_column"), (params.label_column, "label_column")):
            if column not in names:
                raise DataError(
                    f"{path}: missing column {shown_label(column)} (data.{setting} in params.yaml); "
                    f"found columns {shown_names(names)}"
                )
        index = 0
        columns = [params.text_column, params.label_column]
        for batch in table.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            texts, labels = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            for text, label in zip(texts, labels, strict=True):
                yield text, label, index, None
                index += 1
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException) as error:
        raise DataError(f"{path}: cannot be read as parquet: {error}") from None
    if index == 0:
        raise DataError(f"{path}: the file has no rows")


_RECORDS = {"csv": _csv_records, "jsonl": _jsonl_records, "parquet": _parquet_records}


def row_place(index: int, line: int | None) -> str:
    """`row 177 (line 2104)`: rows counted from 1 as a spreadsheet shows them; a CSV's header is
    line 1."""
    return f"row {index + 1}" + (f" (line {line})" if line is not None else "")


def _row_name(path: Path, index: int, line: int | None) -> str:
    return f"{path}: {row_place(index, line)}"


def _label_text(label: object) -> str | None:
    """The label as text: a number by its value (1, 1.0 and "1" are one class), None if unusable.
    Lists, objects, booleans and inf would become labels such as "[1]" or "True" once made text."""
    if isinstance(label, str):
        return label.strip()
    if isinstance(label, bool) or not isinstance(label, numbers.Real):
        return None
    if isinstance(label, numbers.Integral):
        return str(int(label))
    value = float(label)
    if not math.isfinite(value):
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _is_empty(label: object) -> bool:
    return (
        label is None
        or (isinstance(label, float) and math.isnan(label))
        or (isinstance(label, str) and not label.strip())
    )


def _check_label_characters(label: str, where: str, params: DataParams) -> None:
    """A label becomes a class name in labels.json, the summary, the report and the PR comment:
    control characters (an ESC sequence recolours a terminal), invisible format characters and
    bidirectional controls (U+202E shows a name in another order than it is) are refused, as
    params.yaml and S3 keys refuse them."""
    bad = label_character_problem(label)
    if bad is not None:
        raise DataError(
            f"{where}: column {params.label_column!r} holds {character_name(bad)} in the label "
            f"{label[:40]!r}; labels are class names shown in reports: remove the character"
        )


def iter_rows(
    raw_dir: Path, params: DataParams, files: list[Path] | None = None
) -> Iterator[tuple[str, str, Path, int, int | None]]:
    """(text as written, label as text, file, row index, line) of every row, checked for types;
    `files`: data_files(raw_dir) when the caller has listed them already."""
    checked_labels: set[str] = set()  # labels repeat: each distinct one is checked once
    for path in data_files(raw_dir) if files is None else files:
        kind = READERS[path.suffix.lower()]
        try:
            for text, label, index, line in _RECORDS[kind](path, params):
                if not isinstance(text, str):
                    where = _row_name(path, index, line)
                    raise DataError(f"{where}: column {params.text_column!r} must be text, got {text!r}")
                if _is_empty(label):
                    where = _row_name(path, index, line)
                    raise DataError(f"{where}: column {params.label_column!r} is empty")
                shown = _label_text(label)
                if shown is None:
                    where = _row_name(path, index, line)
                    raise DataError(
                        f"{where}: column {params.label_column!r} must be a text or a number, got {label!r}"
                    )
                if shown not in checked_labels:
                    _check_label_characters(shown, _row_name(path, index, line), params)
                    checked_labels.add(shown)
                for column, value in ((params.text_column, text), (params.label_column, shown)):
                    if (bad := lone_surrogate(value)) is not None:
                        where = _row_name(path, index, line)
                        raise DataError(
                            f"{where}: column {column!r} holds a lone surrogate (U+{ord(bad):04X}), "
                            "which is no character (a \\u escape of half a pair?): fix the row"
                        )
                yield text, shown, path, index, line
        except OSError as error:
            raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None


def read_raw(raw_dir: Path, params: DataParams) -> list[Example]:
    """Every labelled text in the raw folder, checked for schema and types (in memory: small data)."""
    return [
        Example(text=text, label=label, source=_row_name(path, index, line))
        for text, label, path, index, line in iter_rows(raw_dir, params)
    ]


# ---------------------------------------------------------------------------------------------
# Cleaning: normalise, check labels, drop empty texts (if allowed) and duplicates

# What the default model's tokenizer reads (model_key): the C0 controls but tab, line feed and
# carriage return, and DEL, which its clean_text drops; ASCII's punctuation, which its pre-tokenizer
# splits off as it does Unicode's P* (it counts $+<=>^`|~ too); CJK ideographs, which its normalizer
# sets apart as words of their own (handle_chinese_chars).
_ASCII_DROPPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_APART = frozenset(chr(code) for code in range(33, 127) if not chr(code).isalnum())
_ASCII_SPACE_BEFORE = re.compile(r" (?=[!-/:-@\[-`{-~])")  # a space before ASCII punctuation
_ASCII_SPACE_AFTER = re.compile(r"(?<=[!-/:-@\[-`{-~]) ")
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


@functools.cache
def _kind(character: str) -> str:
    """What BERT's tokenizer does with a character: "dropped" by clean_text (Unicode's "other", C*:
    controls but tab, line feed and carriage return, format, private use, unassigned; and U+FFFD),
    "mark" (a nonspacing mark, dropped by strip_accents after NFD), "apart" (a word of its own:
    punctuation or a CJK ideograph), or "" (part of a word, or whitespace)."""
    category = unicodedata.category(character)
    if (category[0] == "C" and character not in "\t\n\r") or character == "\ufffd":
        return "dropped"
    if category == "Mn":
        return "mark"
    code = ord(character)
    if (
        category[0] == "P"
        or character in _ASCII_APART
        or any(low <= code <= high for low, high in _CJK_RANGES)
    ):
        return "apart"
    return ""


def _close_up(words: str, apart: Iterable[str]) -> str:
    """`words` (single spaces) without the spaces beside each character of `apart`."""
    for character in apart:
        words = words.replace(" " + character, character).replace(character + " ", character)
    return words


def model_key(text: str) -> str:
    """What the default model reads in `text`, one form per input: texts with one key are one input to
    it. Its tokenizer (all-MiniLM-L6-v2's tokenizer.json: a BertNormalizer with lowercase true, and
    strip_accents null, which then follows lowercase; a BertPreTokenizer) drops control and format
    characters, strips accents (NFD, then no nonspacing marks), lower-cases one character at a time,
    and cuts at whitespace and around each punctuation character and CJK ideograph, so `Refund my
    order!`, `refund my order !` and `RÉFUND my order!` are one input. The key is the text so
    reduced, with one space between two words and none beside punctuation or an ideograph (the
    tests check it against the tokenizer's own words). Regular expressions for ASCII, str methods on
    the characters a text holds beyond: the tokenizer's own normalizer took ten times as long."""
    if text.isascii():
        if _ASCII_DROPPED.search(text):
            text = _ASCII_DROPPED.sub("", text)
        words = " ".join(text.lower().split())
        return _ASCII_SPACE_AFTER.sub("", _ASCII_SPACE_BEFORE.sub("", words))
    dropped = {ord(character): None for character in set(text) if _kind(character) == "dropped"}
    text = unicodedata.normalize("NFD", text.translate(dropped) if dropped else text)
    marks = {ord(character): None for character in set(text) if _kind(character) == "mark"}
    # Σ lower-cased alone is σ, as the tokenizer lower-cases it; str.lower writes ς at a word's end.
    words = " ".join((text.translate(marks) if marks else text).replace("Σ", "σ").lower().split())
    return _close_up(words, [character for character in set(words) if _kind(character) == "apart"])


class _Collector:
    """Takes rows one at a time; keeps per row a digest, its label, lengths and where its cleaned
    line is (the spool, or a list when there is no spool)."""

    def __init__(self, params: DataParams, spool=None) -> None:
        self.params = params
        self.allowed = set(params.labels) if params.labels is not None else None
        self.spool = spool
        self.lines: list[str] = []  # without a spool
        self.offsets = array("q")
        self.label_ids = array("l")
        self.chars = array("q")
        self.words = array("q")
        self.label_names: list[str] = []
        self.label_index: dict[str, int] = {}
        self.first_seen: dict[str, str] = {}  # label -> the first row that has it (case check)
        self.index_of: dict[bytes, int] = {}  # digest of a text's model_key -> its kept row
        # Per kept row, 8 bytes of a digest of its text as written (normalised): whether a row whose
        # key repeats it is the same text, or one the model reads alike (case, accents, spacing).
        self.written = bytearray()
        self.differs = False  # the last row add() returned a kept row for: written differently
        self.conflicting: set[int] = set()
        self.repeats: Counter = Counter()  # kept row -> its later copies (only rows repeated)
        self.dropped: Counter = Counter()
        self.raw_rows = 0
        # Rows with an empty text under data.empty_text: error: all counted, the first few named
        # (check_empty), so one run names what to fix, not one row per run.
        self.empty_rows = 0
        self.empty_places: list[str] = []

    def add(self, raw_text: str, label: str, where, source: dict | None = None) -> int | None:
        """Take one row; returns the kept row whose text this row repeats with another label."""
        self.raw_rows += 1
        params = self.params
        text = normalise(raw_text)
        if not text:
            if params.empty_text == "error":
                self.empty_rows += 1
                if len(self.empty_places) < SHOWN_ROWS:
                    self.empty_places.append(where())
                return None
            self.dropped["empty_text"] += 1
            return None
        if self.allowed is not None and label not in self.allowed:
            bare = without_presentation_selectors(label)
            twin = next((one for one in self.allowed if without_presentation_selectors(one) == bare), None)
            composed = unicodedata.normalize("NFC", label)
            nfc_twin = next(
                (one for one in self.allowed if unicodedata.normalize("NFC", one) == composed), None
            )
            differs = ""
            if twin is not None:
                differs = (
                    f"; it differs from {twin!r} only by a presentation selector (U+FE0E/U+FE0F, which "
                    "choose text or emoji drawing and most terminals draw alike): write it one way in both"
                )
            elif nfc_twin is not None:
                # NFD (a letter, then its accent as a combining character) is how macOS tools often
                # write text; data.labels in NFC looked the same and was named twice (R13A-9).
                mark = next((c for c in label + nfc_twin if unicodedata.combining(c)), None)
                how = (
                    f"one holds {character_name(mark)} as a separate character after its letter, the "
                    "other the accented letter as one character"
                    if mark is not None
                    else "decomposed in one, composed in the other"
                )
                differs = (
                    f"; it is data.labels' {nfc_twin!r} written with other Unicode characters ({how}): "
                    "write it one way in both, composed (NFC, an accented letter as one character) as "
                    "most editors do"
                )
            raise DataError(
                f"{where()}: label {shown_label(label)} is not one of data.labels in params.yaml "
                f"({', '.join(params.labels or [])}){differs}; fix the row or add the label there"
            )
        # One input to the model is one text: rows the model reads alike (`Spam!` and `spam !`) are
        # duplicates, and under two labels, conflicting (the same rule as for equal texts).
        digest = hashlib.blake2b(model_key(text).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        written = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        if label not in self.label_index:
            self.label_index[label] = len(self.label_names)
            self.label_names.append(label)
            self.first_seen[label] = where()
        label_id = self.label_index[label]
        seen = self.index_of.get(digest)
        if seen is not None:
            self.dropped["duplicate"] += 1
            self.repeats[seen] += 1
            if self.label_ids[seen] != label_id:
                self.conflicting.add(seen)
                self.differs = self.written[8 * seen : 8 * seen + 8] != written
                return seen
            return None
        self.index_of[digest] = len(self.label_ids)
        self.written += written
        row = (
            {"text": text, "label": label}
            if source is None
            else {"text": text, "label": label, "source": source}
        )
        line = json.dumps(row, ensure_ascii=False) + "\n"
        if self.spool is not None:
            self.offsets.append(self.spool.tell())
            self.spool.write(line.encode("utf-8", "surrogatepass"))
        else:
            self.lines.append(line)
        self.label_ids.append(label_id)
        self.chars.append(len(text))
        self.words.append(len(text.split()))

    def check_empty(self) -> None:
        """Under data.empty_text: error, a DataError naming the first SHOWN_ROWS rows whose text is
        empty and how many more there are."""
        if not self.empty_rows:
            return
        first, *others = self.empty_places
        more = ""
        if others:
            prefix = first.rpartition(": row ")[0] + ": "
            shown = ", ".join(other.removeprefix(prefix) for other in others)
            rest = self.empty_rows - len(self.empty_places)
            more = f", and in {self.empty_rows - 1:,} more rows: {shown}" + (
                f" and {rest:,} more" if rest else ""
            )
        fix = "the row" if not others else f"those {self.empty_rows:,} rows"
        raise DataError(
            f"{first}: column {self.params.text_column!r} is empty{more}; fix {fix}, or set "
            "data.empty_text: drop in params.yaml to drop such rows"
        )

    def kept(self) -> list[int]:
        """Row indices kept: the same text under two labels keeps neither copy. Called once every
        row is in: rows with an empty text (data.empty_text: error) are refused here (check_empty)."""
        self.check_empty()
        self.dropped["conflicting_labels"] = len(self.conflicting)
        return [i for i in range(len(self.label_ids)) if i not in self.conflicting]

    def dropped_rows(self) -> dict[str, int]:
        """Rows the clean-up dropped, per reason (after kept()): `conflicting` rows (every copy of a
        text given more than one label), `repeated` copies of a kept text, `empty_text` rows."""
        conflict_rows = sum(1 + self.repeats[i] for i in self.conflicting)
        return {
            "conflicting": conflict_rows,
            "repeated": self.dropped["duplicate"] - (conflict_rows - len(self.conflicting)),
            "empty_text": self.dropped["empty_text"],
        }

    def dropped_note(self) -> str:
        """What the clean-up rules dropped, for a message that finds too few rows ('' if nothing):
        a dataset whose every text is given two labels was reported as holding a single class."""
        parts = []
        rows = self.dropped_rows()
        conflict_rows, repeated = rows["conflicting"], rows["repeated"]
        if conflict_rows:
            texts = len(self.conflicting)
            parts.append(
                f"{conflict_rows:,} rows whose text is given more than one label ({texts:,} "
                f"text{'s' if texts != 1 else ''}; every copy is dropped: give each text one label; texts "
                "that differ only in letter case, accents or spaces around punctuation are one to the model)"
            )
        if repeated:
            parts.append(f"{repeated:,} repeated rows (one copy of each text is kept)")
        if self.dropped["empty_text"]:
            parts.append(f"{self.dropped['empty_text']:,} rows with an empty text (data.empty_text: drop)")
        total = conflict_rows + repeated + self.dropped["empty_text"]
        return (
            f"; the clean-up dropped {total:,} of the {self.raw_rows:,} rows: " + ", ".join(parts)
            if parts
            else ""
        )

    def check_case(self) -> None:
        """Labels that differ only in case are one class written two ways, unless data.labels says
        they are two; labels that are the same text in Unicode's composed form (NFC: `café` typed
        with é or with e and a combining accent) are, always: they look the same in every report,
        and params.yaml refuses them in data.labels."""
        if self.params.labels is not None:
            return
        twins = composed_twins(self.label_names)
        if twins is not None:
            shown = " and ".join(f"{label!r} (first at {self.first_seen[label]})" for label in twins)
            raise DataError(
                f"labels {shown} are the same text written with different Unicode characters (an accented "
                "letter as one character or as a letter and a combining accent): write the label one way"
            )
        by_look: dict[str, list[str]] = {}
        for label in self.label_names:
            by_look.setdefault(_look_alike(label), []).append(label)
        for group in by_look.values():
            if len(group) > 1:
                shown = " and ".join(f"{label!r} (first at {self.first_seen[label]})" for label in group)
                if len({label.casefold() for label in group}) == 1:
                    raise DataError(
                        f"labels {shown} differ only in case: write them one way, or list each in "
                        "data.labels in params.yaml if they really are different classes"
                    )
                raise DataError(
                    f"labels {shown} look alike: the same text once case, Unicode's compatibility forms "
                    "(full-width letters, a no-break space, Ⅸ for IX: NFKC) and spaces are set aside; write "
                    "the label one way, or list each in data.labels in params.yaml if they really are "
                    "different classes"
                )


def _look_alike(label: str) -> str:
    """What a label looks like to a reader: NFKC, case folded, spaces collapsed (`Café` with a
    combining accent, `café`, `ｃａｆé` and `ca fé`-with-a-no-break-space read alike; `❤` and `❤️`, a
    symbol drawn as text or as an emoji, too)."""
    return " ".join(unicodedata.normalize("NFKC", without_presentation_selectors(label)).casefold().split())


def clean(examples: Iterable[Example], params: DataParams) -> Cleaned:
    """Normalise texts, check labels, drop empty texts (if allowed) and duplicates (in memory)."""
    collector = _Collector(params)
    for example in examples:
        collector.add(example.text, example.label, lambda e=example: e.source)
    kept = collector.kept()
    collector.check_case()
    result = Cleaned(examples=[], dropped=collector.dropped)
    for i in kept:
        row = json.loads(collector.lines[i])
        result.examples.append(Example(text=row["text"], label=row["label"], source=""))
    return result


class _Places:
    """Where each kept row came from (file, row, line), in arrays: for messages naming two rows."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.file_of = {path: number for number, path in enumerate(files)}
        self.file_ids, self.row_ids, self.line_ids = array("l"), array("q"), array("q")  # line -1: none

    def add(self, path: Path, index: int, line: int | None) -> None:
        self.file_ids.append(self.file_of[path])
        self.row_ids.append(index)
        self.line_ids.append(-1 if line is None else line)

    def where(self, row: int) -> str:
        line = self.line_ids[row]
        return _row_name(self.files[self.file_ids[row]], self.row_ids[row], None if line < 0 else line)


def _twin_message(where: str, there: str, label: str, first: str, differs: bool, fix: str) -> str:
    """A row whose text is a kept row's text (or one the model reads alike) with another label."""
    alike = (
        " once letter case, accents and spaces around punctuation are set aside (the model reads them "
        "as one text)"
        if differs
        else ""
    )
    return (
        f"{where}: its text is the text of {there}{alike} with another label ({label!r}, there "
        f"{first!r}); prepare would drop both rows: {fix}"
    )


def _collected(
    raw_dir: Path, params: DataParams, files: list[Path], refused: Callable[[Path, Path, bool], str | None]
) -> tuple[_Collector, _Places]:
    """Every row of `files` through prepare's clean-up, nothing written, with where each kept row came
    from. A row whose text is a kept row's (or one the model reads alike: `differs`) with another
    label is a DataError naming both rows when `refused(its file, the kept row's file, differs)`
    says what to do."""
    places = _Places(files)
    with open(os.devnull, "wb") as sink:
        collector = _Collector(params, sink)
        for text, label, path, index, line in iter_rows(raw_dir, params, files):
            before = len(collector.label_ids)
            other = collector.add(text, label, lambda p=path, i=index, n=line: _row_name(p, i, n))
            if len(collector.label_ids) > before:
                places.add(path, index, line)
            elif (
                other is not None
                and (fix := refused(path, files[places.file_ids[other]], collector.differs)) is not None
            ):
                first = collector.label_names[collector.label_ids[other]]
                there = places.where(other)
                raise DataError(
                    _twin_message(_row_name(path, index, line), there, label, first, collector.differs, fix)
                )
    return collector, places


def check_joined(
    existing: list[Path], new: list[Path], params: DataParams, added: Counter | None = None
) -> int:
    """Check the dataset the `new` files make with the `existing` ones as prepare will read it (rows,
    labels, case twins, classes), and that no new row gives an existing row's text another label
    (prepare would drop both copies), nor another new row's text written differently (letter case,
    accents, spacing: model_key); DataError naming both rows. Returns the rows the new files
    add after clean-up; `added`, if given, gets them per new file (0: a file that only repeats rows
    the others hold). Memory: a digest and a place (file, row, line) per row, as prepare's own."""
    files = [*existing, *new]
    fresh = set(new) - set(existing)

    def refused(path: Path, other: Path, differs: bool) -> str | None:
        if (path in fresh) != (other in fresh) or (path in fresh and differs):
            return "correct the label in one of them, or remove the row from the new file"
        return None

    collector, places = _collected(Path(params.raw_dir), params, files, refused)
    kept = collector.kept()
    collector.check_case()
    label_set(
        Counter(collector.label_names[collector.label_ids[i]] for i in kept), params, collector.dropped_note()
    )
    new_rows = Counter(files[places.file_ids[i]] for i in kept if places.file_ids[i] >= len(existing))
    if added is not None:
        added.update({path: new_rows[path] for path in new})
    return new_rows.total()


def classes_kept(raw_dir: Path, params: DataParams) -> tuple[Counter, str]:
    """Rows per class that prepare keeps of the data in `raw_dir` (its clean-up: empty texts, repeated
    rows, texts given two labels), and the note on what it dropped (_Collector.dropped_note), for a
    command that must accept only what prepare will (use-data). Two rows whose texts differ only in
    letter case, accents or spaces around punctuation (model_key: the model reads them as one) under
    two labels are refused naming both: prepare would drop both, and the file shows two texts.
    Memory as prepare's; nothing written."""
    collector, _ = _collected(
        raw_dir,
        params,
        data_files(raw_dir),
        lambda _path, _other, differs: "give both rows one label, or remove one of them" if differs else None,
    )
    kept = collector.kept()
    return Counter(collector.label_names[collector.label_ids[i]] for i in kept), collector.dropped_note()


def label_set(present: Counter, params: DataParams, note: str = "") -> list[str]:
    """The classes, in order; `note`: what the clean-up dropped (said when too few classes remain)."""
    if len(present) < 2:
        held = f"a single class ({next(iter(present))!r})" if present else "no class (no rows are left)"
        raise DataError(
            f"{params.raw_dir}: the data holds {held} in column "
            f"{params.label_column!r}{note}; a classifier needs at least 2: add rows of the other classes to "
            "the files in data.raw_dir, or set data.label_column in params.yaml to the column that "
            "holds the labels"
        )
    if params.labels is not None:
        missing = [label for label in params.labels if label not in present]
        if missing:
            raise DataError(
                f"labels {missing} from data.labels in params.yaml have no rows in the data{note}"
            )
        return list(params.labels)
    return sorted(present)


def shown_label(label: str, limit: int = 60) -> str:
    """A label in a message: its repr, cut at `limit` characters with its length (a 5,001-digit label
    was echoed whole)."""
    return repr(label) if len(label) <= limit else f"{label[:limit]!r}... ({len(label):,} characters)"


def shown_names(names: list[str], limit: int = 20) -> str:
    """Column or key names in a message: the first `limit`, each cut at 60 characters, and how many
    more (a header of 200,000 columns, or of one 3,000-character name, was echoed whole)."""
    shown = [name if len(name) <= 60 else name[:60] + "..." for name in names[:limit]]
    return f"{shown}{f' and {len(names) - limit:,} more' if len(names) > limit else ''}"


def check_class_sizes(counts: Mapping[str, int], params: DataParams, note: str = "") -> None:
    """Every class has the rows a stratified split with data.split's ratios needs; `note`: what the
    clean-up dropped (_Collector.dropped_note)."""
    ratios = params.split
    smallest = min(ratios.validation, ratios.test, ratios.train)
    needed = max(3, math.ceil(1 / smallest - 1e-9))
    for label in sorted(counts):
        if counts[label] < needed:
            raise DataError(
                f"class {shown_label(label)} has {counts[label]:,} row{'s' if counts[label] != 1 else ''} "
                f"after cleaning{note}; a stratified split with "
                f"ratios {ratios.train}/{ratios.validation}/{ratios.test} needs at least {needed}"
            )


def split(
    indices: list[int], labels_of: list[str], params: DataParams, note: str = ""
) -> dict[str, list[int]]:
    """Stratified split of row indices: every class is shuffled with the seed and cut by the ratios."""
    ratios = params.split
    by_label: dict[str, list[int]] = {}
    for index in indices:
        by_label.setdefault(labels_of[index], []).append(index)
    check_class_sizes({label: len(members) for label, members in by_label.items()}, params, note)
    parts: dict[str, list[int]] = {name: [] for name in SPLITS}
    rng = random.Random(params.seed)
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        n_test = max(1, round(len(members) * ratios.test))
        n_validation = max(1, round(len(members) * ratios.validation))
        parts["test"] += members[:n_test]
        parts["validation"] += members[n_test : n_test + n_validation]
        parts["train"] += members[n_test + n_validation :]
    for name in SPLITS:
        rng.shuffle(parts[name])
    return parts


def _percentiles(values: list[int]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

    return {"p5": at(0.05), "p50": at(0.5), "p95": at(0.95), "max": float(ordered[-1])}


def summarise(collector: _Collector, parts: dict[str, list[int]], labels: list[str]) -> dict:
    names = collector.label_names
    ids = collector.label_ids
    every = [i for members in parts.values() for i in members]
    return {
        "rows": {"raw": collector.raw_rows, **{name: len(parts[name]) for name in SPLITS}},
        "dropped": {
            key: collector.dropped.get(key, 0) for key in ("empty_text", "duplicate", "conflicting_labels")
        },
        "classes": {name: _class_counts(parts[name], ids, names, labels) for name in SPLITS},
        "text_chars": _percentiles([collector.chars[i] for i in every]),
        "text_words": _percentiles([collector.words[i] for i in every]),
    }


# Training speed on a CPU, samples a second: README's "What training costs on a CPU" measured 3.7 for
# the sample's short messages and 1.8 to 2.2 for texts longer than 128 tokens on a shared 2-core
# machine (docs/performance.md). A range, for an estimate a user can plan with.
CPU_SAMPLES_PER_SECOND = (2, 4)
# Longer than this on a CPU (the slow end of the estimate): the facts say what trains faster.
LONG_TRAINING_SECONDS = 30 * 60
# What the facts' lines may hold: 100 columns less the `[textclf] ` the log puts before each.
FACT_COLUMNS = 90


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _share(share: float, rows: int) -> str:
    """A share as a percentage that never reads 0 % for some rows (or 100 % for not all)."""
    shown = f"{share:.1%}"
    if rows and shown == "0.0%":
        return "under 0.1%"
    return "over 99.9%" if shown == "100.0%" and share < 1 else shown


def facts(
    summary: dict,
    dropped: Mapping[str, int],
    epochs: float | None = None,
    limit: int | None = None,
    on_cpu: bool = True,
) -> list[str]:
    """What shapes training, said before it starts, each within FACT_COLUMNS: the rows the clean-up
    dropped and why (`dropped`: _Collector.dropped_rows), the share of texts longer than
    model.max_length tokens (with the model's own limit, `limit`, when known), and the training
    size, rows x `epochs` (train.epochs) samples, with the time that takes on a CPU (`on_cpu`:
    train.backend local)."""
    raw = summary["rows"]["raw"]
    total = sum(dropped.values())
    lines = []
    if total:
        reasons = [
            f"{count:,} {one if count == 1 else many}"
            for count, one, many in (
                (dropped["empty_text"], "empty text", "empty texts"),
                (dropped["repeated"], "duplicate", "duplicates"),
                (dropped["conflicting"], "whose text has two labels", "whose text has two labels"),
            )
            if count
        ]
        head = f"dropped {total:,} of {raw:,} rows:"
        line = f"{head} {', '.join(reasons)}"
        lines += [line] if len(line) <= FACT_COLUMNS else [head, *(f"  {reason}" for reason in reasons)]
    else:
        lines.append(f"kept all {raw:,} rows: no empty, duplicate or conflicting texts")
    truncation = summary.get("truncation")
    if truncation:
        tokens, longer, counted = (
            truncation["max_length"],
            truncation["rows_longer"],
            truncation["counted_rows"],
        )
        sampled = " sampled" if truncation["sampled"] else ""
        if longer:
            lines.append(
                f"{_share(truncation['share'], longer)} of texts ({longer:,} of {counted:,}{sampled}) are "
                f"over {tokens} tokens (model.max_length)"
            )
            up_to = f" (up to {limit})" if limit else ""
            lines.append(
                f"  they are cut: the model sees the first {tokens} tokens; raise model.max_length{up_to}"
            )
        else:
            lines.append(
                f"no text{sampled} is longer than {tokens} tokens (model.max_length): the model sees "
                "each whole"
            )
    rows = summary["rows"]["train"]
    if epochs:
        samples = max(round(rows * epochs), 1)  # the trainer runs at least one step
        slow, fast = CPU_SAMPLES_PER_SECOND
        lines.append(
            f"training: {rows:,} rows x {epochs:g} epochs (train.epochs) = {samples:,} "
            f"sample{'' if samples == 1 else 's'}"
        )
        if on_cpu:
            lines.append(
                f"  about {_duration(samples / fast)} to {_duration(samples / slow)} on a shared 2-core CPU "
                f"({slow} to {fast} samples/s, README)"
            )
            if samples / slow > LONG_TRAINING_SECONDS:
                lines.append("  faster: train.backend: sagemaker, or a shorter model.max_length (README)")
    else:
        lines.append(f"training: {rows:,} rows x train.epochs samples (README, What training costs on a CPU)")
    return lines


def _log(message: str) -> None:
    print(f"[textclf] {message}", file=sys.stderr, flush=True)


def _source(path: Path, index: int, line: int | None) -> dict:
    """Where a prepared row came from: the raw file and the row number _row_name gives."""
    return {"file": path.as_posix(), "row": index + 1, **({"line": line} if line is not None else {})}


def base_tokenizer(model: ModelParams):
    """model.name's tokenizer, to count tokens; a DataError when it cannot be loaded."""
    from textclf.pipeline.modeling import ModelNotFoundError, token_counter

    try:
        return token_counter(model.name)
    except (ModelNotFoundError, OSError, ValueError) as error:
        raise DataError(
            f"prepare counts the texts longer than model.max_length tokens with model.name's tokenizer, "
            f"which cannot be loaded: {error}"
        ) from None


def token_lengths(
    collector: _Collector, spool, kept: list[int], model: ModelParams, seed: int, tokenizer=None
) -> dict:
    """How many kept texts are longer than model.max_length tokens (special tokens included, as
    the model is fed): counted on every text, or on a seeded sample of TOKEN_SAMPLE_ROWS."""
    tokenizer = base_tokenizer(model) if tokenizer is None else tokenizer
    counted = (
        kept
        if len(kept) <= TOKEN_SAMPLE_ROWS
        else sorted(random.Random(seed).sample(kept, TOKEN_SAMPLE_ROWS))
    )
    lengths: list[int] = []
    for start in range(0, len(counted), TOKEN_BATCH_ROWS):
        texts = []
        for index in counted[start : start + TOKEN_BATCH_ROWS]:
            spool.seek(collector.offsets[index])
            texts.append(json.loads(spool.readline())["text"][: model.max_length * CHARS_PER_TOKEN])
        lengths += [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]
    longer = sum(length > model.max_length for length in lengths)
    return {
        "max_length": model.max_length,
        "share": round(longer / len(lengths), 4) if lengths else 0.0,
        "rows_longer": longer,
        "counted_rows": len(lengths),
        "sampled": len(counted) < len(kept),
        **({"token_percentiles": _percentiles(lengths)} if lengths else {}),
    }


def _class_counts(members: list[int], ids: array, names: list[str], labels: list[str]) -> dict[str, int]:
    counts = Counter(names[ids[i]] for i in members)
    return {label: counts.get(label, 0) for label in labels}


def checked_output_dir(params: DataParams, summary_file: Path = SUMMARY_FILE) -> Path:
    """data.prepared_dir, once replacing it can destroy nothing but prepare's own earlier outputs.

    params.yaml's check saw the text of the path; this one sees where it leads on disk (symbolic
    links) and what is there now. Paths are relative to the repository root, the working directory.
    """
    prepared_dir = Path(params.prepared_dir)
    where = f"{params.prepared_dir} (data.prepared_dir in params.yaml)"
    try:
        return _checked_output_dir(prepared_dir, where, params, summary_file)
    except (OSError, ValueError) as error:  # a NUL byte, a name too long for the file system
        if isinstance(error, DataError):
            raise
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise DataError(
            f"{where}: not a usable folder name ({reason}); name a folder such as data/prepared"
        ) from None


def _checked_output_dir(prepared_dir: Path, where: str, params: DataParams, summary_file: Path) -> Path:
    if "\0" in params.prepared_dir:
        raise DataError(f"{where!r}: holds a NUL byte; name a folder such as data/prepared")
    normal = os.path.normpath(params.prepared_dir)
    if normal != params.prepared_dir.rstrip("/"):
        # `data/prepared/../prepared` names the folder it would delete before writing its own.
        raise DataError(f"{where}: write it without '.', '..' or doubled slashes, e.g. {normal}")
    for parent in reversed(prepared_dir.parents):
        if parent.exists() and not parent.is_dir():
            raise DataError(f"{where}: {parent} is a file, so no folder can be made inside it")
    root = Path.cwd().resolve()
    target = prepared_dir.resolve()
    if prepared_dir.is_symlink():
        raise DataError(f"{where}: is a symbolic link; prepare replaces this folder, so name a plain folder")
    if target == root or not _inside(target, root):
        raise DataError(f"{where}: leads to {target}, not to a folder inside the repository {root}")
    for name in PROTECTED_DIRS:
        if _inside(target, (root / name).resolve()):
            raise DataError(f"{where}: leads into {name}/, which prepare must never replace")
    raw_dir = Path(params.raw_dir).resolve()
    if _inside(target, raw_dir) or _inside(raw_dir, target):
        raise DataError(
            f"{where}: leads to {target}, which overlaps the raw data in {raw_dir} (data.raw_dir)"
        )
    if _inside(summary_file.resolve(), target):
        raise DataError(f"{where}: must not hold {summary_file}, the stage's data summary")
    if prepared_dir.exists() and not prepared_dir.is_dir():
        raise DataError(f"{where}: is a file; name a folder for the prepared splits")
    if prepared_dir.is_dir():
        foreign = sorted(
            p.name for p in prepared_dir.iterdir() if p.name not in PREPARED_FILES or not p.is_file()
        )
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise DataError(
                f"{where}: holds files prepare did not write ({shown}) and would replace them; name a "
                "new or empty folder, or move those files away"
            )
    return prepared_dir


# The staging folders `textclf use-data` makes beside data.raw_dir (cli.cmd_use_data: tempfile.mkdtemp),
# and the folder in one that holds the files a run replaces until it has succeeded (own_data.apply).
STAGING_PREFIX = ".use-data."
REPLACED = ".replaced"


def shown_paths(paths: list[Path], limit: int = SHOWN_ROWS) -> str:
    text = ", ".join(str(path) for path in paths[:limit])
    return text + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def left_behind(raw_dir: Path, staging: Path | None = None) -> list[tuple[Path, list[Path]]]:
    """The files an earlier use-data took out of `raw_dir` and never put back, per staging folder
    (other than `staging`) that holds them: that run was killed (SIGKILL, the out-of-memory killer)
    before it could put them back or finish, and they are the user's own data, in no other place."""
    try:
        folders = sorted(raw_dir.parent.glob(f"{STAGING_PREFIX}*/{REPLACED}"))
    except OSError:
        return []
    found = []
    for backup in folders:
        if staging is not None and backup.parent.resolve() == staging.resolve():
            continue
        kept = sorted(p for p in backup.rglob("*") if p.is_file() or p.is_symlink())
        if kept:
            found.append((backup, kept))
    return found


def left_behind_message(backup: Path, kept: list[Path], raw_dir: Path, instead: str) -> str:
    """What `backup` holds and how to put it back; `instead`: what the command does about it."""
    return (
        f"{backup}: holds {shown_paths(kept)}, files an earlier use-data took out of {raw_dir} and did not "
        f"put back (it was stopped); {instead}. Move them back into {raw_dir} under the same names (and "
        f"`git checkout data.dvc params.yaml` if it changed them), or delete {backup.parent} if you do "
        "not need them"
    )


# The spool folders prepare makes (tempfile.mkdtemp's names: prefix, 8 characters, suffix).
SPOOL_PREFIX, SPOOL_SUFFIX = ".prepare.", ".tmp"
SPOOL_NAME = re.compile(r"\.prepare\.[a-z0-9_]{8}\.tmp")


def remove_stale_spools(folder: Path) -> None:
    """Remove the spool folders an earlier prepare left in `folder` (one killed outright, SIGKILL or
    a machine that stopped): each is the size of the data, hidden by `.dvcignore`, and was left for
    ever (four stopped runs of a 28 MB CSV: 157 MB)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if SPOOL_NAME.fullmatch(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def run(
    params: DataParams,
    summary_file: Path = SUMMARY_FILE,
    model: ModelParams | None = None,
    epochs: float | None = None,
    log: Callable[[str], None] = _log,
    on_cpu: bool = True,
) -> dict:
    """Run the stage; on any error the outputs are removed, never left half written.

    Only prepare's own outputs are ever removed or replaced: checked before anything is read.
    With `model` the summary counts the texts longer than model.max_length tokens.
    What can be checked without reading the rows (the output folder, the raw files, the base
    model's tokenizer) is checked first: such an error leaves the earlier outputs as they were.
    SIGTERM (a cancelled job, `timeout`, `dvc repro` stopped) stops it as Ctrl-C does, so its spool
    and staging folders are removed on the way out (KeyboardInterrupt; the earlier outputs stay
    whole); spool folders a killed run left are removed at start.
    `log` gets, before training, what shapes it (facts: the rows dropped and why, the texts longer
    than model.max_length tokens, rows x `epochs` samples and, `on_cpu`, their time), and a warning
    naming the files a killed use-data left outside data.raw_dir: only messages, the outputs are the
    same without them.
    """
    with sigterm_as_interrupt():
        return _run(params, summary_file, model, log, epochs, on_cpu)


def _run(
    params: DataParams,
    summary_file: Path,
    model: ModelParams | None,
    log: Callable[[str], None],
    epochs: float | None = None,
    on_cpu: bool = True,
) -> dict:
    prepared_dir = checked_output_dir(params, summary_file)
    files = data_files(Path(params.raw_dir))
    for backup, kept in left_behind(Path(params.raw_dir)):
        log(
            "warning: "
            + left_behind_message(
                backup, kept, Path(params.raw_dir), f"prepare reads only what {params.raw_dir} holds"
            )
        )
    tokenizer = base_tokenizer(model) if model is not None else None
    try:
        prepared_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_spools(prepared_dir.parent)
        # The spool sits next to the outputs (same disk; `.dvcignore` hides `.*.tmp*`), never in
        # memory: a million e-mails are a gigabyte or more.
        with tempfile.TemporaryDirectory(
            prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=prepared_dir.parent
        ) as spool_dir:
            spool_path = Path(spool_dir) / "rows.jsonl"
            with spool_path.open("wb") as spool:
                collector = _Collector(params, spool)
                for text, label, path, index, line in iter_rows(Path(params.raw_dir), params, files):
                    collector.add(
                        text,
                        label,
                        lambda p=path, i=index, n=line: _row_name(p, i, n),
                        _source(path, index, line),
                    )
            kept = collector.kept()
            collector.check_case()
            present = Counter(collector.label_names[collector.label_ids[i]] for i in kept)
            note = collector.dropped_note()
            labels = label_set(present, params, note)
            labels_of = [collector.label_names[label_id] for label_id in collector.label_ids]
            parts = split(kept, labels_of, params, note)
            del labels_of
            summary = summarise(collector, parts, labels)
            if model is not None:
                with spool_path.open("rb") as spool:
                    every = sorted(i for members in parts.values() for i in members)
                    summary["truncation"] = token_lengths(
                        collector, spool, every, model, params.seed, tokenizer
                    )
            with atomic.atomic_dir(prepared_dir) as staging, spool_path.open("rb") as spool:
                for name in SPLITS:
                    with (staging / f"{name}.jsonl").open("wb") as out:
                        for index in parts[name]:
                            spool.seek(collector.offsets[index])
                            out.write(spool.readline())
                atomic.write_json(staging / "labels.json", {"labels": labels})
        atomic.write_json(summary_file, summary)
    except DataError:
        atomic.remove(prepared_dir, summary_file)
        raise
    limit = None
    if model is not None:
        from textclf.pipeline.modeling import input_limit

        limit = input_limit(model.name)
    for line in facts(summary, collector.dropped_rows(), epochs, limit, on_cpu):
        log(line)
    return summary
