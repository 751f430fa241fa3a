"""Each model's task is its params.yaml `data.task` (issue 29: main's committed params.yaml for
main's metrics, the production record's `task` for production); when the candidate's differs and
its classes are mostly other ones, the gate judges on the thresholds alone and says why in the
verdict and its notes; a new name on mostly the same classes is compared (test_task_rename)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from tests.review.conftest import MAIN_EVAL, eval_metrics
from textclf import cli
from textclf.review import champion
from textclf.review.champion import PRODUCTION_KEY, ChampionError

# The pull request's classes (LABELS and warranty), all above the thresholds but more than the
# tolerance below main's macro-F1 (0.9167): compared with main, it fails.
WORSE = eval_metrics(
    {
        "billing": {"billing": 17, "returns": 3},
        "delivery": {"delivery": 18, "billing": 2},
        "returns": {"returns": 17, "billing": 3},
        "warranty": {"warranty": 18, "returns": 2},
    }
)


# Mostly other classes than main's (billing alone shared): another task.
OTHER = eval_metrics(
    {
        "billing": {"billing": 19, "spam": 1},
        "spam": {"spam": 20},
        "ham": {"ham": 19, "eggs": 1},
        "eggs": {"eggs": 20},
    }
)


def gate(repo, *args: str) -> tuple[int, dict]:
    (repo.root / "metrics/eval.json").write_text(json.dumps(WORSE), encoding="utf-8")
    try:
        status = cli.main(["gate", *args])
    except SystemExit as exit_:
        status = exit_.code
    return status, json.loads((repo.root / "reports/gate.json").read_text(encoding="utf-8"))


def set_task(repo, task: str) -> None:
    params = repo.params()
    params["data"]["task"] = task
    repo.write_params(params)


def test_a_new_name_on_mostly_the_old_classes_is_still_compared(pr_repo, no_aws):
    status, verdict = gate(pr_repo, "--champion", "main")
    assert status == 1 and verdict["champion"]["origin"] == "main"  # the same task: compared
    assert verdict["champion"]["task"] == "support-intents" == verdict["task"]

    set_task(pr_repo, "refund-urgency")  # a new name, and one class (warranty) added
    status, verdict = gate(pr_repo, "--champion", "main")

    assert status == 1 and verdict["champion"]["origin"] == "main" and verdict["task"] == "refund-urgency"
    note = verdict["notes"][0]
    assert "task renamed, compared anyway: this model's task is 'refund-urgency'" in note
    assert "that of main's committed metrics (main:metrics/eval.json) is 'support-intents'" in note


def test_a_new_task_with_mostly_other_classes_is_judged_on_thresholds_alone(pr_repo, no_aws):
    set_task(pr_repo, "breakfast")
    params = pr_repo.params()
    params["data"]["labels"] = ["billing", "spam", "ham", "eggs"]
    pr_repo.write_params(params)
    (pr_repo.root / "metrics/eval.json").write_text(json.dumps(OTHER), encoding="utf-8")

    status = cli.main(["gate", "--champion", "main"])
    verdict = json.loads((pr_repo.root / "reports/gate.json").read_text(encoding="utf-8"))

    assert status == 0 and verdict["champion"] is None and verdict["task"] == "breakfast"
    assert not any(" vs " in check["check"] for check in verdict["checks"])
    assert "new task: this model's task is 'breakfast' (params.yaml data.task)" in verdict["notes"][0]
    assert "judged on thresholds alone" in verdict["notes"][0]


def test_the_bases_task_is_what_its_own_params_yaml_said(pr_repo, no_aws):
    # A base that declared another task than this branch: its committed params.yaml, not this one's.
    pr_repo.git("checkout", "-q", "-b", "named-base", "main")
    try:
        set_task(pr_repo, "first-task")
        pr_repo.commit("the base names its task")
        pr_repo.git("checkout", "-q", "pr")
        status, verdict = gate(pr_repo, "--champion", "main", "--base", "named-base")
    finally:
        pr_repo.git("checkout", "-q", "-f", "pr")
        pr_repo.git("branch", "-q", "-D", "named-base")

    assert status == 1 and verdict["champion"] is not None  # mostly the same classes: compared
    assert (
        "named-base's committed metrics (named-base:metrics/eval.json) is 'first-task'" in verdict["notes"][0]
    )


def put_record(bucket: str, **record) -> None:
    body = {
        "model_version": "feedbee",
        "recorded_at": "2026-01-01T00:00:00Z",
        "metrics": WORSE | record.pop("m"),
    }
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=json.dumps(body | record).encode())


def test_production_of_another_task_is_no_champion(pr_repo, bucket):
    # Another task with mostly other classes (a new name on mostly the same classes is compared:
    # test_task_rename); production's classes share one (billing) of the PR's four.
    per_class = {name: MAIN_EVAL["per_class"]["billing"] for name in ("billing", "spam", "ham", "eggs")}
    put_record(bucket, m={"macro_f1": 0.99, "per_class": per_class}, task="refund-urgency")

    status, verdict = gate(pr_repo, "--champion", "bucket")

    assert status == 0 and verdict["champion"] is None
    assert "that of production model feedbee" in verdict["notes"][0]
    assert "is 'refund-urgency', and most classes differ (" in verdict["notes"][0]
    assert "so it is not compared" in verdict["notes"][0]


def test_production_of_the_same_task_is_compared(pr_repo, bucket):
    put_record(bucket, m={"macro_f1": 0.99}, task="support-intents")

    status, verdict = gate(pr_repo, "--champion", "bucket")

    assert status == 1 and verdict["champion"]["task"] == "support-intents"


def test_a_record_whose_task_is_not_a_task_name_is_refused(pr_repo, bucket, capsys):
    put_record(bucket, m={}, task=["support-intents"])

    assert cli.main(["gate", "--champion", "bucket"]) == 2
    assert "production/metrics.json: task ['support-intents'] is not a task name" in capsys.readouterr().err


def test_the_release_records_the_task(pr_repo):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = champion.build_record(WORSE, "a" * 40, "macro_f1", now, task="refund-urgency")

    assert record["task"] == "refund-urgency"
    assert champion.parse_record(json.dumps(record).encode(), "s3://b/k").task == "refund-urgency"
    with pytest.raises(ChampionError, match=r"task 'Refund Urgency': must be a short name of the task"):
        champion.build_record(WORSE, "a" * 40, "macro_f1", now, task="Refund Urgency")


@pytest.mark.parametrize("task", ["Spam", "spam filter", "-spam", "", "x" * 41, "spam\u200b"])
def test_data_task_must_be_a_short_name(pr_repo, capsys, task):
    set_task(pr_repo, task)

    assert cli.main(["gate", "--champion", "main"]) == 2
    assert "params.yaml: data.task: must be a short name of the task" in capsys.readouterr().err


def test_the_report_can_tell_a_base_of_another_task(pr_repo, no_aws):
    base_eval = champion.committed_json("main", champion.EVAL_METRICS_FILE)

    assert not champion.base_is_other_task("support-intents", "main", WORSE, base_eval)
    assert not champion.base_is_other_task("refund-urgency", "main", WORSE, base_eval)  # one class added
    assert champion.base_is_other_task("refund-urgency", "main", OTHER, base_eval)  # mostly other classes
    spam = eval_metrics({"spam": {"spam": 9, "ham": 1}, "ham": {"ham": 10}})
    assert champion.base_is_other_task("support-intents", "main", spam, base_eval)  # no class shared
