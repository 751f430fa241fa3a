"""`textclf use-data FILE`: a team's own file becomes the data in one step (copied into data/raw,
columns and labels in params.yaml, `dvc add`), with real git and DVC; it never replaces a file it
did not write without --force, and a failure changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf import cli as textclf_cli
from textclf.pipeline import own_data, sample_data
from textclf.text import hidden_label_character

SRC = Path(__file__).resolve().parents[2] / "src"
SPAM = [{"body": f"win a prize number {n} now", "kind": "spam"} for n in range(12)] + [
    {"body": f"lunch at {n} tomorrow?", "kind": "ham"} for n in range(12)
]


USE = ("use-data", "../mine/spam.jsonl", "--text-column", "body", "--label-column", "kind")


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def textclf(cwd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "DVC_NO_ANALYTICS": "1"}
    env["PATH"] = path or (str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def clone(tmp_path, repo_root) -> Path:
    """A fresh clone's data side: params.yaml, data.dvc pinning the sample, the sample in data/raw."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert dvc(root, "init", "-q").returncode == 0
    shutil.copy(repo_root / "params.yaml", root / "params.yaml")
    shutil.copy(repo_root / "data.dvc", root / "data.dvc")
    sample_data.write_sample(root / "data/raw")
    (root / "data/.gitignore").write_text("/raw\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "template")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/spam.jsonl").write_text(jsonl(SPAM), encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts and ".dvc" not in path.parts:
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def test_own_file_replaces_the_sample_sets_params_and_is_tracked(clone):
    before = (clone / "params.yaml").read_text(encoding="utf-8").splitlines()

    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (clone / "data/raw").iterdir()) == ["spam.jsonl"]
    params = yaml.safe_load((clone / "params.yaml").read_text(encoding="utf-8"))
    assert params["data"]["text_column"] == "body" and params["data"]["label_column"] == "kind"
    assert params["data"]["labels"] == ["ham", "spam"]
    after = (clone / "params.yaml").read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [new for _, new in changed] == [
        "  text_column: body",
        "  label_column: kind",
        "  labels: [ham, spam]",
    ]
    record = yaml.safe_load((clone / "data.dvc").read_text(encoding="utf-8"))
    assert record["meta"][own_data.META_KEY] == {"spam.jsonl": own_data.md5(clone / "data/raw/spam.jsonl")}
    assert not sample_data.is_pinned_by(clone / "data.dvc")
    status = dvc(clone, "status", "data.dvc", "--json")
    assert status.returncode == 0 and json.loads(status.stdout) == {}, status.stdout
    assert "replaced data/raw/messages.csv" in done.stderr
    assert "git switch -c my-data" in done.stderr and "dvc push" in done.stderr
    assert not [p for p in (clone / "data").iterdir() if p.name.startswith(".use-data")]


def test_a_new_version_of_its_own_file_replaces_it_without_force(clone):
    first = textclf(clone, *USE)
    assert first.returncode == 0, first.stderr
    more = [*SPAM, {"body": "free money", "kind": "spam"}]
    (clone.parent / "mine/spam.jsonl").write_text(jsonl(more), encoding="utf-8")

    again = textclf(clone, *USE)

    assert again.returncode == 0, again.stderr
    assert (clone / "data/raw/spam.jsonl").read_text(encoding="utf-8") == jsonl(more)
    assert yaml.safe_load((clone / "data.dvc").read_text())["meta"][own_data.META_KEY] == {
        "spam.jsonl": own_data.md5(clone / "data/raw/spam.jsonl")
    }


def test_a_file_it_did_not_write_is_never_replaced_without_force(clone):
    first = textclf(clone, *USE)
    assert first.returncode == 0, first.stderr
    with (clone / "data/raw/spam.jsonl").open("a", encoding="utf-8") as handle:  # edited by hand
        handle.write(json.dumps({"body": "my own fix", "kind": "ham"}) + "\n")
    (clone / "data/raw/extra.csv").write_text("body,kind\nhello,ham\n", encoding="utf-8")
    before = snapshot(clone)

    refused = textclf(clone, *USE)

    assert refused.returncode == 2
    assert "data/raw: holds files that use-data did not put there" in refused.stderr
    assert "data/raw/extra.csv" in refused.stderr and "data/raw/spam.jsonl" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert snapshot(clone) == before

    forced = textclf(clone, *USE, "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in (clone / "data/raw").iterdir()) == ["spam.jsonl"]


def test_a_wrong_column_names_the_users_file_and_changes_nothing(clone):
    before = snapshot(clone)

    done = textclf(clone, "use-data", "../mine/spam.jsonl", "--text-column", "text", "--label-column", "kind")

    assert done.returncode == 2
    assert "../mine/spam.jsonl" in done.stderr and "'text'" in done.stderr
    assert ".use-data" not in done.stderr and "Traceback" not in done.stderr
    assert snapshot(clone) == before


def test_labels_that_differ_only_in_case_are_refused(clone):
    rows = [*SPAM, {"body": "WIN NOW", "kind": "Spam"}]
    (clone.parent / "mine/spam.jsonl").write_text(jsonl(rows), encoding="utf-8")
    before = snapshot(clone)

    done = textclf(clone, *USE)

    assert done.returncode == 2
    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())  # unfolded
    # In the file's order, each with its first row (R13A-14).
    assert (
        "labels 'spam' and 'Spam' (first at row 1 (line 1); row 25 (line 25)) differ only in case" in said
    ), said
    assert snapshot(clone) == before


def test_given_labels_keep_their_order_and_must_cover_the_file(clone):
    partial = textclf(clone, *USE, "--labels", "spam")
    assert partial.returncode == 2
    assert "12 rows have labels not in --labels: 'ham'" in partial.stderr

    ordered = textclf(clone, *USE, "--labels", "spam,ham")
    assert ordered.returncode == 0, ordered.stderr
    assert yaml.safe_load((clone / "params.yaml").read_text())["data"]["labels"] == ["spam", "ham"]


@pytest.mark.parametrize("labels", [",,", ",", " , ", ""])
def test_labels_that_name_no_label_are_refused_naming_the_option(clone, labels):
    """`--labels ",,"` was reported as "24 rows have labels not in --labels": the option named no label."""
    before = snapshot(clone)

    done = textclf(clone, *USE, "--labels", labels)

    assert done.returncode == 2
    logged = " ".join(done.stderr.replace("\n[textclf]", " ").split())  # folded at 100 columns
    assert f"--labels {labels!r} names no label: write the classes comma-separated" in logged
    assert "(e.g. --labels spam,ham), or leave --labels out" in logged
    assert "rows have labels not in" not in logged and "Traceback" not in logged
    assert snapshot(clone) == before


def test_a_label_given_twice_is_refused_naming_the_option(clone):
    """ "spam,spam,ham" was refused naming a temporary copy of params.yaml (.use-data.*/params.yaml)."""
    done = textclf(clone, *USE, "--labels", "spam, spam,ham")

    assert done.returncode == 2
    assert "--labels names 'spam' more than once: list each class once" in done.stderr
    assert ".use-data" not in done.stderr


BLANK = st.text(alphabet=st.sampled_from(", \t"), max_size=12)
SPACE = st.text(alphabet=st.sampled_from(" \t"), max_size=3)
# A label as prepare would keep it: no comma, nothing str.strip() removes at either end.
# Labels the label rule takes (textclf.text: no hidden characters, no markup, no formula start):
# this test is about the commas and spaces around them.
LABEL = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp"], blacklist_characters=","
    ),
    min_size=1,
).filter(lambda label: hidden_label_character(label) is None)


@settings(max_examples=200, deadline=None)
@given(text=BLANK, make=st.booleans())
def test_any_value_of_only_commas_and_spaces_names_no_label(text, make):
    names = own_data.MAKE_VARIABLES if make else own_data.OPTIONS
    with pytest.raises(own_data.DataError, match=rf"^{names.labels} .* names no label: ") as refused:
        own_data.given_labels(text, names)
    assert "rows have labels" not in str(refused.value)


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(
        LABEL, min_size=1, max_size=6, unique_by=lambda label: unicodedata.normalize("NFC", label)
    ),
    space=SPACE,
    commas=st.integers(1, 3),
)
def test_distinct_labels_come_back_in_order_whatever_the_commas_and_spaces_around_them(labels, space, commas):
    text = space + ("," * commas).join(space + label + space for label in labels) + "," * (commas - 1)
    assert own_data.given_labels(text) == labels


def test_a_failed_dvc_add_puts_everything_back(clone, tmp_path):
    tools = tmp_path / "failing-dvc"
    tools.mkdir()
    (tools / "dvc").write_text("#!/bin/sh\necho 'ERROR: disk full' >&2\nexit 1\n", encoding="utf-8")
    (tools / "dvc").chmod(0o755)
    before = snapshot(clone)

    done = textclf(clone, *USE, path=str(tools) + os.pathsep + os.environ["PATH"])

    assert done.returncode == 2
    said = " ".join(line.removeprefix("[textclf]").strip() for line in done.stderr.splitlines())  # unfolded
    # DVC's own reason, which `--quiet` hid ("its message is above" with nothing above: R13A-11).
    assert "`dvc add data/raw` failed: disk full; params.yaml, data.dvc and data/raw are as they were" in said
    assert snapshot(clone) == before


def test_a_block_list_of_labels_is_rewritten_whole():
    text = "data:\n  text_column: text\n  labels:\n    - a\n    - b\n\n  seed: 1\nmodel:\n  name: x\n"

    updated = own_data.set_data_keys(text, {"labels": ["ham", "spam"], "label_column": "kind"})

    assert updated.splitlines() == [
        "data:",
        "  label_column: kind",
        "  text_column: text",
        "  labels: [ham, spam]",
        "",
        "  seed: 1",
        "model:",
        "  name: x",
    ]


# --dvc-file: what use-data writes its record into. It overwrote any file (README.md, a file outside
# the repository) with exit 0, and printed the next step's `git add $(id)` as typed.
REFUSED_DVC_FILES = [
    ("README.md", "is not a .dvc file"),
    ("$(id)", "is not a .dvc file"),
    (" ", "names no .dvc file"),
    ("../outside.dvc", "outside the repository"),
    ("notes.dvc", "exists and is not the .dvc file that tracks data/raw"),
]


def test_dvc_file_must_be_a_dvc_file_in_the_repository_never_another_file(clone):
    (clone / "README.md").write_text("my notes\n", encoding="utf-8")
    (clone / "notes.dvc").write_text("outs:\n- path: models\n", encoding="utf-8")
    (clone.parent / "outside.dvc").write_text("mine\n", encoding="utf-8")
    before = snapshot(clone)

    for dvc_file, reason in REFUSED_DVC_FILES:
        refused = textclf(clone, *USE, "--dvc-file", dvc_file)

        message = refused.stderr.replace("\n[textclf]     ", " ")
        assert refused.returncode == 2, refused.stderr
        assert f"--dvc-file {dvc_file!r}: " in message and reason in message
        assert "Traceback" not in refused.stderr
        assert snapshot(clone) == before
        assert (clone.parent / "outside.dvc").read_text(encoding="utf-8") == "mine\n"


def test_force_writes_over_another_dvc_file_and_the_next_step_quotes_the_paths_it_names(clone):
    (clone / "$(id) notes.dvc").write_text("not yaml: [\n", encoding="utf-8")
    (clone / "data.dvc").unlink()  # no other .dvc file tracks data/raw (round 9, U-d7)

    forced = textclf(clone, *USE, "--dvc-file", "$(id) notes.dvc", "--force")

    assert forced.returncode == 0, forced.stderr
    written = {"spam.jsonl": own_data.md5(clone / "data/raw/spam.jsonl")}
    assert own_data.recorded(clone / "$(id) notes.dvc") == written
    line = next(line for line in forced.stderr.splitlines() if "git add" in line)
    command = line.removeprefix("[textclf]").strip()
    assert shlex.split(command)[:4] == ["git", "add", "$(id) notes.dvc", "params.yaml"]


@settings(max_examples=100, deadline=None)
@given(name=st.text(min_size=1, max_size=12).filter(lambda text: "\x00" not in text))
def test_any_path_in_the_next_step_pastes_back_as_itself(name):
    lines = textclf_cli._use_data_next(Path(f"{name}.yaml"), Path(f"{name}.dvc"))

    command = next(line for line in lines if "git add" in line).strip()
    assert shlex.split(command)[2:4] == [str(Path(f"{name}.dvc")), str(Path(f"{name}.yaml"))]


PIECES = ".. . data raw .git .dvc x.dvc data.dvc README.md $(id) - link.dvc mine.dvc other.dvc raw.dvc ~ /"
PIECE = st.sampled_from([*PIECES.split(" "), " ", "", "\n"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PIECE, min_size=1, max_size=4), leading=st.booleans())
def test_dvc_file_is_refused_unless_a_dvc_file_inside_the_repository_that_is_absent_or_tracks_the_data(
    parts, leading, tmp_path_factory
):
    top = tmp_path_factory.mktemp("dvcfile")
    root = top / "repo"
    (root / "data/raw").mkdir(parents=True)
    (root / "data.dvc").write_text("outs:\n- path: data/raw\n", encoding="utf-8")
    (root / "data/raw.dvc").write_text("outs:\n- path: raw\n", encoding="utf-8")
    (root / "README.md").write_text("my notes\n", encoding="utf-8")
    (root / "other.dvc").write_text("outs:\n- path: models\n", encoding="utf-8")
    (root / "mine.dvc").write_text(own_data.with_record("", {"a.csv": "0" * 32}), encoding="utf-8")
    (top / "outside.dvc").write_text("mine\n", encoding="utf-8")
    (root / "link.dvc").symlink_to(top / "outside.dvc")
    value = ("/" if leading else "") + "/".join(parts)

    with contextlib.chdir(root):
        try:
            path = own_data.check_dvc_file(value, Path("data/raw"))
        except own_data.DataError as error:
            assert str(error).startswith(f"--dvc-file {value!r}: ")
            return
        resolved = path.resolve()
        assert path.name.endswith(".dvc") and path.name != ".dvc"
        assert resolved.is_relative_to(root.resolve())
        assert resolved.relative_to(root.resolve()).parts[0] not in (".git", ".dvc")
        assert not path.exists() or resolved in {root / "data.dvc", root / "data/raw.dvc", root / "mine.dvc"}
