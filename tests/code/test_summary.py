"""`textclf summary` (the end of `make repro`): one screen within 100 columns that names accuracy,
macro-F1, each class, the gate's verdict with its reasons, training and the next commands, in a
real git repository with DVC."""

from __future__ import annotations

import pytest

from tests.code.conftest import SPAM_EVAL
from tests.review.conftest import Project, eval_metrics
from textclf import cli
from textclf.review import summary

WIDTH = 100


def run(capsys, *args: str) -> list[str]:
    assert cli.main(["summary", "--champion", "main", *args]) == 0
    return capsys.readouterr().out.splitlines()


def assert_fits(lines: list[str]) -> None:
    wide = [line for line in lines if len(line) > WIDTH]
    assert not wide, "wider than 100 columns:\n" + "\n".join(wide)


def test_the_summary_names_the_figures_the_verdict_and_what_to_run_next(spam_repo, capsys):
    lines = run(capsys)
    text = "\n".join(lines)

    assert_fits(lines)
    assert len(lines) <= 40  # one screen: `make repro 2>&1 | tail -40` shows all of it
    assert (
        f"Test split (100 rows): accuracy {SPAM_EVAL['accuracy']:.4f}, macro-F1 {SPAM_EVAL['macro_f1']:.4f}"
        in lines
    )
    ham = SPAM_EVAL["per_class"]["ham"]
    assert "  class  precision  recall      F1  support" in lines
    assert f"  ham    {ham['precision']:>9.4f}  {ham['recall']:>6.4f}  {ham['f1']:>6.4f}       58" in lines
    assert "Gate: PASS (thresholds only)" in lines
    assert "  note: new task: this model's classes (ham, spam) share none" in text
    assert "Training (local): 2 min 30 s wall, 2 min 16 s training, 28.2 samples/s, on 2 CPU cores" in lines
    for command in ("make plots", "make metrics", "make report", "make serve"):
        assert any(line.startswith(f"  {command} ") for line in lines)
    assert "Truncated" not in text  # prepare recorded no truncation share here
    assert "what to do:" not in text  # a passing gate needs no advice
    # A new task passed on the thresholds alone: the summary names that bar and where it is set.
    assert "  check: judged on evaluate.thresholds alone (accuracy >= 0.85, macro_f1 >= 0.85, each" in text
    assert "set the ones your task must meet in params.yaml" in " ".join(line.strip() for line in lines)


def test_a_failed_gate_says_what_to_do_before_how_to_keep_the_run(spam_repo, capsys):
    # Issue 29: a new task failed the sample's thresholds, and the summary only said how to commit.
    spam_repo.write_json(
        "metrics/eval.json", eval_metrics({"ham": {"ham": 5, "spam": 5}, "spam": {"spam": 10}})
    )

    lines = run(capsys)

    assert_fits(lines)
    text = "\n".join(lines)
    assert "Gate: FAIL (thresholds only)" in lines
    assert "  what to do: a pull request with this run fails its gate." in text
    assert "train.epochs" in text and "evaluate.thresholds" in text
    assert text.index("what to do:") < text.index("Next:")
    assert "check: judged on evaluate.thresholds alone" not in text  # the failure says it already


def test_a_failed_gate_with_many_long_classes_still_fits(spam_repo, capsys):
    names = [f"a-rather-long-class-name-from-a-real-dataset-number-{n:02d}" for n in range(30)]
    outcomes = {name: {name: 5, names[(i + 1) % 30]: 5} for i, name in enumerate(names)}
    spam_repo.write_json("metrics/eval.json", eval_metrics(outcomes))
    params = spam_repo.params()
    params["data"]["labels"] = names  # the data's classes: the gate judges no other file
    spam_repo.write_params(params)

    lines = run(capsys)

    assert_fits(lines)
    assert "Gate: FAIL (thresholds only)" in lines
    assert sum(line.startswith("  failed: ") for line in lines) == summary.MAX_REASONS
    assert any(line.startswith("  ... and ") and "more failed checks" in line for line in lines)
    assert "  ... 18 more classes, the weakest F1 shown first (make metrics)" in lines
    assert any(line.startswith("  a-rather-long-class-name-...  ") for line in lines)


def test_escape_codes_in_a_label_are_not_sent_to_the_terminal(spam_repo, capsys):
    spam_repo.write_json(
        "metrics/eval.json", eval_metrics({"ham\x1b[2J": {"ham\x1b[2J": 9}, "spam": {"spam": 9}})
    )

    text = "\n".join(run(capsys))

    assert "\x1b" not in text and "ham?[2J" in text


@pytest.mark.parametrize("actions", ["true", None])
def test_in_a_github_actions_log_no_label_starts_a_workflow_command(spam_repo, capsys, monkeypatch, actions):
    """GitHub's runner reads a line starting with `::` after its blanks as a workflow command, and
    `##[` anywhere (issue 27, R-e): a class name starts a line of the per-class table."""
    labels = ["::error title=x::forged", "ham"]
    spam_repo.write_json(
        "metrics/eval.json", eval_metrics({labels[0]: {labels[0]: 9}, "ham": {"ham": 9}, "##[add-mask]x": {}})
    )
    params = spam_repo.params()
    params["data"]["labels"] = labels
    spam_repo.write_params(params)
    if actions:
        monkeypatch.setenv("GITHUB_ACTIONS", actions)
    else:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    lines = run(capsys)

    commands = [line for line in lines if line.lstrip().startswith("::") or "##[" in line]
    if actions:
        assert not commands, commands
        assert any(line.startswith("  : :error title=x::forged ") for line in lines), lines
        assert any(line.startswith("  ## [add-mask]x ") for line in lines), lines
    else:  # a terminal shows the labels as they are
        assert any(line.startswith("  ::error title=x::forged ") for line in lines), lines


def test_the_truncated_share_when_prepare_recorded_it(spam_repo, capsys):
    data = spam_repo.root / "metrics/data.json"
    spam_repo.write_json(
        "metrics/data.json",
        {**__import__("json").loads(data.read_text()), "truncation": {"share": 0.613, "max_length": 128}},
    )

    lines = run(capsys)

    assert_fits(lines)
    truncated = " ".join(line.strip() for line in lines if not line.startswith(("Next", "  make")))
    assert "Truncated: 61.3% of texts are longer than 128 tokens (model.max_length)" in truncated


def test_what_truncation_costs_on_the_test_split(spam_repo, capsys):
    data = __import__("json").loads((spam_repo.root / "metrics/data.json").read_text())
    spam_repo.write_json("metrics/data.json", {**data, "truncation": {"share": 0.4, "max_length": 64}})
    spam_repo.write_json(
        "metrics/eval.json",
        {
            **SPAM_EVAL,
            "truncation": {"truncated_rows": 41, "accuracy_truncated": 0.8049, "accuracy_rest": 0.9153},
        },
    )

    lines = run(capsys)

    assert_fits(lines)
    text = " ".join(line.strip() for line in lines)
    assert "40.0% of texts are longer than 64 tokens" in text
    assert "test accuracy 0.8049 on the 41 cut texts, 0.9153 on the rest" in text


def test_without_a_main_branch_the_gate_cannot_judge_and_the_thresholds_are_shown(spam_repo, capsys):
    # make gate stops (exit 2) without its base: never a bare "Gate: PASS" (round 9, U-g2).
    assert cli.main(["summary", "--champion", "main", "--base", "no-such-branch"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert_fits(lines)
    assert "Gate: CANNOT JUDGE (no champion: make gate stops, exit 2); thresholds only: PASS" in lines
    assert any(line.startswith("  refused: git ref 'no-such-branch' not found") for line in lines)


def test_before_the_pipeline_ran_it_says_what_to_run(spam_repo: Project, capsys):
    (spam_repo.root / "metrics/eval.json").unlink()

    assert cli.main(["summary", "--champion", "main"]) == 2
    assert "metrics/eval.json: not found; run the pipeline first (make repro" in capsys.readouterr().err


@pytest.mark.parametrize(("seconds", "shown"), [(52.49, "52.5 s"), (151, "2 min 31 s"), (4000, "1 h 06 min")])
def test_durations(seconds, shown):
    assert summary.duration(seconds) == shown
