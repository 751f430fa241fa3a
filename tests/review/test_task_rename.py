"""A new name alone is not a new task (round 8's first question for the lead): with `data.task`
renamed and the classes, data and model those of the champion, the gate used to skip the champion
comparison, so a pull request that regressed against production passed by changing one word. The
classes are the evidence: the same class set (in any order) keeps the comparison, the note and
reports/gate.json's `comparison` say the task was renamed but compared; another task with other
classes is still a new task."""

from __future__ import annotations

import json

import boto3

from tests.review.conftest import LABELS, MAIN_EVAL, eval_metrics
from textclf import cli
from textclf.config import load_params
from textclf.review import champion, summary
from textclf.review.champion import PRODUCTION_KEY
from textclf.verdict import Champion

# main's classes, above the thresholds (0.85) but more than the tolerance (0.01) below main's
# macro-F1: a regression the champion comparison exists to stop.
REGRESSED = eval_metrics(
    {
        "billing": {"billing": 17, "returns": 3},
        "delivery": {"delivery": 18, "billing": 2},
        "returns": {"returns": 17, "billing": 3},
    }
)


def trained(repo, task: str, metrics: dict, labels: list[str]) -> None:
    """This workspace: a model with `metrics`, trained as `task` on `labels`."""
    (repo.root / "metrics/eval.json").write_text(json.dumps(metrics), encoding="utf-8")
    params = repo.params()
    params["data"]["task"] = task
    params["data"]["labels"] = labels
    repo.write_params(params)


def regressed(repo, task: str, labels: list[str] = LABELS) -> None:
    """This workspace: REGRESSED's model, trained as `task` on main's classes (in `labels`' order)."""
    assert REGRESSED["macro_f1"] < MAIN_EVAL["macro_f1"] - 0.01 and REGRESSED["macro_f1"] > 0.85
    trained(repo, task, REGRESSED, labels)


def gate(*args: str) -> tuple[int, dict]:
    try:
        status = cli.main(["gate", *args])
    except SystemExit as exit_:
        status = exit_.code
    with open("reports/gate.json", encoding="utf-8") as file:
        return status, json.load(file)


def test_renaming_the_task_keeps_the_comparison_with_main(pr_repo, no_aws):
    regressed(pr_repo, "other-task", labels=list(reversed(LABELS)))  # same classes, another order

    status, verdict = gate("--champion", "main")

    assert status == 1 and verdict["verdict"] == "fail"
    assert verdict["champion"]["origin"] == "main" and verdict["champion"]["task"] == "support-intents"
    assert verdict["task"] == "other-task" and verdict["comparison"] == champion.RENAMED
    assert any(check["check"] == "macro_f1 vs main" and not check["passed"] for check in verdict["checks"])
    note = verdict["notes"][0]
    assert note.startswith("task renamed, compared anyway: this model's task is 'other-task'")
    assert "is 'support-intents', but with the same classes (billing, delivery, returns)" in note


def test_renaming_the_task_keeps_the_comparison_with_production(pr_repo, bucket):
    regressed(pr_repo, "other-task")
    record = {"model_version": "feedbee", "recorded_at": "2026-01-01T00:00:00Z", "metrics": MAIN_EVAL}
    body = json.dumps(record | {"task": "support-intents"}).encode()
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=body)

    status, verdict = gate("--champion", "bucket")

    assert status == 1 and verdict["champion"]["origin"] == "production"
    assert verdict["comparison"] == champion.RENAMED
    assert "task renamed, compared anyway" in verdict["notes"][0]


def test_the_summary_and_the_report_say_renamed_and_compare(pr_repo, no_aws):
    regressed(pr_repo, "other-task")
    params = load_params()
    shown = "\n".join(summary.lines(params, "main", "main"))
    assert "Gate: FAIL (thresholds and main's macro_f1)" in shown
    assert "note: task renamed, compared anyway" in shown

    base_eval = champion.committed_json("main", champion.EVAL_METRICS_FILE)
    assert not champion.base_is_other_task("other-task", "main", REGRESSED, base_eval)


def test_the_same_task_is_still_compared_as_before(pr_repo, no_aws):
    regressed(pr_repo, "support-intents")

    status, verdict = gate("--champion", "main")

    assert status == 1 and verdict["comparison"] == champion.COMPARED
    assert not verdict["notes"][0].startswith("task renamed")


def test_a_rename_with_one_class_added_is_compared(pr_repo, no_aws):
    # A new name and one class more (warranty) is still mostly the champion's task: a rename and a
    # dummy class must not take a regression past it (review of round 9, F4).
    params = pr_repo.params()
    params["data"]["task"] = "refund-urgency"
    pr_repo.write_params(params)

    _, verdict = gate("--champion", "main")

    assert verdict["champion"] is not None and verdict["comparison"] == champion.RENAMED, verdict
    assert "task renamed, compared anyway" in verdict["notes"][0]
    assert "mostly the same classes (added warranty)" in verdict["notes"][0]


def test_another_task_with_mostly_other_classes_is_a_new_task(pr_repo, no_aws):
    # The deliberate case: a new task reusing an old class name on new data (billing kept).
    outcomes = {
        "billing": {"billing": 19, "spam": 1},
        "spam": {"spam": 20},
        "ham": {"ham": 19, "eggs": 1},
        "eggs": {"eggs": 20},
    }
    trained(pr_repo, "breakfast", eval_metrics(outcomes), list(outcomes))

    status, verdict = gate("--champion", "main")

    assert status == 0 and verdict["champion"] is None and verdict["comparison"] == champion.NEW_TASK
    assert (
        "and most classes differ (" in verdict["notes"][0] and "so it is not compared" in verdict["notes"][0]
    )


def test_no_champion_is_recorded_as_such(first_repo, no_aws):
    status, verdict = gate("--champion", "main")

    assert status == 0 and verdict["comparison"] == champion.NO_CHAMPION


def test_classes_one_side_does_not_name_keep_the_comparison():
    main = Champion("main", {"macro_f1": 0.9}, "main:metrics/eval.json", task="support-intents")

    new_task, sentence = champion.declared_task_change("other-task", main, REGRESSED)

    assert new_task is False
    assert "classes one side does not name (no per_class)" in sentence


def test_the_report_compares_a_renamed_task_with_main(pr_repo, no_aws):
    regressed(pr_repo, "other-task")

    assert cli.main(["report", "--champion", "main"]) == 0

    report = (pr_repo.root / "reports/report.md").read_text(encoding="utf-8")
    headline = report.split("\n### ", 1)[0]
    assert "Gate failed" in headline and "> task renamed, compared anyway" in headline
    metrics = report.split("### Metrics vs `main`", 1)[1].split("\n### ", 1)[0]
    assert "Not compared" not in metrics and "| Metric |" in metrics


def test_dummy_classes_do_not_dilute_the_shared_ones(pr_repo, no_aws):
    """Counted against the larger class set, seven dummy classes beside the champion's made a rename
    a new task (review of round 9, F4): every champion class kept means compared."""
    outcomes = {label: {label: 20} for label in LABELS}
    outcomes.update({f"dummy{i}": {f"dummy{i}": 20} for i in range(2 * len(LABELS) + 1)})
    trained(pr_repo, "another-name", eval_metrics(outcomes), list(outcomes))

    _, verdict = gate("--champion", "main")

    assert verdict["comparison"] == champion.RENAMED and verdict["champion"] is not None, verdict
