"""A build step of docker/train.Dockerfile: what pip would install, split into the entries of the
hashed lock (installed with --require-hashes) and torch's CUDA runtime (which the lock cannot hold).

    python hashed_requirements.py LOCK REPORT HASHED CUDA [NAME ...]

LOCK is requirements.lock (`name==version \\` lines, each followed by its `--hash=sha256:...`
lines). REPORT is the JSON of `pip install --dry-run --report` for the image's requirements under
the lock's versions, with torch's CUDA build already installed. Every package in the report is
written to HASHED as the lock's entry, hashes included, when the lock holds it at the version pip
chose; the packages of torch's CUDA build (nvidia-*, triton: the lock's torch is the CPU build, and
PyTorch's CUDA index, which serves them, is not one the lock is made from) are written to CUDA as
exact pins. NAME adds lock entries that the report does not list (the build backend, setuptools,
for `pip install --no-build-isolation`). Anything else (a package the lock does not hold, or holds
at another version) fails the build with its name: the image installs nothing that was not locked.
Standard library only: it runs in the bare base image.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==(\S+?)(?: \\)?$")
# torch's CUDA build's own dependencies (its wheel's Requires-Dist on Linux x86_64).
CUDA_RUNTIME = re.compile(r"nvidia-[a-z0-9-]+|triton|cuda-[a-z0-9-]+")


class LockError(ValueError):
    """The report asks for a package the lock does not hold as it is; the message names it."""


def normalised(name: str) -> str:
    """PEP 503: names compare lower-case with runs of -, _ and . as one hyphen."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> dict[str, tuple[str, str]]:
    """{normalised name: (version, the entry's lines)} of a hashed lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = ENTRY.match(line)
        if match:
            current = [line]
            entries[normalised(match[1])] = (match[2], current)
        elif current is not None and line.startswith((" ", "\t")) and line.strip():
            current.append(line)
        else:
            current = None
    return {name: (version, "\n".join(lines)) for name, (version, lines) in entries.items()}


def split(lock_text: str, report: dict, extra: list[str]) -> tuple[str, str]:
    """(the hashed requirements, the CUDA pins) for what `report` installs plus `extra`."""
    lock = read_lock(lock_text)
    wanted: dict[str, str | None] = {}
    for item in report.get("install", []):
        metadata = item.get("metadata", {})
        wanted[normalised(metadata["name"])] = metadata["version"]
    for name in extra:
        wanted.setdefault(normalised(name), None)
    hashed, cuda, refused = [], [], []
    for name, version in sorted(wanted.items()):
        locked = lock.get(name)
        if locked and version in (None, locked[0]):
            hashed.append(locked[1])
        elif CUDA_RUNTIME.fullmatch(name) and version is not None:
            cuda.append(f"{name}=={version}")
        else:
            found = f"at {locked[0]}" if locked else "not at all"
            refused.append(f"{name} {version or ''} (the lock holds it {found})".replace("  ", " "))
    if refused:
        raise LockError(
            "pip would install packages requirements.lock does not hold as they are: "
            + "; ".join(refused)
            + ". Run `make lock` after changing pyproject.toml, and rebuild."
        )
    return "".join(entry + "\n" for entry in hashed), "".join(pin + "\n" for pin in cuda)


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    lock, report, hashed, cuda, *extra = argv
    try:
        hashed_text, cuda_text = split(
            Path(lock).read_text(encoding="utf-8"),
            json.loads(Path(report).read_text(encoding="utf-8")),
            extra,
        )
    except LockError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    Path(hashed).write_text(hashed_text, encoding="utf-8")
    Path(cuda).write_text(cuda_text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
