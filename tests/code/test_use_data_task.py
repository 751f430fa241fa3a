"""`textclf use-data --task NAME` (make's TASK=) sets params.yaml's data.task with params.yaml's own
rule for it, so a newcomer's own data is a new task in one step (issue 29: nothing said how to start
a new task); without it the command says which task stays."""

from __future__ import annotations

import pytest
import yaml

from tests.code.test_use_data import USE, clone, snapshot, textclf  # noqa: F401 (the fixture)
from textclf import cli
from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError


def unfolded(stderr: str) -> str:
    return " ".join(stderr.replace("\n[textclf]", " ").split())


def test_task_sets_data_task_and_nothing_else_beyond_use_data_s_keys(clone):  # noqa: F811
    before = (clone / "params.yaml").read_text(encoding="utf-8").splitlines()

    done = textclf(clone, *USE, "--task", "spam")

    assert done.returncode == 0, done.stderr
    after = (clone / "params.yaml").read_text(encoding="utf-8").splitlines()
    changed = [new for old, new in zip(before, after, strict=True) if old != new]
    assert changed == ["  text_column: body", "  label_column: kind", "  task: spam", "  labels: [ham, spam]"]
    assert yaml.safe_load("\n".join(after))["data"]["task"] == "spam"
    assert "[textclf] params.yaml: data.task 'spam'" in done.stderr.splitlines()


@pytest.mark.parametrize("task", ["Spam", "spam filter", "-x", "a" * 41, ""])
def test_a_task_params_yaml_would_refuse_is_refused_first(clone, task):  # noqa: F811
    before = snapshot(clone)

    done = textclf(clone, *USE, f"--task={task}")

    assert done.returncode == 2
    said = unfolded(done.stderr)
    assert f"--task {task!r}: must be a short name of the task: 1 to 40 lower-case letters" in said, said
    assert snapshot(clone) == before


def test_make_names_its_variable():
    with pytest.raises(DataError, match=r"^TASK= 'Spam': must be a short name .*\(TASK=spam\)"):
        own_data.given_task("Spam", own_data.MAKE_VARIABLES)


def test_without_task_it_says_which_task_stays(clone):  # noqa: F811
    done = textclf(clone, *USE)

    assert done.returncode == 0, done.stderr
    said = unfolded(done.stderr)
    assert (
        "params.yaml: data.task stays 'support-intents'; if this is another task, name it (--task NAME)"
        in said
    )
    assert yaml.safe_load((clone / "params.yaml").read_text())["data"]["task"] == "support-intents"


def test_the_option_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["use-data", "--help"])
    assert "--task TASK" in capsys.readouterr().out
