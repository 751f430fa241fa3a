"""The retrain importer against hostile S3 keys (issue 14 point 1, issue 12 point 6): every key is
checked before anything is downloaded, a bad one is named and imports nothing, and no file outside
the raw data folder's incoming/ is ever written, replaced or deleted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import boto3
import pytest

from tests.workflows.conftest import DATA, sample_rows, write_rows
from textclf.config import load_params
from textclf.release import retrain


@pytest.fixture
def folder(tmp_path, buckets, repo_root, monkeypatch) -> Path:
    """A project root with the template's params and a raw data folder; the test runs inside it."""
    root = tmp_path / "project"
    write_rows(root / "data/raw/messages.csv", sample_rows("first"))
    (root / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(root)
    return root


def put(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=DATA, Key=key, Body=body)


def good_csv(tag: str = "second") -> bytes:
    lines = ["text,label", *(f"{text},{label}" for text, label in sample_rows(tag))]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def import_now():
    params = load_params()
    return retrain.import_incoming(params.aws.resolved(), params.data)


def tree(root: Path) -> dict[str, str]:
    """Every file below root with a hash of its bytes (links by their target)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            files[str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("incoming//tmp/textclf-absolute.csv", "an empty segment"),
        ("incoming/a//b.csv", "an empty segment"),
        ("incoming/../params.csv", r"a `\.` or `\.\.` segment"),
        ("incoming/x/../../../../escape.csv", r"a `\.` or `\.\.` segment"),
        ("incoming/./same.csv", r"a `\.` or `\.\.` segment"),
        ("incoming/..\\..\\win.csv", "a backslash or a control character"),
        ("incoming/tab\there.csv", "a backslash or a control character"),
        ("incoming/c1\x9bhere.csv", "a backslash or a control character"),
        ("incoming/x\u202eexe.csv", r"a bidirectional control character \(U\+202E\)"),
        ("incoming/a\u2066b.csv", r"a bidirectional control character \(U\+2066\)"),
        ("incoming/" + "n" * 300 + ".csv", "a segment longer than a file name"),
        ("incoming/\ufeffdata.csv", r"an invisible character \(U\+FEFF ZERO WIDTH NO-BREAK SPACE\)"),
        ("incoming/data\u200b.csv", r"an invisible character \(U\+200B ZERO WIDTH SPACE\)"),
        ("incoming/a\u2028b.csv", r"an invisible character \(U\+2028 LINE SEPARATOR\)"),
        ("incoming/a\u2029b.csv", r"an invisible character \(U\+2029 PARAGRAPH SEPARATOR\)"),
    ],
)
def test_a_key_that_could_lead_elsewhere_is_named_and_imports_nothing(folder, tmp_path, key, problem):
    put("incoming/fine.csv", good_csv())  # a good file beside it is not imported either
    put(key, good_csv("third"))
    before = tree(tmp_path)

    with pytest.raises(retrain.RetrainError, match=rf"s3 key '.*' cannot be imported: it has {problem}"):
        import_now()

    assert tree(tmp_path) == before
    assert not Path("/tmp/textclf-absolute.csv").exists()


def test_the_issues_absolute_key_never_touches_the_file_it_names(folder, tmp_path):
    """`incoming//<absolute path>` was downloaded over that path, then deleted as `unchanged`."""
    victim = tmp_path / "victim.csv"
    victim.write_bytes(good_csv())
    put(f"incoming/{victim}", victim.read_bytes())

    with pytest.raises(retrain.RetrainError, match=rf"s3 key 'incoming/{victim}' cannot be imported"):
        import_now()

    assert victim.read_bytes() == good_csv()


def linked(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize(
    ("setup", "key", "message"),
    [
        (lambda raw, out: (raw / "incoming").symlink_to(out), "incoming/a.csv", "incoming is in the way"),
        (lambda raw, out: linked(raw / "incoming/sub", out), "incoming/sub/a.csv", "outside"),
        (lambda raw, out: linked(raw / "incoming/a.csv", out / "a.csv"), "incoming/a.csv", "outside"),
        (lambda raw, out: (raw / "incoming/a.csv").mkdir(parents=True), "incoming/a.csv", "is in the way"),
        (lambda raw, out: write_rows(raw / "incoming/x.csv", []), "incoming/x.csv/y.csv", "is in the way"),
    ],
)  # fmt: skip
def test_links_and_files_in_the_way_are_refused(folder, tmp_path, setup, key, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.csv").write_bytes(b"text,label\nkeep me,billing\n")
    setup(folder / "data/raw", outside)
    put(key, good_csv())
    before = tree(tmp_path)

    with pytest.raises(retrain.RetrainError, match=message):
        import_now()

    assert tree(tmp_path) == before


def test_a_key_that_is_a_file_and_a_folder_at_once(folder):
    put("incoming/a.csv", good_csv())
    put("incoming/a.csv/b.csv", good_csv("third"))
    with pytest.raises(retrain.RetrainError, match=r"s3 key 'incoming/a.csv/b.csv' cannot be stored"):
        import_now()
    assert not (folder / "data/raw/incoming").exists()


def test_two_keys_equal_in_nfc_form_are_named_and_import_nothing(folder, tmp_path):
    put("incoming/caf\u00e9.csv", good_csv())  # é as one character
    put("incoming/cafe\u0301.csv", good_csv("third"))  # e and a combining acute accent
    before = tree(tmp_path)
    with pytest.raises(retrain.RetrainError) as refused:
        import_now()
    message = str(refused.value)
    assert "'incoming/cafe\u0301.csv' and 'incoming/caf\u00e9.csv'" in message, message  # S3's order
    assert "equal in NFC form" in message and "rename one (nothing was imported)" in message, message
    assert tree(tmp_path) == before


def test_ordinary_nested_keys_still_import(folder):
    put("incoming/2026/12/batch one.csv", good_csv())
    put("incoming/notes/README.md", b"not data")
    summary = import_now()
    assert summary.new == ["incoming/2026/12/batch one.csv"]
    assert summary.skipped == ["incoming/notes/README.md"]
    assert (folder / "data/raw/incoming/2026/12/batch one.csv").read_bytes() == good_csv()


def test_a_missing_bucket_is_one_message_naming_it(folder, monkeypatch):
    monkeypatch.setenv("TEXTCLF_DATA_BUCKET", "no-such-bucket-here")
    with pytest.raises(retrain.RetrainError, match=r"s3://no-such-bucket-here/incoming/: .*NoSuchBucket"):
        import_now()


def test_a_disk_that_fills_half_way_imports_nothing(folder, tmp_path, monkeypatch):
    """Two new files, the second's copy fails (a full disk): neither reaches the dataset, no copy
    is left behind, and the message names the file and what to do."""
    put("incoming/a.csv", good_csv("second"))
    put("incoming/b.csv", good_csv("third"))
    before = tree(folder / "data")
    copy = retrain.shutil.copyfile
    copies: list[str] = []

    def full_disk(source, destination, *args, **kwargs):
        copies.append(str(destination))
        if len(copies) == 2:
            Path(destination).write_bytes(b"half")  # what a full disk leaves
            raise OSError(28, "No space left on device")
        return copy(source, destination, *args, **kwargs)

    monkeypatch.setattr(retrain.shutil, "copyfile", full_disk)
    with pytest.raises(
        retrain.RetrainError, match=r"No space left on device\); nothing was imported: free space"
    ):
        import_now()

    assert len(copies) == 2
    assert tree(folder / "data") == before


def test_a_rename_that_fails_leaves_no_copies_and_names_what_was_placed(folder, monkeypatch):
    put("incoming/a.csv", good_csv("second"))
    put("incoming/b.csv", good_csv("third"))
    replace = Path.replace
    calls: list[Path] = []

    def failing_second(self, target):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", failing_second)
    with pytest.raises(
        retrain.RetrainError, match=r"cannot be replaced \(Input/output error\) after .*a\.csv"
    ):
        import_now()

    leftovers = [p.name for p in (folder / "data").rglob("*") if p.name.endswith(".incoming")]
    assert not leftovers
    assert all(".tmp" in p.name for p in calls)  # hidden from DVC by .dvcignore (`**/.*.tmp*`)
