"""`textclf use-data FILE`: a team's own CSV, JSON-lines or Parquet file becomes the pipeline's data.

In one step, all or nothing: the file is read with the columns given (every row checked as prepare
checks it) and its classes collected; it is copied into `data.raw_dir` in place of the bundled
sample or of files this command put there before; `params.yaml` gets the columns and the label
list (its comments and every other key as they were); `data.dvc` records what the command wrote
(`meta`, so a later run knows those files are its own) and `dvc add` tracks the folder. A file it
did not write (your own data, edited by hand) is never replaced without `--force`. Any failure puts
params.yaml, data.dvc and the data folder back as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from textclf import atomic, interrupt
from textclf.config import PARAMS_FILE, DataParams, ParamsDumper, ParamsError, load_params, task_name_problem
from textclf.interrupt import taken
from textclf.pipeline import sample_data
from textclf.pipeline.prepare import (
    READERS,
    REPLACED,
    SHOWN_ROWS,
    DataError,
    _look_alike,
    check_class_sizes,
    classes_kept,
    iter_rows,
    left_behind,
    left_behind_message,
    row_place,
    shown_label,
)
from textclf.pipeline.prepare import shown_paths as _shown
from textclf.text import character_name, hidden_label_character, normalise


@dataclass(frozen=True)
class Names:
    """What the user typed for each setting, for the messages: the command's options, or make's
    variables when `make use-data` runs it."""

    text: str = "--text-column"
    label: str = "--label-column"
    labels: str = "--labels"
    force: str = "--force"
    task: str = "--task"
    empty_text: str = "--empty-text"


OPTIONS = Names()
MAKE_VARIABLES = Names(
    text="TEXT=", label="LABEL=", labels="LABELS=", force="FORCE=1", task="TASK=", empty_text="EMPTY_TEXT="
)
# data.empty_text's values (config.DataParams): what prepare does with a row whose text is empty.
EMPTY_TEXT_RULES = ("error", "drop")


def _with_value(setting: str, value: str) -> str:
    """`EMPTY_TEXT=drop`, `--empty-text drop`: a setting as the user would type it with a value."""
    return f"{setting}{'' if setting.endswith('=') else ' '}{value}"


# data.dvc's `meta` key this command keeps its record under: {file name: md5 of what it wrote}.
META_KEY = "textclf_use_data"
# More classes than this in the label column: more likely the wrong column than a task.
MAX_CLASSES = 100


@dataclass
class Placement:
    """What `use-data` will do, worked out before anything changes."""

    source: Path
    target: Path
    labels: list[str]
    counts: Counter
    replaced: list[Path] = field(default_factory=list)
    unchanged: bool = False
    # Of `replaced`, those whose content no DVC cache holds: --force deletes them for good.
    uncached: list[Path] = field(default_factory=list)


def md5(path: Path) -> str:
    with path.open("rb") as handle:  # as DVC hashes a file (not for security)
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


# A .dvc file is a few lines; more is not one (and a pipe or device is not read at all).
DVC_FILE_LIMIT = 1 << 20


def _dvc_record(dvc_file: Path) -> object:
    """The YAML in a .dvc file, read bounded (a FIFO in its place blocked use-data for ever); None
    when it cannot be read as one."""
    try:
        return yaml.safe_load(atomic.read_regular(dvc_file, DVC_FILE_LIMIT).decode("utf-8"))
    except (OSError, yaml.YAMLError, ValueError):
        return None


def in_dvc_cache(path: Path, root: Path) -> bool:
    """Whether the repository's DVC cache (`root`/.dvc/cache, DVC 3's files/md5/ layout or DVC 2's)
    holds `path`'s content, so that `dvc checkout` can bring it back once replaced. A link, or a
    cache configured elsewhere (cache.dir), counts as not held: the refusal then says the safer."""
    if not _regular(path):
        return False
    digest = md5(path)
    cache = root / ".dvc" / "cache"
    return any((base / digest[:2] / digest[2:]).is_file() for base in (cache / "files" / "md5", cache))


def recorded(dvc_file: Path) -> dict[str, str]:
    """The files a previous `use-data` wrote, from data.dvc's meta: {name: md5}."""
    record = _dvc_record(dvc_file)
    meta = record.get("meta") if isinstance(record, dict) else None
    mine = meta.get(META_KEY) if isinstance(meta, dict) else None
    if not isinstance(mine, dict):
        return {}
    return {str(name): str(digest) for name, digest in mine.items()}


def _is_sample(path: Path) -> bool:
    """The bundled sample, as written: compared by size first (a multi-gigabyte messages.csv of the
    user's was read whole to compare it with the 190 KB sample), only a regular file read."""
    if path.name != "messages.csv" or not _regular(path):
        return False
    sample = sample_data.sample_bytes()
    return path.stat().st_size == len(sample) and path.read_bytes() == sample


def _regular(path: Path) -> bool:
    """A regular file itself (not a link): only such a file is hashed or read here."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _existing(raw_dir: Path) -> list[Path]:
    if not raw_dir.is_dir():
        return []
    return sorted(p for p in raw_dir.rglob("*") if p.is_symlink() or not p.is_dir())


def _tracked_outs(record: object, dvc_file: Path) -> list[Path] | None:
    """The folders a .dvc file's `outs` track, resolved from its own folder; None when it is not a
    .dvc file's mapping."""
    if not isinstance(record, dict):
        return None
    outs = record.get("outs", [])
    if not isinstance(outs, list) or not all(isinstance(out, dict) for out in outs):
        return None
    return [(dvc_file.parent / str(out.get("path", ""))).resolve() for out in outs]


def tracked_folders(dvc_file: Path) -> list[Path] | None:
    """The folders `dvc_file`'s `outs` track (resolved), or None when it cannot be read as a .dvc file."""
    return _tracked_outs(_dvc_record(dvc_file), dvc_file)


def _tracker_of(raw_dir: Path, besides: Path) -> Path | None:
    """Another .dvc file (than `besides`) that tracks `raw_dir`: looked for where DVC and this project
    put one, in the repository root (data.dvc) and beside the folder (data/raw.dvc)."""
    target = raw_dir.resolve()
    folders = dict.fromkeys([Path("."), raw_dir.parent])
    for folder in folders:
        try:
            candidates = sorted(folder.glob("*.dvc"))
        except OSError:
            continue
        for candidate in candidates:
            if candidate.resolve() == besides or not candidate.is_file():
                continue
            outs = _tracked_outs(_dvc_record(candidate), candidate)
            if outs and target in outs:
                return candidate
    return None


def name_problem(value: str) -> str | None:
    """Why a path a command would make is one a person cannot read or a program would take for an
    option, or None: an invisible or bidirectional character (U+202E shows the name in another
    order than it is; the label and S3 key checks refuse the same), or a part starting with '-'
    (`--out -` made a folder named '-')."""
    bad = hidden_label_character(value)
    if bad is not None:
        return f"holds {character_name(bad)}, which a name does not show as it is; write it without"
    if any(part.startswith("-") for part in value.split("/")):
        return "has a part starting with '-', which commands read as an option; name another"
    return None


def check_dvc_file(value: str, raw_dir: Path, force: bool = False, names: Names = OPTIONS) -> Path:
    """`--dvc-file`: a name ending in .dvc, inside the repository (the working folder), and either
    absent or the .dvc file that tracks `raw_dir` (or that an earlier use-data wrote) unless
    `force`. Any other file (README.md, a file outside the repository) was overwritten with the
    record, without a word."""
    option = "--dvc-file"
    example = f"{option} data.dvc (the default)"
    root = Path.cwd().resolve()
    path = Path(value)
    if not value.strip() or any(unicodedata.category(c) == "Cc" for c in value) or value != value.strip():
        raise DataError(f"{option} {value!r}: names no .dvc file; pass {example}, or leave {option} out")
    if (problem := name_problem(value)) is not None:
        raise DataError(f"{option} {value!r}: {problem}, e.g. {example}")
    if path.suffix != ".dvc" or not path.stem:
        raise DataError(
            f"{option} {value!r}: is not a .dvc file (its name must end in .dvc, as DVC's are); "
            f"pass the .dvc file that tracks {raw_dir}, e.g. {example}"
        )
    for index, part in enumerate(path.parts):
        before = Path(*path.parts[:index]) if index else Path(".")
        if part == ".." and not before.is_dir():
            # Writing the file would make `before` first, an empty folder nobody asked for.
            raise DataError(
                f"{option} {value!r}: {before} is not a folder, so {before / '..'} leads nowhere; nothing "
                f"was changed. Name the file without '..', e.g. {example}"
            )
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise DataError(
            f"{option} {value!r}: leads to {resolved}, outside the repository ({root}); pass a .dvc file "
            f"inside it, relative to its root, e.g. {example}"
        )
    if resolved.relative_to(root).parts[0] in (".git", ".dvc"):
        raise DataError(
            f"{option} {value!r}: is inside the repository's {resolved.relative_to(root).parts[0]} folder, "
            f"which git and DVC keep for themselves; pass a .dvc file beside your data, e.g. {example}"
        )
    if resolved.is_relative_to(raw_dir.resolve()):
        # It would land in the data: DVC tracks it with the folder, and prepare refuses it.
        raise DataError(
            f"{option} {value!r}: is inside {raw_dir} (data.raw_dir), the folder it tracks; pass a .dvc "
            f"file beside it, e.g. {example}"
        )
    if path.is_dir():
        raise DataError(f"{option} {value!r}: is a folder; pass a .dvc file, e.g. {example}")
    if path.exists() and not path.is_file():
        # A pipe blocked the command for ever (read to keep it for a roll-back); --force too.
        raise DataError(
            f"{option} {value!r}: is not a regular file (a pipe, device or socket); nothing was changed. "
            f"Remove it (git checkout {value} restores a tracked one), or pass another, e.g. {example}"
        )
    if not (path.exists() or path.is_symlink()) or force:
        tracker = _tracker_of(raw_dir, besides=resolved)
        if tracker is not None:
            # `dvc add` updates the .dvc file that tracks the folder already: this one would hold only the
            # record, not a DVC file, and the changed data.dvc would be left out of the commit it names.
            raise DataError(
                f"{option} {value!r}: {tracker} tracks {raw_dir} (data.raw_dir) already, and DVC keeps "
                f"one .dvc file a folder; nothing was changed. Pass {option} {tracker}"
            )
        return path
    outs = _tracked_outs(_dvc_record(path), path)
    ours = (bool(outs) and set(outs) == {raw_dir.resolve()}) or (outs == [] and bool(recorded(path)))
    if not ours:
        raise DataError(
            f"{option} {value!r}: exists and is not the .dvc file that tracks {raw_dir} (data.raw_dir); "
            f"nothing was changed. Pass the .dvc file that tracks {raw_dir}, e.g. {example}, or a new "
            f"file's name, or {names.force} to write over it"
        )
    return path


def named(path: Path) -> str:
    """A path as a message shows it: as written, or quoted with escapes when it holds a line break
    or another character a terminal would not show (`'a\\nb.csv'`, not a line `b.csv`)."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def check_params_inside(params_file: Path) -> None:
    """`--params` is the repository's params.yaml (the working folder's), the one dvc.yaml's stages
    read: one elsewhere (another clone's), or another file inside (configs/p.yaml), was rewritten
    while this repository's data.dvc and data/raw changed, and its params.yaml did not (R13A-16)."""
    root = Path.cwd().resolve()
    resolved = params_file.resolve()
    if not resolved.is_relative_to(root):
        raise DataError(
            f"--params {named(params_file)}: leads to {named(resolved)}, outside the repository "
            f"({named(root)}); the pipeline reads the repository's params.yaml: pass --params params.yaml, "
            "or leave it out; nothing was changed"
        )
    # Inside it, too, only the file dvc.yaml's stages read (README, "Your own data": use-data sets the
    # data keys in params.yaml): configs/p.yaml was edited while data.dvc and data/raw changed, and
    # the next `dvc repro` read the old settings from params.yaml against the new data (R13A-16).
    if resolved != (root / PARAMS_FILE).resolve():
        raise DataError(
            f"--params {named(params_file)}: not the repository's {PARAMS_FILE}, the file the pipeline's "
            f"stages read (dvc.yaml), where use-data sets the data settings: pass --params {PARAMS_FILE}, "
            f"or leave it out (copy what you need from {named(params_file)} into {PARAMS_FILE} by hand); "
            "nothing was changed"
        )


def check_written_in_place(*files: Path) -> None:
    """Refuse a params file or .dvc file that is a symbolic link: use-data writes each anew and renames
    it over its path, which replaced the link with a file and left the file it led to as it was,
    without a word (a team's params.yaml linked to configs/params.yaml: R13A-8)."""
    for path in files:
        if path.is_symlink():
            try:
                target = named(Path(os.readlink(path)))
            except OSError:  # gone between the two calls
                target = "another file"
            raise DataError(
                f"{named(path)} is a symbolic link (to {target}); use-data writes {named(path)} anew, which "
                "would replace the link with a file and leave the file it leads to unchanged; nothing was "
                f"changed. Replace the link by the file it leads to (cp --remove-destination {target} "
                f"{named(path)}), then run use-data again"
            )


def check_raw_dir(raw_dir: Path, source: Path) -> None:
    """Refuse what stands where use-data puts the file: a file in place of data.raw_dir or of a
    folder on its way, or a folder under the file's name in it. They came out of the generic OSError
    fallback ("data/raw: File exists", or a staging folder's name: R13A-12)."""
    for folder in [*reversed(raw_dir.parents[:-1]), raw_dir]:
        if folder.is_symlink() and not folder.exists():
            try:
                target = named(Path(os.readlink(folder)))
            except OSError:
                target = "a path that is gone"
            raise DataError(
                f"{named(folder)} is a symbolic link that leads nowhere (to {target}): use-data puts your "
                f"file in {named(raw_dir)} (data.raw_dir); make the link lead to a folder or remove it, then "
                "run use-data again; nothing was changed"
            )
        if folder.exists() and not folder.is_dir():
            where = "data.raw_dir" if folder == raw_dir else f"on the way to data.raw_dir {named(raw_dir)}"
            raise DataError(
                f"{named(folder)} ({where}) is a file, not a folder: use-data puts your file in "
                f"{named(raw_dir)}; move that file away (or set data.raw_dir in params.yaml to another "
                "folder), then run use-data again; nothing was changed"
            )
    target = raw_dir / source.name
    if target.is_dir():
        raise DataError(
            f"{named(target)} is a folder: use-data writes your file there under its name; move or rename "
            "that folder, then run use-data again; nothing was changed"
        )


def check_source(source: Path, typed: str | None = None) -> None:
    """The user's data file: a regular file prepare reads. `typed`: the argument as the user gave it,
    for the messages (`./` and `''` are both Path('.'))."""
    shown = named(source) if typed is None else (typed if typed and typed.isprintable() else repr(typed))
    try:
        found, folder = source.is_file(), source.is_dir()
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        found = folder = False
    if folder:
        # Checked before anything is derived from its name: `use-data .` (or .., /, '') was told to
        # move data/raw (or data/) out of the way, a folder under the file's name (R14A-7).
        raise DataError(f"{shown}: is a folder, not a data file; give the path of your CSV, JSONL or Parquet")
    if not found:
        raise DataError(f"{shown}: not found (or not a file); give the path of your CSV, JSONL or Parquet")
    if not source.name.isprintable():
        # It would become data/raw/<name>, a name DVC, git, the report and prepare's messages show.
        raise DataError(
            f"{shown}: the file name holds a line break or another control character; rename "
            "the file (letters, digits, spaces, - _ .) and pass the new name"
        )
    if source.suffix.lower() not in READERS:
        raise DataError(
            f"{shown}: prepare reads .csv, .jsonl (JSON records one per line) and .parquet files; "
            "convert it to one of those"
        )


@contextlib.contextmanager
def _as_the_user_named(staged: Path, source: Path, names: Names) -> Iterator[None]:
    """prepare's DataError naming the user's own file and the columns as the user named them
    (prepare's own messages point at params.yaml)."""
    try:
        yield
    except DataError as error:
        message = str(error).replace(str(staged), str(source))
        message = message.replace(
            "set data.empty_text: drop in params.yaml",
            f"pass {_with_value(names.empty_text, 'drop')} (or set data.empty_text: drop in params.yaml)",
        )
        for setting, name in (("text_column", names.text), ("label_column", names.label)):
            column = setting.removesuffix("_column")
            message = message.replace(
                f"data.{setting} in params.yaml", f"name the {column} column with {name}"
            )
        raise DataError(message) from None


def read_classes(staged: Path, source: Path, data_params, names: Names = OPTIONS) -> tuple[Counter, str]:
    """Every row of the staged copy read and cleaned as prepare does (its empty-text rule, repeated
    rows, texts given two labels dropped): the rows per class prepare keeps, and the note on what
    it dropped. A file whose texts are all blank, or whose every text has two labels, was accepted,
    then refused by prepare."""
    with _as_the_user_named(staged, source, names):
        return classes_kept(staged.parent, data_params)


def rows_labelled(
    staged: Path, source: Path, data_params, labels: set[str], names: Names = OPTIONS
) -> tuple[list[str], int]:
    """Where the rows with one of `labels` are in the staged copy (those prepare would keep a text
    of): the first SHOWN_ROWS as `row N (line M)`, and how many there are. Read again, on the way to
    an error only."""
    places: list[str] = []
    count = 0
    with _as_the_user_named(staged, source, names):
        for text, label, _path, index, line in iter_rows(staged.parent, data_params):
            if label in labels and normalise(text):
                count += 1
                if len(places) < SHOWN_ROWS:
                    places.append(row_place(index, line))
    return places, count


def given_labels(text: str | None, names: Names = OPTIONS) -> list[str] | None:
    """The classes `--labels` (make's LABELS=) lists, comma-separated, in order; None when it is not
    given (every label in the file). A value that names no label (",,", " ") or one class twice is
    refused naming the setting: ",," was reported as every row having a label outside the list."""
    if text is None:
        return None
    labels = [label.strip() for label in text.split(",") if label.strip()]
    example = f"{names.labels}{'' if names.labels.endswith('=') else ' '}spam,ham"
    if not labels:
        raise DataError(
            f"{names.labels} {text!r} names no label: write the classes comma-separated in the order "
            f"the model numbers them (e.g. {example}), or leave {names.labels} out to take every label in "
            "the file"
        )
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise DataError(
            f"{names.labels} names {', '.join(map(repr, twice))} more than once: list each class once "
            f"(e.g. {example})"
        )
    try:  # params.yaml's rule for data.labels, which these become (an invisible character, named);
        # one label is left to the file's check, which names the labels it lacks
        DataParams._labels_distinct(labels if len(labels) > 1 else None)
    except ValueError as error:
        raise DataError(f"{names.labels} {text!r}: {error}") from None
    return labels


def given_empty_text(text: str | None, names: Names = OPTIONS) -> str | None:
    """`--empty-text` (make's EMPTY_TEXT=): data.empty_text's new value, `error` (a row whose text is
    empty stops prepare, naming it) or `drop` (such rows are dropped and counted); None when not given
    (params.yaml's stays)."""
    if text is None:
        return None
    rule = text.strip().lower()
    if rule not in EMPTY_TEXT_RULES:
        drop, stop = _with_value(names.empty_text, "drop"), _with_value(names.empty_text, "error")
        raise DataError(
            f"{names.empty_text} {shown_label(text, 40)}: is neither error nor drop; pass {drop} to drop "
            f"rows whose text is empty, or {stop} to stop at them (left out: params.yaml's data.empty_text "
            "stays)"
        )
    return rule


def given_task(text: str | None, names: Names = OPTIONS) -> str | None:
    """`--task` (make's TASK=): data.task's new value, checked with params.yaml's rule for it; None
    when not given (params.yaml's stays)."""
    if text is None:
        return None
    problem = task_name_problem(text)
    if problem is not None:
        separator = "" if names.task.endswith("=") else " "
        raise DataError(f"{names.task} {shown_label(text)}: {problem} ({names.task}{separator}spam)")
    return text


def choose_labels(
    counts: Counter,
    given: list[str] | None,
    source: Path,
    label_column: str,
    names: Names = OPTIONS,
    note: str = "",
    rows_with: Callable[[set[str]], tuple[list[str], int]] | None = None,
) -> list[str]:
    """The classes (`given`, or every label of `counts` sorted); `note`: what prepare's clean-up
    dropped, said when a single class is left; `rows_with`: where the rows with some labels are
    (rows_labelled), for a message naming the rows whose labels `given` lacks."""
    if len(counts) < 2:
        held = f"a single class ({next(iter(counts))!r})" if counts else "no class (no rows are left)"
        question = "" if note else f": is it the label column? ({names.label})"
        raise DataError(
            f"{source}: column {label_column!r} holds {held}{note}; a classifier needs at least 2{question}"
        )
    if given is not None:
        unknown = sorted(set(counts) - set(given))
        if unknown:
            rows, where = sum(counts[label] for label in unknown), ""
            if rows_with is not None:
                places, rows = rows_with(set(unknown))
                more = f" and {rows - len(places):,} more" if rows > len(places) else ""
                where = f" ({', '.join(places)}{more})" if places else ""
            one_row, one_label = rows == 1, len(unknown) == 1
            raise DataError(
                f"{source}: {rows:,} {'row has a label' if one_row else 'rows have labels'} not in "
                f"{names.labels}: {', '.join(map(repr, unknown[:10]))}{where}; add "
                f"{'it' if one_label else 'them'} to {names.labels}, or fix "
                f"{'that row' if one_row else 'those rows'}"
            )
        missing = [label for label in given if label not in counts]
        if missing:
            raise DataError(
                f"{source}: {names.labels} {', '.join(map(repr, missing))} have no rows in the file"
            )
        return list(given)
    if len(counts) > MAX_CLASSES:
        raise DataError(
            f"{source}: column {label_column!r} holds {len(counts):,} different values; is it the label "
            f"column? Name it with {names.label}, or list the classes with {names.labels}"
        )
    # Grouped as prepare groups look-alike labels (case, NFKC compatibility forms, spaces, emoji
    # presentation selectors): case alone was caught here, so full-width `Ｂｉｌｌｉｎｇ` beside `billing`
    # went into data.labels as a second class, which silenced prepare's own refusal (R13A-15), and an
    # NFD/NFC pair was refused naming use-data's temporary params.yaml, not the rows (R13A-14).
    by_look: dict[str, list[str]] = {}
    for label in counts:
        by_look.setdefault(_look_alike(label), []).append(label)
    clashes = [group for group in by_look.values() if len(group) > 1]  # in the file's order
    if clashes:
        group = clashes[0]
        if len({unicodedata.normalize("NFC", label) for label in group}) == 1:
            why = (
                "are the same text written with different Unicode characters (an accented letter as one "
                "character or as a letter and a combining accent): write the label one way in the file"
            )
        elif len({label.casefold() for label in group}) == 1:
            why = (
                f"differ only in case: write them one way in the file, or pass {names.labels} listing each "
                "if they really are different classes"
            )
        else:
            why = (
                "look alike (the same text once case, Unicode's compatibility forms such as full-width "
                "letters, and spaces are set aside): write them one way in the file, or pass "
                f"{names.labels} listing each if they really are different classes"
            )
        firsts = ""
        if rows_with is not None:
            places = [rows_with({label})[0][:1] for label in group]
            firsts = " (first at " + "; ".join(place[0] if place else "?" for place in places) + ")"
        more = f"; {len(clashes) - 1} more such group(s)" if len(clashes) > 1 else ""
        raise DataError(f"{source}: labels {' and '.join(map(repr, group))}{firsts} {why}{more}")
    return sorted(counts)


def plan(
    source: Path,
    raw_dir: Path,
    dvc_file: Path,
    data_params,
    labels: list[str] | None,
    staging: Path,
    force: bool = False,
    names: Names = OPTIONS,
) -> Placement:
    """Check everything; copy the file into `staging` only. Nothing else changes. Messages name
    the settings as `names` (the command's options, or make's variables)."""
    check_dvc_file(str(dvc_file), raw_dir, force, names)
    check_left_behind(raw_dir, staging)
    check_source(source)
    staged = staging / source.name
    shutil.copyfile(source, staged)
    counts, note = read_classes(staged, source, data_params, names)
    chosen = choose_labels(
        counts,
        labels,
        source,
        data_params.label_column,
        names,
        note,
        lambda unknown: rows_labelled(staged, source, data_params, unknown, names),
    )
    with _as_the_user_named(staged, source, names):
        check_class_sizes(counts, data_params, note)  # prepare's split would refuse it
    target = raw_dir / source.name
    mine = recorded(dvc_file)
    new_md5 = md5(staged)
    placement = Placement(source, target, chosen, counts)
    foreign = []
    for path in _existing(raw_dir):
        if not path.is_symlink() and not _regular(path):
            # Opening a pipe to hash it waited for a writer for ever; DVC does not version one either.
            raise DataError(
                f"{named(path)}: not a regular file (a pipe, device or socket) in {raw_dir} (data.raw_dir); "
                "nothing was changed. Remove it or move it out of the folder, then run use-data again"
            )
        if path == target and _regular(path) and md5(path) == new_md5:
            placement.unchanged = True
            continue
        relative = path.relative_to(raw_dir).as_posix()
        ours = _regular(path) and relative in mine and mine[relative] == md5(path)
        if ours or _is_sample(path):
            placement.replaced.append(path)
        elif force:
            placement.replaced.append(path)
            if not in_dvc_cache(path, dvc_file.parent):
                placement.uncached.append(path)
        else:
            foreign.append(path)
    if foreign:
        # Only what DVC's cache holds comes back after --force: a file copied in and never `dvc add`ed
        # was promised to "stay in DVC's cache" and was deleted for good (R13A-10).
        uncached = [path for path in foreign if not in_dvc_cache(path, dvc_file.parent)]
        cached = [path for path in foreign if path not in uncached]
        parts = []
        if uncached:
            parts.append(
                f"{_shown(uncached)}: in no DVC cache, so {names.force} would delete them for good: move "
                "them out of the folder first"
            )
        if cached:
            parts.append(
                f"{_shown(cached)}: DVC's cache holds a copy (`dvc checkout` of a data.dvc that pinned "
                f"them brings them back): move them out of the folder, or pass {names.force} to replace them"
            )
        raise DataError(
            f"{raw_dir}: holds files that use-data did not put there; nothing was changed. "
            + "; ".join(parts)
        )
    return placement


# ---------------------------------------------------------------------------------------------
# params.yaml: three keys of the data section rewritten, every other line kept


def _block(lines: list[str], section: str) -> tuple[int, int]:
    start = next((i for i, line in enumerate(lines) if re.match(rf"{section}:\s*(#.*)?$", line)), None)
    if start is None:
        raise ParamsError(f"params.yaml: no top-level `{section}:` section; restore it from the template")
    end = start + 1
    while end < len(lines) and not re.match(r"[^\s#]", lines[end]):
        end += 1
    return start, end


def set_data_keys(text: str, values: dict[str, object]) -> str:
    """`text` (params.yaml) with `data.<key>` set to each value; comments and the rest as they were."""
    lines = text.splitlines(keepends=True)
    start, end = _block(lines, "data")
    keyed = [re.match(r"(\s+)[A-Za-z_]+:", lines[i]) for i in range(start + 1, end)]
    indent = next((m.group(1) for m in keyed if m), "  ")
    for key, value in values.items():
        rendered = yaml.dump(
            value, Dumper=ParamsDumper, default_flow_style=True, width=1 << 16, allow_unicode=True
        )
        rendered = rendered.strip().removesuffix("...").strip()
        new_line = f"{indent}{key}: {rendered}\n"
        start, end = _block(lines, "data")
        at = next((i for i in range(start + 1, end) if re.match(rf"{indent}{key}:(\s|$)", lines[i])), None)
        if at is None:
            lines.insert(start + 1, new_line)
            continue
        stop = at + 1  # a value written over several lines (a block list, a wrapped flow list)
        while stop < end and (
            lines[stop].startswith((indent + " ", indent + "- ")) or not lines[stop].strip()
        ):
            stop += 1
        while stop > at + 1 and not lines[stop - 1].strip():
            stop -= 1  # blank lines after the value belong to the layout, not to it
        lines[at:stop] = [new_line]
    return "".join(lines)


def new_params_text(
    params_file: Path,
    text_column: str,
    label_column: str,
    labels: list[str],
    task: str | None = None,
    empty_text: str | None = None,
) -> str:
    """params.yaml with the columns, labels and (if given) task and empty-text rule set, checked by
    loading it as the stages will."""
    text = params_file.read_text(encoding="utf-8")
    values = {"text_column": text_column, "label_column": label_column, "labels": labels}
    if task is not None:
        values["task"] = task
    if empty_text is not None:
        values["empty_text"] = empty_text
    updated = set_data_keys(text, values)
    by_hand = ", ".join(f"data.{key}: {value!r}" for key, value in values.items())
    unusual = (
        f"{params_file}: could not set {', '.join(f'data.{key}' for key in values)} in place: its data "
        "section has a layout use-data does not edit (a quoted key, a space before a colon, an anchor?); "
        f"nothing was changed: set them by hand ({by_hand})"
    )
    with tempfile.TemporaryDirectory(prefix=".use-data.", dir=params_file.parent) as folder:
        check = Path(folder) / params_file.name
        check.write_text(updated, encoding="utf-8")
        try:
            data = load_params(check, needs=("data",)).data
        except ParamsError:
            # The edited copy's refusal named a temporary file and a key given twice the user never
            # wrote (`"text_column": text` was not found, and the key was added again).
            raise ParamsError(unusual) from None
    if any(getattr(data, key) != value for key, value in values.items()):
        raise ParamsError(unusual)
    return updated


def with_record(dvc_text: str, files: dict[str, str]) -> str:
    try:
        record = yaml.safe_load(dvc_text) if dvc_text.strip() else {}
    except yaml.YAMLError:  # --force over a file that is not YAML: the record replaces it
        record = {}
    if not isinstance(record, dict):
        record = {}
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    meta[META_KEY] = dict(sorted(files.items()))
    return yaml.dump({**record, "meta": meta}, Dumper=ParamsDumper, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Doing it, all or nothing


def apply(
    placement: Placement,
    staging: Path,
    raw_dir: Path,
    params_file: Path,
    params_text: str,
    dvc_file: Path,
    track: Callable[[], None],
) -> None:
    """Move the staged file in, write params.yaml and data.dvc, then `track()` (dvc add). Any
    failure restores all three as they were."""
    old_params = params_file.read_text(encoding="utf-8")
    old_dvc = dvc_file.read_text(encoding="utf-8") if dvc_file.exists() else None
    backup = staging / REPLACED
    moved: list[tuple[Path, Path]] = []
    placed = False
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        for path in placement.replaced:
            keep = backup / path.relative_to(raw_dir)  # under its own name, should it have to be found
            keep.parent.mkdir(parents=True, exist_ok=True)
            path.replace(keep)
            moved.append((keep, path))
        if not placement.unchanged:
            (staging / placement.source.name).replace(placement.target)
            placed = True
        atomic.write_text(params_file, params_text)
        written = {placement.target.relative_to(raw_dir).as_posix(): md5(placement.target)}
        atomic.write_text(dvc_file, with_record(old_dvc or "", written))
        track()
    except BaseException:
        if placed:
            placement.target.unlink(missing_ok=True)
        stuck: list[Path] = []
        for keep, path in reversed(moved):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                keep.replace(path)
            except OSError:
                stuck.append(path)
        atomic.write_text(params_file, old_params)
        if old_dvc is None:
            dvc_file.unlink(missing_ok=True)
        else:
            atomic.write_text(dvc_file, old_dvc)
        if stuck:
            raise DataError(
                f"{raw_dir}: could not put back {_shown(stuck)}; they are in {backup} under their own "
                f"names: move them back into {raw_dir}"
            ) from None
        raise
    # Done: what --force replaced is in DVC's cache, or was named as in none (plan, Placement.uncached).
    shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def one_at_a_time(root: Path = Path(".")) -> Iterator[None]:
    """Inside, no other use-data runs in the repository `root`: a second one at the same time is
    refused before it reads anything. Two at once were not serialised: the one that failed put back
    the params.yaml it had read over the other's, whose success (exit 0) was then half undone, its
    file in data/raw and data.dvc, the old columns and labels in params.yaml (R14A-6). An advisory
    lock (flock) on the repository's folder: released when the process ends, however it ends, and
    not inherited by dvc (the descriptor is close-on-exec)."""
    import fcntl

    descriptor = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"another `textclf use-data` (or `make use-data`) is running in this repository "
                f"({named(root.resolve())}); wait until it ends, then run use-data again; nothing was changed"
            ) from None
        yield
    finally:
        os.close(descriptor)


def check_left_behind(raw_dir: Path, staging: Path | None = None) -> None:
    """Refuse to run while an earlier use-data's staging folder (other than `staging`) still holds
    files it replaced: that run was killed (SIGKILL, the out-of-memory killer) before it could put
    them back or finish, and they are the user's own data, in no other place. DataError naming the
    files and how to put them back (prepare warns of them: prepare.left_behind)."""
    for backup, kept in left_behind(raw_dir, staging):
        raise DataError(
            left_behind_message(backup, kept, raw_dir, "nothing was changed") + "; then run use-data again"
        )


def discard(staging: Path) -> None:
    """Remove the staging folder, unless it still holds files a failed rollback could not put back
    (the error names them and the folder)."""
    backup = staging / REPLACED
    if not (backup.is_dir() and any(p.is_file() for p in backup.rglob("*"))):
        shutil.rmtree(staging, ignore_errors=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a cancelled CI job, `timeout`, `kill`, a closed terminal or ssh session),
    raised where it arrives so `apply` rolls back."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# Signals that end a process unless it handles them, as an interrupted run should end: SIGTERM
# (kill, timeout, a cancelled job), SIGHUP (the terminal or ssh session closed) and SIGQUIT (Ctrl-\).
# SIGINT is Ctrl-C's KeyboardInterrupt already.
STOP_SIGNALS = (*interrupt.STOP_SIGNALS, *((signal.SIGQUIT,) if hasattr(signal, "SIGQUIT") else ()))
# And every other signal whose default action ends the process (signal(7): SIGUSR1, SIGUSR2, SIGALRM,
# SIGVTALRM, SIGPROF, SIGXCPU from `ulimit -t`, SIGXFSZ from `ulimit -f`), taken only while nothing
# else handles it: ended by one mid-way, a run left the user's replaced file in the staging folder.
# SIGKILL cannot be handled: check_left_behind names what such a run left.
DEFAULT_ENDING = tuple(
    getattr(signal, name)
    for name in ("SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGXFSZ")
    if hasattr(signal, name)
)


@contextlib.contextmanager
def sigterm_rolls_back(log: Callable[[str], None], kept: str) -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGQUIT handled as Ctrl-C is: the run stops where it is and puts
    everything back (a second signal while it does is ignored), logs that `kept` (the files it would
    change) are as they were, then the process exits 128 + the signal's number, as on that signal.
    Without it the process died at once: replaced files left in the staging folder, params.yaml and
    data.dvc half-written."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    fired = False

    def terminate(signum, frame):
        nonlocal fired
        if not fired:
            fired = True
            raise Terminated(signum)

    ending = tuple(signum for signum in DEFAULT_ENDING if signal.getsignal(signum) is signal.SIG_DFL)
    previous = {signum: signal.signal(signum, terminate) for signum in (*taken(STOP_SIGNALS), *ending)}
    try:
        yield
    except Terminated as stopped:
        log(f"terminated ({signal.Signals(stopped.signum).name}): {kept} are as they were")
        raise SystemExit(128 + stopped.signum) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
