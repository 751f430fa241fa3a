"""Production's declared state (deploy/production.yaml): what it accepts, and when a push changed it.
The release of the declared model is exercised end to end by the rehearsal (tests/e2e)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from textclf.release import desired

REPO = Path(__file__).resolve().parents[2]
COMMIT = "a" * 40
DIGEST = "b" * 64


def test_the_committed_file_parses() -> None:
    declared = desired.read(REPO / "deploy" / "production.yaml")
    assert declared.commit is None or desired.SHA.fullmatch(declared.commit)


def test_render_and_parse_round_trip() -> None:
    for state in (desired.Desired(None, None), desired.Desired(COMMIT, DIGEST)):
        assert desired.parse(desired.render(state)) == state


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("commit: abc\nsha256: " + DIGEST, "40-character"),
        (f"commit: {COMMIT}\nsha256: 123", "64-hex"),
        (f"commit: {COMMIT}\n", "64-hex"),
        (f"commit: {COMMIT}\nsha256: {DIGEST}\nextra: 1\n", "keys commit and sha256 only"),
        ("- a list\n", "keys commit and sha256 only"),
        ("commit: [unclosed\n", "not YAML"),
        (f"commit: {COMMIT.upper()}\nsha256: {DIGEST}\n", "40-character"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(desired.DesiredStateError, match=message):
        desired.parse(text, "deploy/production.yaml")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_changed_compares_the_push_with_its_previous_head(tmp_path: Path, monkeypatch) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "production.yaml").write_text(desired.render(desired.Desired(None, None)))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    first = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "README.md").write_text("docs\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "docs")
    docs = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "deploy" / "production.yaml").write_text(desired.render(desired.Desired(COMMIT, DIGEST)))
    git(tmp_path, "commit", "-q", "-am", "release")
    monkeypatch.chdir(tmp_path)
    assert desired.changed(docs) is True  # the file moved since the previous head
    git(tmp_path, "checkout", "-q", docs)
    assert desired.changed(first) is False  # a README-only push
    assert desired.changed("0" * 40) is True  # a new branch: converge to the file
    assert desired.changed("c" * 40) is True  # a head this clone does not have: converge
