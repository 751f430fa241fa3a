"""A new task's first pull request: its classes share none with main's, so the gate judges it on
thresholds alone and says why (the verdict's notes, the report, the summary), while a model of the
same task is still compared with main (a regression still fails), with real git and DVC."""

from __future__ import annotations

import json

import pytest

from tests.code.conftest import SPAM_EVAL, WORSE_EVAL
from tests.review.conftest import MAIN_EVAL, Project, eval_metrics
from textclf import cli
from textclf.review import champion
from textclf.verdict import Champion


def write_eval(project: Project, metrics: dict) -> None:
    """metrics/eval.json of a model trained on data whose classes are the metrics' (data.labels)."""
    project.write_json("metrics/eval.json", metrics)
    params = project.params()
    params["data"]["labels"] = list(metrics["per_class"])
    project.write_params(params)


def verdict_of(project: Project) -> dict:
    return json.loads((project.root / "reports/gate.json").read_text(encoding="utf-8"))


def test_a_new_tasks_first_pr_passes_on_thresholds_and_says_why(spam_repo):
    # Before: compared with main's 0.9 macro-F1 of another task, the spam model failed the gate.
    assert SPAM_EVAL["macro_f1"] < MAIN_EVAL["macro_f1"] - 0.01

    assert cli.main(["gate", "--champion", "main"]) == 0

    verdict = verdict_of(spam_repo)
    assert verdict["verdict"] == "pass"
    assert verdict["champion"] is None
    assert not any(" vs " in check["check"] for check in verdict["checks"])
    note = verdict["notes"][0]
    assert note.startswith("new task: this model's classes (ham, spam) share none with those of main's")
    assert "(billing, delivery, returns)" in note and "judged on thresholds alone" in note


def test_the_report_shows_the_new_task_reason(spam_repo):
    assert cli.main(["report", "--champion", "main"]) == 0

    report = (spam_repo.root / "reports/report.md").read_text(encoding="utf-8")
    headline = report.split("\n### ", 1)[0]
    assert "Gate passed" in headline
    assert "> new task: this model's classes (ham, spam) share none with those of main" in headline
    # Nothing of main's other task is compared: no deltas against it, no "Metrics vs main" table.
    assert (
        "Not compared: a new task (another data.task with mostly other classes than `main`'s, or classes"
        in report
    )
    metrics_section = report.split("### Metrics vs `main`", 1)[1].split("\n### ", 1)[0]
    assert "| Metric |" not in metrics_section
    assert "| main (committed) | — |" in headline  # no figure, no change against it


def test_a_new_task_still_meets_the_thresholds(spam_repo):
    bad = eval_metrics({"ham": {"ham": 50, "spam": 8}, "spam": {"spam": 10, "ham": 32}})
    spam_repo.write_json("metrics/eval.json", bad)

    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--champion", "main"])

    assert exit_.value.code == 1
    verdict = verdict_of(spam_repo)
    assert verdict["champion"] is None and "new task" in verdict["notes"][0]
    assert any(reason.startswith("recall[spam]") for reason in verdict["reasons"])


def test_the_same_task_worse_than_main_still_fails(spam_repo):
    write_eval(spam_repo, WORSE_EVAL)

    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--champion", "main"])

    assert exit_.value.code == 1
    verdict = verdict_of(spam_repo)
    assert verdict["champion"]["origin"] == "main"
    assert "new task" not in " ".join(verdict["notes"])
    assert verdict["reasons"][0].startswith("macro_f1 vs main")


def test_added_classes_are_the_same_task_compared_and_named(spam_repo):
    added = eval_metrics(
        {
            "billing": {"billing": 19, "returns": 1},
            "delivery": {"delivery": 20},
            "returns": {"returns": 18, "billing": 2},
            "warranty": {"warranty": 18, "returns": 2},
        }
    )
    write_eval(spam_repo, added)

    assert cli.main(["gate", "--champion", "main"]) == 0

    verdict = verdict_of(spam_repo)
    assert verdict["champion"]["origin"] == "main"
    assert "the classes changed (added warranty)" in verdict["notes"][0]


@pytest.mark.parametrize(
    "candidate",
    [
        {"accuracy": 0.95, "macro_f1": 0.95},  # no per_class at all
        {"accuracy": 0.95, "macro_f1": 0.95, "per_class": {}},  # an empty one
        {"accuracy": 0.95, "macro_f1": 0.95, "per_class": ["ham", "spam"]},  # not an object
    ],
)
def test_classes_that_cannot_be_read_keep_the_comparison(candidate):
    main = Champion("main", MAIN_EVAL, "main:metrics/eval.json")

    assert champion.task_change(candidate, main) == (False, None)


def test_production_of_another_task_is_not_the_champion():
    production = Champion("production", MAIN_EVAL, "s3://b/production/metrics.json", "abc1234", "2026-01-01")

    new_task, sentence = champion.task_change(SPAM_EVAL, production)

    assert new_task is True
    assert "production model abc1234" in sentence and "judged on thresholds alone" in sentence


def test_many_classes_are_listed_briefly():
    many = eval_metrics({f"class{n:02d}": {f"class{n:02d}": 5} for n in range(20)})
    main = Champion("main", MAIN_EVAL, "main:metrics/eval.json")

    _, sentence = champion.task_change(many, main)

    assert "class00, class01" in sentence and "and 12 more" in sentence
