"""A checkout with Git for Windows' default line ends keeps the bytes DVC hashed (issue 27, R12-15).

dvc.lock records the md5 of each dependency's bytes; with `core.autocrlf=true` (Git for Windows'
default) git checks text out with CR LF unless the repository's .gitattributes says otherwise, and
every stage would then read as changed. The clone below is what such a user gets.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# A stage's code, a git-tracked metrics output, the lock and the params the stages read.
FILES = ["src/textclf/verdict.py", "metrics/eval.json", "dvc.lock", "params.yaml", "plots/confusion.csv"]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def test_a_crlf_checkout_writes_the_committed_bytes(repo_root: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", "--shared", "--config", "core.autocrlf=true", str(repo_root), str(clone))
    for name in FILES:
        committed = git("-C", str(clone), "cat-file", "blob", f"HEAD:{name}").encode()
        assert b"\r" not in committed, name
        assert (clone / name).read_bytes() == committed, f"{name} was checked out with other line ends"
