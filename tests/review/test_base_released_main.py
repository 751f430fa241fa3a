"""A local main ahead of origin/main held this model's own metrics: the gate's champion, read from
main, was the model itself, so the champion check passed whatever the model (review of round 9, F10
second half). The base is what main released: origin/main when the local main is not at it (ahead,
behind or diverged), with a note naming both commits; a main at origin/main, or a clone without
origin/main, compares with main as before."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.review.conftest import MAIN_DATA, MAIN_EVAL, Project, enter, eval_metrics, new_project
from textclf import cli
from textclf.config import AwsParams, load_params
from textclf.review import champion, summary

AWS = AwsParams(artifacts_bucket="textclf-test-artifacts")
# The same three classes as MAIN_EVAL, macro-F1 about 0.88 against main's 0.92: above every
# threshold, below the champion by more than the tolerance (0.01).
WORSE_EVAL = eval_metrics(
    {
        "billing": {"billing": 17, "returns": 3},
        "delivery": {"delivery": 19, "billing": 1},
        "returns": {"returns": 16, "billing": 4},
    }
)


@pytest.fixture
def released(tmp_path: Path, repo_root: Path, monkeypatch, no_aws) -> Project:
    """main with MAIN_EVAL's model pushed to origin (what main released); nothing else yet."""
    remote = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    project = new_project(tmp_path / "repo", repo_root)
    project.write_outputs(MAIN_EVAL, MAIN_DATA, steps=200, final_loss=0.31)
    project.commit("main: the released model")
    project.git("remote", "add", "origin", str(remote))
    project.git("push", "-q", "origin", "main")
    enter(project, monkeypatch)
    return project


def commit_worse_model(project: Project, message: str = "a worse model, committed on main") -> str:
    project.write_outputs(WORSE_EVAL, MAIN_DATA, steps=200, final_loss=0.4)
    return project.commit(message)


def test_a_model_committed_on_main_and_not_pushed_is_not_its_own_champion(released: Project) -> None:
    pushed = released.git("rev-parse", "origin/main")
    mine = commit_worse_model(released)  # local main is one commit ahead of origin/main

    lookup = champion.find(AWS, "main", "main")

    assert lookup.champion is not None
    assert lookup.champion.metrics == MAIN_EVAL, "compared with itself"
    assert lookup.champion.location == "origin/main:metrics/eval.json"
    assert (
        f"local main ({mine[:12]}) is 1 commit ahead of origin/main ({pushed[:12]}), not pushed, so not "
        "released: compared with origin/main, what main released" in lookup.note
    ), lookup.note


def test_the_gate_fails_a_worse_model_committed_on_main(released: Project, capsys) -> None:
    """`make gate` on main (REPORT_BASE=main, the default, which the make check lets through)."""
    commit_worse_model(released)

    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--base", "main", "--champion", "main"])

    assert exit_.value.code == 1
    verdict = json.loads((released.root / "reports/gate.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "fail"
    assert verdict["champion"]["macro_f1"] == MAIN_EVAL["macro_f1"]
    assert "compared with origin/main, what main released" in verdict["notes"][0]


def test_the_summary_says_what_it_compared_with(released: Project) -> None:
    commit_worse_model(released)

    text = "\n".join(summary.lines(load_params(), "main", "main"))

    assert "Gate: FAIL (thresholds and main's macro_f1)" in text, text
    assert "compared with origin/main, what main released" in " ".join(text.split())


def test_the_report_compares_with_origin_main_and_says_why(released: Project) -> None:
    pushed = released.git("rev-parse", "origin/main")
    commit_worse_model(released)

    assert cli.main(["report", "--base", "main", "--champion", "main"]) == 0

    report = (released.root / "reports/report.md").read_text(encoding="utf-8")
    assert report.startswith("## ❌ Gate failed"), report[:300]
    assert f"Compared with: `origin/main` at {pushed[:12]} (local main (" in report
    assert "not pushed, so not released" in report
    gate = json.loads((released.root / "reports/gate.json").read_text(encoding="utf-8"))
    assert gate["champion"]["macro_f1"] == MAIN_EVAL["macro_f1"]


def test_a_branch_still_at_an_unpushed_main_compares_with_origin_main(released: Project) -> None:
    """HEAD on a branch made from the unpushed main (REPORT_BASE=HEAD is main's commit: make lets
    it through); the base's name is in the note."""
    commit_worse_model(released)
    released.git("checkout", "-q", "-b", "work")

    lookup = champion.find(AWS, "HEAD", "main")

    assert lookup.champion.metrics == MAIN_EVAL
    assert ", the base 'HEAD' names) is 1 commit ahead of origin/main" in lookup.note, lookup.note


def test_a_main_behind_or_diverged_from_origin_main_compares_with_origin_main(released: Project) -> None:
    """origin/main moved on (another PR released a model): the stale local main is not what main
    released either."""
    old_main = released.git("rev-parse", "main")
    released.git("checkout", "-q", "-b", "elsewhere")
    newer = commit_worse_model(released, "another PR's model, released")
    released.git("push", "-q", "origin", "elsewhere:main")
    released.git("fetch", "-q", "origin")
    released.git("checkout", "-q", "main")
    assert released.git("rev-parse", "origin/main") == newer

    behind = champion.find(AWS, "main", "main")
    assert behind.champion.metrics == WORSE_EVAL  # what main released now
    assert f"local main ({old_main[:12]}) is 1 commit behind origin/main" in behind.note
    assert "git pull updates it" in behind.note

    released.write("notes.txt", "a local commit\n")
    released.commit("a local commit on main")
    diverged = champion.find(AWS, "main", "main")
    assert diverged.champion.metrics == WORSE_EVAL
    assert f"has diverged from origin/main ({newer[:12]}): compared with origin/main" in diverged.note


def test_a_main_at_origin_main_or_without_it_compares_with_main_as_before(released: Project) -> None:
    at_origin = champion.find(AWS, "main", "main")
    assert at_origin.champion.location == "main:metrics/eval.json"
    assert "origin/main" not in at_origin.note
    assert champion.released_base("main") == champion.Base("main")

    released.git("remote", "remove", "origin")  # no origin/main: nothing says what was released
    commit_worse_model(released)
    assert champion.released_base("main") == champion.Base("main")
    assert champion.find(AWS, "main", "main").champion.metrics == WORSE_EVAL


def test_other_bases_are_left_as_asked(released: Project) -> None:
    commit_worse_model(released)
    for base in ("origin/main", "HEAD~1"):
        assert champion.released_base(base) == champion.Base(base)
    # A name git cannot read is resolve_ref's to refuse, as before.
    assert champion.released_base("-x") == champion.Base("-x")
    assert champion.released_base("no-such-branch") == champion.Base("no-such-branch")


def test_the_gates_data_rules_compare_with_origin_main_too(released: Project, monkeypatch) -> None:
    """`textclf gate` alone runs the data rules against its base as well: what main released."""
    from textclf.review import gate

    commit_worse_model(released)
    bases: list[str] = []
    real = gate.data_rule_checks
    monkeypatch.setattr(
        gate, "data_rule_checks", lambda p, base, *rest: bases.append(base) or real(p, base, *rest)
    )

    with pytest.raises(SystemExit):
        cli.main(["gate", "--base", "main", "--champion", "main"])

    assert bases and bases[0].endswith("origin/main"), bases
