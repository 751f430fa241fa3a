"""Continuous training: bring new data from the data bucket's `incoming/` prefix into the dataset.

`import_incoming` copies every .csv, .jsonl or .parquet object under `s3://<data bucket>/incoming/`
to `<data.raw_dir>/incoming/<same relative path>` (the prepare stage reads every file below
raw_dir), after checking the dataset they join (the raw folder's files and the new ones) as the
prepare stage will read it (columns, types, labels, case twins, classes, a text given another
label), so a bad file stops the import with its S3 key and row and changes nothing. An object
already imported with the same bytes is skipped, so reruns and the weekly schedule are idempotent;
nothing is deleted from the bucket (the dataset in git, via data.dvc, is the record of what was
imported).
`dvc commit` then re-hashes the dataset into data.dvc and `dvc push` uploads it.

`open_pr` commits data.dvc on a branch named after the dataset's hash and opens a PR with `gh`, so
the retrained model is reviewed like any other change. With no new data it does nothing.

`pull_data` is the PR workflow's first data step: it fails early, saying to run `dvc push`, when
data.dvc points at data that was never pushed to the remote.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from textclf.config import AwsParams, DataParams

INCOMING_PREFIX = "incoming/"
DATA_FILE = Path("data.dvc")
SUMMARY_FILE = Path(".cache/retrain/import.json")
SUFFIXES = (".csv", ".jsonl", ".parquet")  # what the prepare stage reads
DVC_FILE_LIMIT = 1 << 20  # a .dvc file is a few lines; more is not one


class RetrainError(RuntimeError):
    """New data cannot be imported, or the data cannot be pulled; the message says what to fix."""


def log(message: str) -> None:
    print(f"[textclf] {message}", file=sys.stderr, flush=True)


def run(command: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a tool (dvc, git, gh) with its output captured; a failure names the command."""
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise RetrainError(
            f"`{command[0]}` is not installed or not on PATH (needed for `{' '.join(command)}`)"
        ) from None
    if check and result.returncode != 0:
        raise RetrainError(f"`{' '.join(command)}` failed:\n{(result.stderr or result.stdout).strip()}")
    return result


# ---------------------------------------------------------------------------------------------
# Pull (PR workflow)


def dvc_outs(target: Path = DATA_FILE) -> list[dict[str, Any]]:
    """The `outs` of a .dvc file, each a mapping with a `path`; RetrainError saying to restore the
    file when it is unreadable, not YAML, empty or not of that shape."""
    from textclf import atomic

    try:
        record = yaml.safe_load(atomic.read_regular(target, DVC_FILE_LIMIT).decode("utf-8"))
        problem = None
    except (OSError, ValueError, yaml.YAMLError) as error:
        record, problem = None, " ".join(str(error).split())[:200]
    outs = record.get("outs") if isinstance(record, dict) else None
    if problem is None and not (
        isinstance(outs, list)
        and outs
        and all(isinstance(out, dict) and isinstance(out.get("path"), str) for out in outs)
    ):
        problem = "no `outs:` list of entries with a path" if record is not None else "empty"
    if problem is not None:
        raise RetrainError(f"{target}: not a DVC file ({problem}): restore it (git checkout {target})")
    return outs


def pull_data(target: Path = DATA_FILE) -> None:
    """`dvc pull` the dataset; if the remote lacks it, say that someone has to `dvc push` it."""
    tracked = [out["path"] for out in dvc_outs(target)]
    result = run(["dvc", "pull", str(target)], check=False)
    if result.returncode == 0:
        return
    status = run(["dvc", "data", "status", "--not-in-remote", "--json"], check=False)
    try:
        missing = json.loads(status.stdout or "{}").get("not_in_remote", [])
    except (ValueError, AttributeError):
        missing = []
    missing = [m for m in missing if isinstance(m, str)] if isinstance(missing, list) else []
    never_pushed = [path for path in tracked if any(m.rstrip("/") == path.rstrip("/") for m in missing)]
    if never_pushed:
        remote = run(["dvc", "remote", "list"], check=False).stdout.strip() or "(no remote configured)"
        raise RetrainError(
            f"{target} points at data that is not in the DVC remote ({', '.join(never_pushed)}; remote: "
            f"{remote}). Whoever changed {target} must upload it: run `dvc push` on the branch, then "
            "re-run this check"
        )
    raise RetrainError(f"dvc pull {target} failed:\n{(result.stderr or result.stdout).strip()}")


# ---------------------------------------------------------------------------------------------
# Import (retrain workflow)


@dataclass
class ImportSummary:
    bucket: str
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not a data file (e.g. a README or a folder)
    # New objects whose every row the dataset holds already: not imported (nothing to train on, and
    # importing them reorders prepare's rows, so the split, and opens a pull request on the same data).
    repeats: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)


def list_incoming(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=INCOMING_PREFIX):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


# Unicode's bidirectional controls (UAX #9: ALM, LRM, RLM, the embeddings, overrides and isolates):
# a name holding one is displayed in another order than its characters (CVE-2021-42574's trick), so
# the file a reviewer sees in the pull request is not the one imported.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Characters a name shows as nothing, or as a line break: Unicode's format characters (Cf: U+FEFF,
# U+200B, U+200D, U+2060, U+00AD ...) and the line and paragraph separators (Zl U+2028, Zp U+2029).
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})


# Names Windows cannot give a file ("Naming Files, Paths, and Namespaces", Naming Conventions,
# https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file): reserved device names, also
# with an extension (CON.csv), the characters < > : " / \\ | ? *, and a name ending in a dot or space.
# The page lists COM1-9, LPT1-9 and COM/LPT with a superscript 1, 2 or 3 among them; CONIN$ and
# CONOUT$ are the console's device names.
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{port}{n}" for port in ("com", "lpt") for n in (*"123456789", "\u00b9", "\u00b2", "\u00b3")}
)
WINDOWS_REFUSED_CHARACTERS = frozenset('<>:"|?*')


def not_on_windows(segment: str) -> str | None:
    """Why Windows cannot hold `segment` as a file or folder name, or None."""
    if segment.split(".")[0].rstrip(" ").casefold() in WINDOWS_RESERVED:
        return "a reserved device name"
    if bad := next((char for char in segment if char in WINDOWS_REFUSED_CHARACTERS), None):
        return f"the character {bad!r}"
    if segment.endswith((".", " ")):
        return "a dot or space at the end"
    return None


# Folder names DVC leaves out of a tracked folder (prepare.DVC_IGNORED_FOLDERS and `.dvc`).
DVC_FOLDERS = frozenset({".git", ".hg", ".dvc"})
# The name DVC reads in every folder it walks as that folder's ignore rules (".dvcignore Files": "in
# the root of the project, or in any subdirectory",
# https://dvc.org/doc/user-guide/project-structure/dvcignore-files; dvc/ignore.py,
# DvcIgnoreFilter._update_trie opens `<folder>/.dvcignore` whenever it exists): a folder of that name
# ends `dvc add` with "unexpected error - [Errno 21] Is a directory", so no retrain run could version
# the data. Compared case-folded, as DVC_FOLDERS are: a case-insensitive checkout has the same clash.
DVC_IGNORE_NAME = ".dvcignore"


# The name place_all copies a file to before it renames it into place (.dvcignore hides it), and the
# longest file name that leaves room for it within a file system's 255 bytes.
COPY_NAME = ".{}.tmp.incoming"
MAX_NAME_BYTES = 255 - (len(COPY_NAME) - 2)


def relative_path(key: str) -> PurePosixPath:
    """Where below incoming/ a key's file goes; RetrainError (naming the key) for any key that could
    lead elsewhere or look like another: an absolute path, an empty, `.` or `..` segment, a folder DVC
    leaves out (`.dvc`, `.git`, `.hg`) or reads as its ignore file (`.dvcignore`), a backslash, a
    control, bidirectional or invisible character."""
    if not key.startswith(INCOMING_PREFIX):
        raise RetrainError(f"s3 key {key!r} is not under {INCOMING_PREFIX}")
    segments = key[len(INCOMING_PREFIX) :].split("/")
    problem = None
    if any(segment == "" for segment in segments):
        problem = "an empty segment (a leading, doubled or trailing slash)"
    elif any(segment in {".", ".."} for segment in segments):
        problem = "a `.` or `..` segment"
    elif reserved := next((part for part in segments[:-1] if part.casefold() in DVC_FOLDERS), None):
        # DVC leaves `.git` and `.hg` folders out, and a `.dvc` folder makes the folder holding it a DVC
        # repository of its own, left out whole: every file imported before it would leave the dataset.
        problem = f"a {reserved!r} folder, which DVC leaves out of the dataset (dvc/ignore.py)"
    elif ignore := next((part for part in segments[:-1] if part.casefold() == DVC_IGNORE_NAME), None):
        problem = (
            f"a {ignore!r} folder: DVC reads the `.dvcignore` of every folder in the dataset as its ignore "
            "rules, so `dvc add` fails on a folder of that name ('Is a directory') and no retrain run "
            "could version the data"
        )
    elif "\\" in key or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in key):
        problem = "a backslash or a control character"
    elif "##[" in key:
        # The key is logged (retrain-import's notes, the PR job): GitHub's runner takes `##[` anywhere in
        # a log line as a workflow command (actions/runner ActionCommand: an annotation, add-mask ...).
        problem = "`##[`, which GitHub's runner reads in a log line as a workflow command"
    elif bidi := [char for char in key if char in BIDI_CONTROLS]:
        problem = (
            f"a bidirectional control character (U+{ord(bidi[0]):04X}), which shows the name in "
            "another order than it is"
        )
    elif hidden := [char for char in key if unicodedata.category(char) in INVISIBLE_CATEGORIES]:
        char = hidden[0]
        problem = (
            f"an invisible character (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}), so two "
            "names that look the same are different files"
        )
    elif any(len(segment.encode("utf-8")) > 255 for segment in segments[:-1]):
        problem = "a segment longer than a file name may be (255 bytes)"
    elif len(segments[-1].encode("utf-8")) > MAX_NAME_BYTES:
        # place_all copies it first to `.<name>.tmp.incoming`, which must fit the 255 bytes too.
        problem = (
            f"a segment longer than a file name may be here ({MAX_NAME_BYTES} bytes for a file: the copy "
            f"it is placed through adds {len(COPY_NAME) - 2})"
        )
    elif windows := next((segment for segment in segments if not_on_windows(segment)), None):
        problem = (
            f"a segment Windows cannot hold as a file name ({windows!r}: {not_on_windows(windows)}), so a "
            "checkout there would lack the file"
        )
    if problem:
        raise RetrainError(
            f"s3 key {key!r} cannot be imported: it has {problem}; rename the object to "
            f"{INCOMING_PREFIX}<folder>/<file>.csv (nothing was imported)"
        )
    return PurePosixPath(*segments)


def refuse_twins(keys: list[str]) -> None:
    """Two keys that are the same text in Unicode's composed form (NFC: `café.csv` typed with é or
    with e and a combining accent) look the same but would be two files, and two that differ only in
    case (`A.csv`, `a.csv`) are one file on a case-insensitive checkout (macOS, Windows): RetrainError
    naming both."""
    composed: dict[str, str] = {}
    folded: dict[str, str] = {}
    for key in keys:
        nfc = unicodedata.normalize("NFC", key)
        other = composed.setdefault(nfc, key)
        if other != key:
            raise RetrainError(
                f"s3 keys {other!r} and {key!r} are the same name written with different Unicode characters "
                "(equal in NFC form): they would be two files that look the same; delete or rename one "
                "(nothing was imported)"
            )
        other = folded.setdefault(unicodedata.normalize("NFC", nfc.casefold()), key)
        if other != key:
            raise RetrainError(
                f"s3 keys {other!r} and {key!r} differ only in case: a case-insensitive checkout (macOS, "
                "Windows) holds one file for both; delete or rename one (nothing was imported)"
            )


def destination(key: str, raw_dir: Path) -> Path:
    """The file in the raw data folder for a key, checked on disk to stay inside raw_dir/incoming
    (a symbolic link on the way could lead out of it)."""
    folder = raw_dir / "incoming"
    target = folder / relative_path(key)
    if not target.resolve().is_relative_to(folder.resolve()):
        raise RetrainError(
            f"s3 key {key!r}: its file {target} leads to {target.resolve()}, outside {folder} "
            "(a symbolic link?); nothing was imported"
        )
    in_the_way = [p for p in (target, *target.parents) if p.is_relative_to(folder) and p.is_symlink()]
    in_the_way += [p for p in target.parents if p.is_relative_to(folder) and p.exists() and not p.is_dir()]
    if target.exists() and not target.is_file():
        in_the_way.append(target)
    if in_the_way:
        raise RetrainError(
            f"s3 key {key!r}: {in_the_way[0]} is in the way (a link, or a file where a folder must be, or "
            "the reverse); move it away, nothing was imported"
        )
    return target


def hidden_by_dvcignore(target: Path, raw_dir: Path | None = None) -> bool:
    """Whether the `.dvcignore` files between the repository root (the current folder) and `target`'s
    folder hide `target` (inside `raw_dir`, data.raw_dir: read as prepare and DVC read them, a
    `.dvcignore` inside `raw_dir` as `dvc add` takes it); RetrainError naming a line that is no
    pattern, or a `.dvcignore` inside `raw_dir` that `dvc add` refuses."""
    from textclf.pipeline import prepare

    raw_dir = Path(DataParams().raw_dir) if raw_dir is None else raw_dir
    root = Path.cwd().resolve()
    absolute = (root / target).resolve(strict=False) if not target.is_absolute() else target
    try:
        if absolute.parent.is_relative_to(raw_dir.resolve()):
            return prepare._hidden(absolute, prepare.dvcignore_specs_at(absolute.parent, raw_dir))
        folders = [
            folder
            for folder in (absolute.parent, *absolute.parent.parents)
            if folder == root or root in folder.parents
        ]
        return prepare._hidden(absolute, prepare._dvcignore_specs(folders))
    except prepare.DataError as error:
        raise RetrainError(f"{error} (nothing was imported)") from None


CONFLICT_FIX = "correct the label in one of them, or remove one of the rows from the new data"


def check_new_files(
    staging: Path, data: DataParams, bucket: str, replaced: Iterable[Path] = (), added: Counter | None = None
) -> int:
    """Check the dataset as it will be, the raw folder's files (less those `replaced`) and the
    downloaded ones, as the prepare stage will read it: a new file whose labels are case twins of the
    dataset's, or which gives the dataset's texts other labels, is refused like a malformed one.
    Errors name the S3 key, not the temp path; returns the rows the new files add (per file in
    `added`, if given)."""
    from textclf.pipeline import prepare

    try:
        new = prepare.data_files(staging)
        gone = {path.resolve() for path in replaced}
        existing = [
            path
            for path in prepare.data_files(Path(data.raw_dir), allow_empty=True)
            if path.resolve() not in gone
        ]
        rows = prepare.check_joined(existing, new, data, added)
        # Two new rows of one text under two labels, written alike: prepare drops both without a
        # word, so the provider's contradiction was lost, and a file of nothing else was reported as
        # "in the dataset already". Refused naming both rows, as the pair written differently is.
        prepare._collected(Path(data.raw_dir), data, new, lambda *_: CONFLICT_FIX)
        return rows
    except prepare.DataError as error:
        message = str(error).replace(f"{staging}/", f"s3://{bucket}/{INCOMING_PREFIX}")
        raise RetrainError(f"new data rejected: {message} (nothing was imported)") from None


def import_incoming(aws: AwsParams, data: DataParams, s3: Any = None) -> ImportSummary:
    """Copy new or changed incoming objects into the raw data folder, all or nothing."""
    from botocore.exceptions import BotoCoreError, ClientError

    from textclf.release import promote

    try:
        s3 = s3 or promote.aws_client("s3", aws)
    except promote.ReleaseError as error:  # an AWS setting boto3 cannot use, named
        raise RetrainError(f"{error} (nothing was imported)") from None
    try:
        return _import(s3, aws, data)
    except (BotoCoreError, ClientError) as error:
        raise RetrainError(
            f"s3://{aws.data_bucket}/{INCOMING_PREFIX}: {error}; check aws.data_bucket (or "
            "TEXTCLF_DATA_BUCKET) and the AWS credentials (nothing was imported)"
        ) from None


def _import(s3: Any, aws: AwsParams, data: DataParams) -> ImportSummary:
    raw_dir = Path(data.raw_dir)
    summary = ImportSummary(bucket=aws.data_bucket)
    keys = list_incoming(s3, aws.data_bucket)
    wanted = [key for key in keys if not key.endswith("/") and key.lower().endswith(SUFFIXES)]
    # Every key is checked before anything is downloaded: one bad key imports nothing.
    targets = {key: destination(key, raw_dir) for key in wanted}
    refuse_twins(wanted)
    # A file a .dvcignore hides is neither versioned by DVC nor read by prepare: not new data.
    hidden = {key for key, target in targets.items() if hidden_by_dvcignore(target, raw_dir)}
    targets = {key: target for key, target in targets.items() if key not in hidden}
    summary.skipped = sorted(set(keys) - set(targets))  # a README, a folder marker, an ignored file
    with tempfile.TemporaryDirectory(prefix="textclf-incoming-") as work:
        staging = Path(work)
        moves: list[tuple[Path, Path]] = []
        for key, target in targets.items():
            staged = staging / relative_path(key)
            try:
                staged.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(aws.data_bucket, key, str(staged))
            except OSError as error:  # e.g. `a.csv` and `a.csv/b.csv`: a file where a folder must be
                raise RetrainError(f"s3 key {key!r} cannot be stored as {target}: {error.strerror}") from None
            if target.is_file() and target.read_bytes() == staged.read_bytes():
                summary.unchanged.append(key)
                staged.unlink()
                continue
            (summary.updated if target.exists() else summary.new).append(key)
            moves.append((staged, target))
        if moves:
            replaced = [target for _, target in moves if target.exists()]
            added: Counter = Counter()
            summary.rows = check_new_files(staging, data, aws.data_bucket, replaced, added)
            # A new object that adds no row (every row one the dataset holds) is not imported.
            repeats = {staged for staged, target in moves if not target.exists() and not added[staged]}
            summary.repeats = [key for key in summary.new if staging / relative_path(key) in repeats]
            summary.new = [key for key in summary.new if key not in summary.repeats]
            moves = [(staged, target) for staged, target in moves if staged not in repeats]
        place_all(moves)
    return summary


# Suffixes of files that hold data prepare does not read (spreadsheets, other text formats,
# compressed files): a provider's drop with one of them is named, not counted among the skipped.
DATA_LIKE_SUFFIXES = (
    *(".xlsx", ".xlsm", ".xls", ".ods", ".tsv", ".tab", ".json", ".ndjson", ".jsonl.gz", ".csv.gz"),
    *(".gz", ".zip", ".bz2", ".xz", ".zst", ".7z", ".tar", ".avro", ".orc", ".feather", ".arrow"),
)


def skipped_notes(summary: ImportSummary, limit: int = 10) -> list[str]:
    """Log lines naming the skipped objects that look like data (by suffix, or prepare's own suffix
    hidden by a .dvcignore) with what is accepted, and the new objects that only repeat the dataset's
    rows; a count alone left a provider's Excel drop unimported without a word."""
    notes = []
    unread = [key for key in summary.skipped if key.lower().endswith(DATA_LIKE_SUFFIXES)]
    hidden = [key for key in summary.skipped if key.lower().endswith(SUFFIXES)]
    for keys, why in (
        (
            unread,
            f"not imported: the prepare stage reads {', '.join(SUFFIXES)} files only (uncompressed); "
            "convert them (a spreadsheet: save as CSV UTF-8) and upload them under incoming/",
        ),
        (hidden, "not imported: a .dvcignore hides them (DVC would not version them)"),
        (
            summary.repeats,
            "not imported: every row of them is in the dataset already (nothing new to train on)",
        ),
    ):
        if keys:
            shown = ", ".join(f"s3://{summary.bucket}/{key}" for key in keys[:limit])
            more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
            notes.append(f"{shown}{more}: {why}")
    return notes


def place_all(moves: list[tuple[Path, Path]]) -> None:
    """The checked files into the dataset, all or none: each is first copied beside its target
    (a copy can fail half way, on a full disk), then all are renamed into place (a rename within a
    folder needs no space). The copies' names are ones .dvcignore hides (`.<name>.tmp.incoming`);
    every target is a regular file or new (`destination` refused links and folders in the way)."""
    placed: list[tuple[Path, Path]] = []
    try:
        for staged, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            placed.append((target.with_name(COPY_NAME.format(target.name)), target))
            shutil.copyfile(staged, placed[-1][0])
    except BaseException as error:
        for copy, _ in placed:
            with contextlib.suppress(OSError):  # the copy that failed may not be a name at all
                copy.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise RetrainError(
                f"{target}: cannot be written ({error.strerror}); nothing was imported: free space or "
                "fix the folder's permissions and run the import again"
            ) from None
        raise
    done: list[str] = []
    try:
        for copy, target in placed:
            copy.replace(target)
            done.append(str(target))
    except OSError as error:
        for copy, _ in placed:
            with contextlib.suppress(OSError):
                copy.unlink(missing_ok=True)
        raise RetrainError(
            f"{target}: cannot be replaced ({error.strerror}) after {', '.join(done) or 'no file'} "
            "was placed; `git checkout data.dvc && dvc checkout data.dvc` restores the dataset"
        ) from None


def commit_and_push(target: Path = DATA_FILE) -> None:
    """Re-hash the dataset into data.dvc (`dvc add` for an already tracked folder) and upload it."""
    run(["dvc", "commit", "--force", "--quiet", str(target)])
    run(["dvc", "push", str(target)])


def write_summary(summary: ImportSummary, path: Path = SUMMARY_FILE) -> None:
    from textclf import atomic

    atomic.write_json(path, {**asdict(summary), "changed": summary.changed})


# ---------------------------------------------------------------------------------------------
# Pull request (retrain workflow)


def dataset_hash(target: Path = DATA_FILE) -> str:
    md5 = dvc_outs(target)[0].get("md5")
    if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5):
        raise RetrainError(f"{target}: outs[0].md5 is not a DVC hash; run `dvc commit {target}` again")
    return md5.removesuffix(".dir")


SUMMARY_LIMIT = 64 << 20  # 100,000 keys of 600 characters


def read_summary(path: Path = SUMMARY_FILE) -> dict[str, Any]:
    """What retrain-import wrote (write_summary), read bounded and checked for its shape; {} when
    there is none. RetrainError naming the file and saying to import again."""
    from textclf import atomic

    if not path.exists() and not path.is_symlink():
        return {}
    try:
        summary = json.loads(atomic.read_regular(path, SUMMARY_LIMIT).decode("utf-8"))
        problem = None
    except (OSError, ValueError, RecursionError) as error:
        summary, problem = None, " ".join(str(getattr(error, "strerror", None) or error).split())[:200]
    if problem is None:
        if not isinstance(summary, dict):
            problem = "not a JSON object"
        elif not isinstance(summary.get("bucket"), str):
            problem = "`bucket` is not a name"
        elif bad := [
            key
            for key in ("new", "updated")
            if not isinstance(summary.get(key, []), list)
            or not all(isinstance(item, str) for item in summary.get(key, []))
        ]:
            problem = f"`{bad[0]}` is not a list of S3 keys"
        elif not isinstance(summary.get("rows", 0), int) or isinstance(summary.get("rows"), bool):
            problem = "`rows` is not a whole number"
    if problem is not None:
        raise RetrainError(
            f"{path}: not the summary retrain-import writes ({problem}); run textclf retrain-import again"
        )
    return summary


def _fenced(lines: list[str]) -> str:
    """A code block no backtick run in `lines` can close: keys are shown, never rendered (no
    markdown, links or @mentions from an object's name)."""
    text = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


# The keys a PR body lists: GitHub refuses a body over 65,536 characters ("body is too long (maximum
# is 65536 characters)"), and the list must leave room for the text around it.
BODY_KEYS = 100
BODY_KEY_CHARS = 40_000


def pr_body(summary: dict[str, Any]) -> str:
    rows = summary.get("rows")
    lines = [
        "New data from the data bucket's `incoming/` prefix, imported by the retrain workflow.",
        "The pr workflow retrains on it, reports the metrics against production and gates the model.",
        "",
        f"Rows in the new or changed files (after clean-up): {rows if isinstance(rows, int) else 'unknown'}",
        "",
    ]
    listed = [
        f"{title}: s3://{summary.get('bucket')}/{item}"
        for title, key in (("new", "new"), ("changed", "updated"))
        for item in summary.get(key, [])
    ]
    shown: list[str] = []
    for line in listed[:BODY_KEYS]:
        if sum(len(item) + 1 for item in shown) + len(line) > BODY_KEY_CHARS:
            break
        shown.append(line)
    if listed:
        lines += ["The imported objects:", "", _fenced(shown)]
    if len(shown) < len(listed):
        lines += [
            "",
            f"and {len(listed) - len(shown)} more of the {len(listed)} objects, not listed (a pull request's "
            "body holds at most 65,536 characters); the branch's data.dvc covers them all.",
        ]
    return "\n".join(lines) + "\n"


# Why `gh pr create` may be refused with the workflow's own token: the repository setting is off
# by default ("Managing GitHub Actions settings for a repository", section "Preventing GitHub
# Actions from creating or approving pull requests", docs.github.com).
PR_PERMISSION_HINT = (
    "GitHub refuses pull requests from the workflow's GITHUB_TOKEN unless Settings > Actions > General > "
    '"Allow GitHub Actions to create and approve pull requests" is on; or set the RETRAIN_TOKEN secret '
    "(a GitHub App or fine-grained token with pull-requests: write). The branch is pushed: the next run "
    "opens the pull request (docs/workflows.md)"
)


def open_pull_request_url(branch: str) -> str | None:
    """The URL of an open pull request from `branch`, if there is one."""
    listed = run(
        ["gh", "pr", "list", "--head", branch, "--state", "open", "--json", "url", "--jq", ".[].url"]
    )
    urls = listed.stdout.split()
    return urls[0] if urls else None


# A branch name git accepts, without a leading `-` (gh would read it as an option).
BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}")


def open_pr(base: str = "main", remote: str = "origin", summary_file: Path = SUMMARY_FILE) -> str | None:
    """Commit data.dvc on retrain/<dataset hash>, push it and open a PR; None when nothing changed
    or a PR for this data is open already.

    The branch may exist without a PR (an earlier run pushed it and then `gh pr create` was
    refused, or someone closed the PR): what counts is an open PR, so a PR is opened for it."""
    if (
        not BRANCH.fullmatch(base)
        or ".." in base
        or run(["git", "check-ref-format", "--branch", base], check=False).returncode != 0
    ):
        # An empty base reported "no new data" without looking; an option-like one reached gh.
        raise RetrainError(f"--base {base!r} is not a branch name: pass the branch the PR goes to (main)")
    if run(["git", "diff", "--quiet", "--", str(DATA_FILE)], check=False).returncode == 0:
        log(f"no new data: {DATA_FILE} unchanged, no pull request")
        return None
    summary = read_summary(summary_file)
    branch = f"retrain/{dataset_hash()[:12]}"
    existing = open_pull_request_url(branch)
    if existing:
        log(f"pull request {existing} from {branch} is open already: it covers this data")
        return None
    count = len(summary.get("new", [])) + len(summary.get("updated", []))
    title = f"data: retrain on {count or 'new'} file(s) from incoming/"
    if run(["git", "ls-remote", "--exit-code", "--heads", remote, branch], check=False).returncode == 0:
        # Same name = same dataset hash: the pushed branch carries this data.dvc already.
        log(f"branch {branch} exists on {remote} without an open pull request: opening one for it")
    else:
        identity = [
            "-c",
            "user.name=textclf-retrain",
            "-c",
            "user.email=textclf-retrain@users.noreply.github.com",
        ]
        run(["git", "switch", "--create", branch])
        run(["git", *identity, "commit", "--quiet", "--message", title, "--", str(DATA_FILE)])
        run(["git", "push", "--quiet", remote, f"HEAD:refs/heads/{branch}"])
    # The body goes in a file: a long list of keys in one argument passed the kernel's limit
    # ("Argument list too long").
    with tempfile.TemporaryDirectory(prefix="textclf-pr-") as work:
        body = Path(work) / "body.md"
        body.write_text(pr_body(summary), encoding="utf-8")
        command = ["gh", "pr", "create", "--base", base, "--head", branch, "--title", title]
        created = run([*command, "--body-file", str(body)], check=False)
    if created.returncode != 0:
        said = (created.stderr or created.stdout).strip()
        hint = (
            PR_PERMISSION_HINT
            if re.search(r"not permitted|not accessible|\b403\b", said)
            else (f"The branch {branch} is pushed: the next run opens the pull request")
        )
        raise RetrainError(f"`gh pr create --head {branch}` failed: {said}\n  {hint}")
    url = created.stdout.strip()
    log(f"opened {url or branch}")
    return branch
