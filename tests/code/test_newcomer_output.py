"""What a newcomer reads last (issue 29): `make repro` ends with the project's summary and its steps
to keep the run, not DVC's hint (`git add dvc.lock`, `dvc push`, which fails offline); under
`make use-data` those steps come with the summary after training, not before it; every command's
error is folded at 100 columns under its `[textclf]` prefix. Real make, the project's Makefile, git
and DVC, against a stand-in .venv (tests/code/test_use_data_make.py says why)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.code.conftest import SPAM_EVAL
from tests.code.test_use_data import USE, clone, textclf  # noqa: F401 (clone: the fixture)
from tests.review.conftest import Project, new_project
from textclf import cli
from textclf.review import dvc_output, summary

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
HINT = ("To track the changes with git", "\tgit add dvc.lock", "autostage", "Use `dvc push` to send")
# A stage that says something on both streams and writes the metrics the summary reads.
STAGE = """stages:
  evaluate:
    cmd: >-
      echo stage says hello && echo stage warns >&2 && mkdir -p metrics
      && cp eval.src.json metrics/eval.json
    deps:
      - eval.src.json
    outs:
      - metrics/eval.json:
          cache: false
"""


def stand_in_venv(root: Path) -> None:
    """.venv/bin with `textclf` and `python` (this checkout's code, this interpreter) and `dvc`."""
    tools = root / ".venv/bin"
    tools.mkdir(parents=True)
    for name, run in (("textclf", "-m textclf.cli "), ("python", "")):
        (tools / name).write_text(
            f'#!/bin/sh\nPYTHONPATH="{SRC}" exec "{sys.executable}" {run}"$@"\n', encoding="utf-8"
        )
        (tools / name).chmod(0o755)
    (tools / "dvc").symlink_to(Path(sys.executable).parent / "dvc")


def make(root: Path, *targets: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env.update(DVC_NO_ANALYTICS="1", TEXTCLF_DATA_BUCKET="")
    return subprocess.run(
        [
            *("make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-o", ".venv/.installed"),
            *(*targets, "CHAMPION=main", "REPORT_BASE=main"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def pipeline(tmp_path, repo_root) -> Project:
    """A committed project on main whose one stage writes metrics/eval.json (a spam filter's)."""
    project = new_project(tmp_path / "repo", repo_root)
    params = project.params()
    params["data"]["labels"] = ["ham", "spam"]
    project.write_params(params)
    project.write("dvc.yaml", STAGE)
    project.write_json("eval.src.json", SPAM_EVAL)
    project.write("data/raw/.keep", "")  # make's `data` prerequisite: data/raw is there
    project.write(".gitignore", "/.venv/\n")
    project.commit("main: the template")
    stand_in_venv(project.root)
    return project


def test_make_repro_ends_with_the_summary_and_its_steps_not_dvcs_hint(pipeline):
    done = make(pipeline.root, "repro")

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    # DVC's stage output stays: its Running line, the command, what the stage prints on both streams.
    assert "Running stage 'evaluate':" in out and "stage says hello" in out, done.stdout
    assert "stage warns" in done.stderr
    assert not [line for line in out if any(hint in line for hint in HINT)], done.stdout
    keep = out.index("To keep this run:")
    assert out[keep - 1].startswith("  make serve ")  # after the summary's other next steps
    assert out[keep + 1 :] == [
        "  git switch -c my-data  # you are on main; the report compares with main",
        "  git add dvc.lock metrics && git commit",
        "  dvc push               # once a DVC remote is set up (make setup-cloud); offline, skip it",
    ]
    assert max(len(line) for line in out[out.index("=" * 30 + " textclf: this run " + "=" * 30) :]) <= 100

    pipeline.commit("the run")
    again = make(pipeline.root, "repro")  # nothing changed: DVC says so; nothing is left to commit

    assert again.returncode == 0, again.stderr
    assert "Data and pipelines are up to date." in again.stdout.splitlines()
    assert again.stdout.splitlines()[-1].startswith("Nothing to commit: ")


def test_a_failed_stage_shows_dvcs_error_and_no_summary(pipeline):
    pipeline.write("dvc.yaml", STAGE.replace("echo stage says hello", "echo broken && exit 3"))

    done = make(pipeline.root, "repro")

    assert done.returncode != 0
    assert "broken" in done.stdout
    assert "ERROR" in done.stderr and "failed to reproduce 'evaluate'" in done.stderr, done.stderr
    assert "textclf: this run" not in done.stdout


def hint_filtered(text: str) -> str:
    sink = io.BytesIO()
    dvc_output.without_hint(io.BytesIO(text.encode()), sink)
    return sink.getvalue().decode()


def test_only_dvcs_closing_hint_is_dropped():
    stages = (
        "Running stage 'prepare':\n> textclf prepare\nrows\n\n  indented\n\nUpdating lock file 'dvc.lock'\n"
    )
    hint = (
        "\nTo track the changes with git, run:\n\n\tgit add dvc.lock .gitignore\n\n"
        "To enable auto staging, run:\n\n\tdvc config core.autostage true\n"
        "Use `dvc push` to send your updates to remote storage.\n"
    )

    assert hint_filtered(stages + hint) == stages
    assert hint_filtered(stages + hint + "after\n") == stages + "after\n"
    assert hint_filtered(stages) == stages
    assert hint_filtered("Data and pipelines are up to date.\n") == "Data and pipelines are up to date.\n"
    assert hint_filtered("no newline at the end") == "no newline at the end"


def test_dvc_push_is_named_with_the_remote_set_up(pipeline, monkeypatch):
    monkeypatch.chdir(pipeline.root)
    pipeline.write_json("metrics/eval.json", SPAM_EVAL)
    assert summary.keep_lines()[-1].startswith("  dvc push               # once a DVC remote is set up")

    pipeline.write(
        ".dvc/config.local",
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://our-data/dvc\n",
    )

    assert summary.keep_lines()[-1] == (
        "  dvc push               # the data and model to the DVC remote, s3://our-data/dvc"
    )


def test_on_a_branch_with_nothing_changed_there_is_nothing_to_keep(pipeline, monkeypatch):
    monkeypatch.chdir(pipeline.root)
    pipeline.git("switch", "-q", "-c", "mine")

    assert summary.keep_lines() == [
        "Nothing to commit: data.dvc, params.yaml, dvc.lock, metrics, plots are as committed"
    ]
    pipeline.write("params.yaml", (pipeline.root / "params.yaml").read_text() + "# tuned\n")
    assert summary.keep_lines()[:2] == ["To keep this run:", "  git add params.yaml && git commit"]


def test_under_make_use_data_leaves_the_steps_to_keep_to_the_summary(clone, monkeypatch):  # noqa: F811
    monkeypatch.setenv(cli.USE_DATA_VIA_MAKE, "1")

    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    lines = [line.removeprefix("[textclf] ") for line in done.stderr.splitlines()]
    assert lines[-2:] == [
        "make repro runs now: prepare, train, evaluate; the gate says if this is a new task",
        "its summary ends with the steps to keep the result",
    ]
    assert not [line for line in lines if "git add" in line or "dvc push" in line]

    monkeypatch.chdir(clone)  # what that summary then says to keep (the template's files changed)
    keep = summary.keep_lines()
    assert keep[1:3] == [
        "  git switch -c my-data  # you are on main; the report compares with main",
        "  git add data.dvc params.yaml && git commit",
    ]


def test_the_repro_recipe_filters_dvcs_output_only():
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("\nrepro:", 1)[1].split("\n\n", 1)[0]

    assert "dvc repro | $(BIN)/python -m textclf.review.dvc_output" in recipe
    assert "2>" not in recipe  # errors reach the terminal as DVC prints them
