"""`make gate` runs the data rules (review.data_gate) as the report runs them: a new task's class
mix is not measured against main's other task. The report left the comparison with main out for a
new task, while `textclf gate` measured the spam filter's ham/spam mix against main's intents, so
`max_class_prior_psi` failed the first pull request of every new task."""

from __future__ import annotations

import contextlib
import json

from tests.review.conftest import Project
from textclf import cli


def prepared(project: Project) -> None:
    """data/prepared as the prepare stage writes it for the spam filter (ham and spam rows)."""
    for split, rows in (("train", 40), ("validation", 10), ("test", 10)):
        lines = [
            {"text": f"{'win a prize now' if n % 2 else 'lunch at noon'} message {split} {n}", "label": label}
            for n in range(rows)
            for label in (("spam",) if n % 2 else ("ham",))
        ]
        project.write(f"data/prepared/{split}.jsonl", "".join(json.dumps(row) + "\n" for row in lines))
    project.write_json("data/prepared/labels.json", {"labels": ["ham", "spam"]})


def gate(project: Project, rule: dict) -> dict:
    params = project.params()
    params.setdefault("review", {})["data_gate"] = rule
    project.write_params(params)
    with contextlib.suppress(SystemExit):  # exit 1 on a failed gate: the verdict file says why
        cli.main(["gate", "--champion", "main"])
    return json.loads((project.root / "reports/gate.json").read_text(encoding="utf-8"))


def test_a_new_tasks_class_mix_is_not_measured_against_another_task(spam_repo):
    prepared(spam_repo)

    verdict = gate(spam_repo, {"max_class_prior_psi": 0.25})

    (check,) = [check for check in verdict["checks"] if check["check"] == "data: max_class_prior_psi"]
    assert check["passed"] and check["value"] is None, check
    assert verdict["verdict"] == "pass" and verdict["comparison"] == "new task, not compared"


def test_the_other_data_rules_still_judge_a_new_task(spam_repo):
    prepared(spam_repo)

    verdict = gate(spam_repo, {"max_class_prior_psi": 0.25, "max_label_issue_share": 0.0})

    share = [check for check in verdict["checks"] if check["check"] == "data: max_label_issue_share"]
    assert len(share) == 1 and share[0]["value"] is not None


def test_the_summary_judges_the_data_rules_as_make_gate_does(spam_repo, capsys):
    prepared(spam_repo)
    train = (spam_repo.root / "data/prepared/train.jsonl").read_text(encoding="utf-8").splitlines()
    spam_repo.write("data/prepared/test.jsonl", "\n".join(train[:10]) + "\n")  # test rows copied from train
    verdict = gate(spam_repo, {"max_leaked_test_rows": 0})
    assert verdict["verdict"] == "fail"
    capsys.readouterr()

    assert cli.main(["summary", "--champion", "main"]) == 0

    shown = capsys.readouterr().out
    assert "Gate: FAIL (thresholds and review.data_gate)" in shown
    assert (
        "failed: 10 test rows are (nearly) in train, more than review.data_gate.max_leaked_test_rows" in shown
    )
