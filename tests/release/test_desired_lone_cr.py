"""deploy/production.yaml with a carriage return that is not a CRLF line end, and a push's `before`
that is not a commit sha (issue 27, round 11, F-v and T-c).

A lone CR is a line break to YAML and not to git, its diffs or GitHub, and a terminal returns the
cursor there: a file a reviewer reads as a comment naming one commit declared another. NEL, U+2028
and U+2029 were refused already (round 10, F-r); CRLF line ends are one line end and stay fine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from textclf.release import desired

COMMIT = "a" * 40
OTHER = "c" * 40
DIGEST = "b" * 64


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"# previous release, for the record:\rcommit: {OTHER}\nsha256: {DIGEST}\n", 1),
        (f"commit: {OTHER}\r# previous release, for the record: commit: {COMMIT}\nsha256: {DIGEST}\n", 1),
        (f"# header\ncommit: {COMMIT}\nsha256: {DIGEST}\r# a note\n", 3),
        (f"commit: {COMMIT}\r\nsha256: {DIGEST}\r\r\n", 2),
    ],
)
def test_a_carriage_return_without_a_line_feed_is_refused_naming_its_line(text: str, line: int) -> None:
    with pytest.raises(desired.DesiredStateError) as refused:
        desired.parse(text)
    message = str(refused.value)
    assert message.startswith(f"deploy/production.yaml: line {line}: a line break YAML reads"), message
    assert "(U+000D)" in message and "delete it" in message and "\n" not in message, message


def test_the_file_as_read_is_refused_too(tmp_path: Path) -> None:
    """read() takes the bytes as they are: no newline translation turns the CR into a line end."""
    path = tmp_path / "production.yaml"
    path.write_bytes(f"# previous:\rcommit: {OTHER}\nsha256: {DIGEST}\n".encode())
    with pytest.raises(desired.DesiredStateError, match=r"line 1: a line break .*\(U\+000D\)"):
        desired.read(path)


def test_crlf_line_ends_are_one_line_end() -> None:
    text = desired.render(desired.Desired(COMMIT, DIGEST)).replace("\n", "\r\n")
    assert desired.parse(text) == desired.Desired(COMMIT, DIGEST)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repository(tmp_path: Path, monkeypatch) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "deploy").mkdir()
    (tmp_path / desired.DESIRED_FILE).write_text(desired.render(desired.Desired(None, None)))
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_before_that_is_not_utf8_counts_as_changed_without_a_traceback(repository: Path) -> None:
    """`make production-changed BEFORE=$'\\xff'`: git's error echoed the bytes, which were decoded
    as strict UTF-8 (a UnicodeDecodeError traceback)."""
    done = subprocess.run(
        [sys.executable, "-m", "textclf.release.desired", "changed", b"\xff"],
        capture_output=True,
        text=True,
        cwd=repository,
    )
    assert (done.returncode, done.stdout) == (0, "true\n"), done.stderr
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("before", ["HEAD", "main", "--output=x", "-p", COMMIT[:12], COMMIT + "\n"])
def test_only_a_full_commit_sha_is_handed_to_git(repository: Path, before: str) -> None:
    """GitHub's `before` is a full sha; anything else is unknown and counts as changed (the
    production job converges to the file), never an option or a ref git would resolve."""
    assert desired.changed(before) is True
    assert not (repository / "x").exists()
    head = git(repository, "rev-parse", "HEAD").strip()
    assert desired.changed(head) is False
