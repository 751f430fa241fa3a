"""What every benchmark shares: how it ends on settings it cannot use (the one-line error naming the
file and the key, exit 2, no traceback, as the textclf commands do), and how it writes `--out`.

`--out` replaces only a file the same script wrote (a JSON object of that script's own top-level
keys): a folder, a symbolic link, a pipe, a device or any other file there (README.md, params.yaml,
another benchmark's figures) is refused, exit 2, before the benchmark starts its work (a full run
takes minutes), and again just before writing. The figures are written to a temporary file in the
same folder and renamed over `--out`: a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textclf.config import ParamsError

# The most a benchmark's own figures hold (a few hundred rows of figures at most): a larger file is
# not read to be recognised, so a huge file cannot stall the check.
MAX_OWN_BYTES = 4 << 20


class OutRefused(Exception):
    """`--out` names something the benchmark must not replace, or cannot write."""


def run(main: Callable[[], object], script: str) -> None:
    """Run a benchmark's main() as its program: its return value (an int) is the exit status."""
    try:
        status = main()
    except (ParamsError, OutRefused) as error:
        print(f"[{Path(script).name}] error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(status if isinstance(status, int) else 0)


def own_keys_text(keys: frozenset[str]) -> str:
    names = sorted(keys)
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"a JSON object with the keys {shown}"


def out_problem(
    out: Path, keys: frozenset[str], default: str, added_later: frozenset[str] = frozenset()
) -> str | None:
    """Why `out` cannot be written without destroying something: None when it is new (in a folder
    that is or can be made) or a file this script wrote: a JSON object whose top-level keys are
    `keys`, less any of `added_later` (keys an earlier version of the script did not write yet).
    A file is read only when it is a small regular file: never a device or a pipe."""
    if "\0" in str(out):
        return f"holds a NUL byte; name a file such as {default}"
    try:
        if out.is_symlink():
            return "is a symbolic link; name a file of its own"
        if out.is_dir():
            return f"is a folder; name a file such as {default}"
        if not out.exists():
            return folder_problem(out)
        info = out.stat()
        data = None
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_OWN_BYTES:
            try:
                data = json.loads(out.read_bytes())
            except (ValueError, RecursionError):
                data = None
    except OSError as error:
        return f"cannot be used ({error.strerror or error}); name a file such as {default}"
    if isinstance(data, dict) and keys - added_later <= set(data) <= keys:
        return None
    return (
        f"exists and is not a file this script wrote ({own_keys_text(keys)}); choose another path "
        f"(the default is {default}) or remove the file"
    )


def folder_problem(out: Path) -> str | None:
    """A new file: its nearest existing folder must be a folder this process may write in."""
    for folder in out.absolute().parents:
        if folder.is_dir():
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"its folder {folder.name or folder} is not writable; name a file in a writable folder"
            return None
        if folder.exists() or folder.is_symlink():
            return f"{folder.name} on its path is not a folder; name a file in a folder"
    return None


def write_atomically(out: Path, text: str) -> None:
    """`text` in a temporary file beside `out`, renamed over it: all of it or nothing, no leftovers."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        os.replace(name, out)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Out:
    """Where a benchmark writes its figures, checked (check_out) before its work starts."""

    path: Path
    keys: frozenset[str]
    default: str
    added_later: frozenset[str]

    def problem(self) -> str | None:
        return out_problem(self.path, self.keys, self.default, self.added_later)

    def write(self, figures: dict[str, Any]) -> None:
        """The figures as JSON, atomically, if `out` is still new or this script's own file."""
        unknown = set(figures) - self.keys
        if unknown:  # the script's OUT_KEYS must name what it writes, or its next run refuses its file
            raise RuntimeError(f"the figures hold keys not in the script's OUT_KEYS: {sorted(unknown)}")
        problem = self.problem()  # something may have appeared there during the run
        if problem:
            raise OutRefused(f"--out {self.path}: {problem}; the figures were not written")
        try:
            write_atomically(self.path, json.dumps(figures, indent=2) + "\n")
        except OSError as error:
            raise OutRefused(
                f"--out {self.path}: cannot be written ({error.strerror or error}); name a writable file"
            ) from None


def check_out(
    value: str | Path, keys: Iterable[str], *, default: str | Path, added_later: Iterable[str] = ()
) -> Out:
    """`--out` as the script may write it, or OutRefused (exit 2 through run()) before any work."""
    out = Out(Path(value), frozenset(keys), str(default), frozenset(added_later))
    problem = out.problem()
    if problem:
        raise OutRefused(f"--out {value}: {problem}; nothing was written")
    return out
