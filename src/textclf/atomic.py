"""Write outputs all-or-nothing: into a temporary sibling, then rename over the target.

A stage that fails half way leaves its previous outputs (or nothing), never a torn file. Also
reads such a JSON output back, with errors that say which file and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces `target` when the block succeeds."""
    target = Path(target)
    created = [parent for parent in reversed(target.parents) if not parent.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; outputs are ordinary folders
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
            for parent in reversed(created):  # folders made for the output only: gone with it
                try:
                    parent.rmdir()
                except OSError:
                    break


def write_text(target: Path | str, text: str) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
    ) as handle:
        try:
            handle.write(text)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    try:
        Path(handle.name).chmod(0o644)  # NamedTemporaryFile makes it private; outputs are ordinary files
        Path(handle.name).replace(target)
    except BaseException:  # a folder in the way, a full disk: no stray temporary file is left
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target


def write_json(target: Path | str, payload: Any) -> Path:
    return write_text(target, json.dumps(payload, indent=2, sort_keys=False) + "\n")


class DuplicateKey(ValueError):
    """A JSON object gives one key twice (JSON's last-wins rule would silently pick a value)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key[:60]


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys differ: JSON's last-wins rule would silently pick one of two values."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


# The largest JSON file of the pipeline's a reader takes (metrics, verdicts: a few KB).
MAX_JSON_BYTES = 64 * 1024**2


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Anything else raises OSError with a
    strerror that says what it is: a device (/dev/zero) would be read without end and a pipe would
    block the command, so neither is opened for reading."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting for a writer
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "a device, pipe or socket, not a regular file", str(path))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes, far more than such a file holds", str(path))
    return data


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def json_refusal(where: object, data: bytes, problem: ValueError, remedy: str) -> str:
    """Why json.loads refused `data` (the bytes of the JSON file `where`), and what to do: `remedy`
    says what writes the file. An empty file or one an editor saved with a byte order mark was
    "not valid JSON (Expecting value: line 1 column 1)", which names neither cause nor cure."""
    if not data.strip():
        what = "is empty" if not data else "holds only white space"
        return f"{where}: {what}; {remedy}"
    if data.startswith(UTF8_BOM):
        resave = "save it as UTF-8 without BOM, or write it again"
        return f"{where}: starts with a byte order mark; {resave}: {remedy}"
    if data.startswith(UTF16_BOMS):
        return (
            f"{where}: is UTF-16 (starts with its byte order mark); save it as UTF-8 without BOM, "
            f"or write it again: {remedy}"
        )
    if isinstance(problem, UnicodeDecodeError):
        line = data[: problem.start].count(b"\n") + 1
        return (
            f"{where}: line {line}: bytes that are not UTF-8 ({data[problem.start : problem.end]!r}); "
            f"save it as UTF-8, or write it again: {remedy}"
        )
    return f"{where}: not valid JSON ({problem}); {remedy}"


def read_json_object(path: Path, error: type[Exception], missing_hint: str, kind: str = "") -> dict[str, Any]:
    """The JSON object in `path`; a missing, malformed or non-object file raises `error`."""
    data = b""
    try:
        data = read_regular(path, MAX_JSON_BYTES)
        payload = json.loads(data.decode("utf-8"), object_pairs_hook=unique_keys)
    except DuplicateKey as duplicate:
        raise error(f"{path}: key {duplicate.key!r} is given twice in one object; keep one") from None
    except FileNotFoundError:
        raise error(f"{path}: not found; {missing_hint}") from None
    except OSError as problem:  # a folder in its place, no permission
        raise error(f"{path}: cannot be read ({problem.strerror}); {missing_hint}") from None
    except ValueError as problem:  # also bytes that are not UTF-8
        raise error(json_refusal(path, data, problem, missing_hint)) from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a JSON object{kind}") from None
    if not isinstance(payload, dict):
        raise error(f"{path}: expected a JSON object{kind}")
    return payload


def decode_utf8(data: bytes, where: object, error: type[Exception]) -> str:
    """`data` as text, or `error` naming the line of the first bytes that are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data[: bad.start].count(b"\n") + 1
        raise error(
            f"{where}: line {line}: bytes that are not UTF-8 ({data[bad.start : bad.end]!r}); "
            "re-save the file as UTF-8"
        ) from None


def remove(*paths: Path | str) -> None:
    """Delete stale outputs so a failed stage leaves none behind."""
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
