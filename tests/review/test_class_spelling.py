"""Classes renamed by spelling are the same classes (R13A-2): a model whose classes were main's in
another case (`Billing` for `billing`, `RETURNS`, full-width letters) shared none with
main's, compared as exact strings, so the gate called it a new task and judged a regression on the
thresholds alone. The champion now compares classes as prepare compares labels (NFKC, case folded,
spaces collapsed): compared, and the note says the classes are spelled otherwise."""

from __future__ import annotations

import pytest

from tests.review.conftest import LABELS, MAIN_EVAL, eval_metrics
from tests.review.test_task_rename import REGRESSED, gate, trained
from textclf.review import champion
from textclf.verdict import Champion

SPELLINGS = {
    "title case": str.title,
    "upper case": str.upper,
    "full-width": lambda label: "".join(chr(ord(c) + 0xFEE0) for c in label),
}


# REGRESSED's outcomes (tests/review/test_task_rename.py): main's classes, more than the tolerance
# below main's macro-F1, above the thresholds.
OUTCOMES = {
    "billing": {"billing": 17, "returns": 3},
    "delivery": {"delivery": 18, "billing": 2},
    "returns": {"returns": 17, "billing": 3},
}


def respelled(spell) -> dict:
    """REGRESSED as a model trained on the same data with every label spelled by `spell`."""
    assert eval_metrics(OUTCOMES)["macro_f1"] == REGRESSED["macro_f1"] and set(OUTCOMES) == set(LABELS)
    return eval_metrics(
        {
            spell(actual): {spell(guess): count for guess, count in row.items()}
            for actual, row in OUTCOMES.items()
        }
    )


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_classes_renamed_by_spelling_are_compared_on_the_same_task(spelling, pr_repo, no_aws):
    spell = SPELLINGS[spelling]
    trained(pr_repo, "support-intents", respelled(spell), [spell(label) for label in LABELS])

    status, verdict = gate("--champion", "main")

    assert status == 1 and verdict["verdict"] == "fail", verdict["notes"]
    assert verdict["comparison"] == champion.COMPARED and verdict["champion"]["origin"] == "main"
    assert any(check["check"] == "macro_f1 vs main" and not check["passed"] for check in verdict["checks"])
    assert any("the classes are spelled otherwise" in note for note in verdict["notes"]), verdict["notes"]


def test_a_renamed_task_with_classes_renamed_by_case_is_compared(pr_repo, no_aws):
    """Under another data.task the classes are the evidence: main's, in another case, are kept."""
    trained(pr_repo, "other-name", respelled(str.upper), [label.upper() for label in LABELS])

    status, verdict = gate("--champion", "main")

    assert status == 1 and verdict["comparison"] == champion.RENAMED, verdict["notes"]


def test_other_classes_are_still_a_new_task() -> None:
    main = Champion("main", MAIN_EVAL, "main:metrics/eval.json")
    spam = eval_metrics({"ham": {"ham": 9, "spam": 1}, "spam": {"spam": 10}})

    assert champion.is_new_task(spam, MAIN_EVAL)
    assert champion.task_change(spam, main)[0] is True


def test_class_key_sets_aside_what_prepare_sets_aside() -> None:
    assert (
        champion.class_key("Billing") == champion.class_key("billing") == champion.class_key("ＢＩＬＬＩＮＧ")
    )
    assert champion.class_key("late  delivery") == champion.class_key("Late Delivery")
    assert champion.class_key("❤\ufe0f") == champion.class_key("❤")
    assert champion.class_key("billing") != champion.class_key("billings")


def test_every_class_renamed_on_the_same_task_and_data_is_compared(pr_repo, no_aws):
    """Classes renamed beyond spelling (`billings` for `billing`) on the same data.task and the same
    test rows per class: the champion's data relabelled, compared (it was a new task, judged on the
    thresholds alone)."""
    renamed = {"billing": "billings", "delivery": "deliveries", "returns": "refunds"}
    trained(pr_repo, "support-intents", respelled(renamed.get), list(renamed.values()))

    status, verdict = gate("--champion", "main")

    assert status == 1 and verdict["comparison"] == champion.COMPARED, verdict["notes"]
    assert any(check["check"] == "macro_f1 vs main" and not check["passed"] for check in verdict["checks"])
    assert any("the classes were renamed (added billings" in note for note in verdict["notes"])


def test_other_classes_on_other_data_under_the_same_task_name_stay_a_new_task() -> None:
    """A newcomer's spam filter whose data.task is still the bundled sample's: other classes, other
    test rows per class: a new task, as the README says."""
    main = Champion("main", MAIN_EVAL, "main:metrics/eval.json", task="support-intents")
    spam = eval_metrics({"ham": {"ham": 9, "spam": 1}, "spam": {"spam": 10}})

    assert champion.relabelled("support-intents", spam, main) is None
    assert champion.relabelled("support-intents", eval_metrics(OUTCOMES), main) is None  # shares all
    same_rows = eval_metrics({f"x{label}": {f"x{label}": 20} for label in OUTCOMES})
    assert champion.relabelled("support-intents", same_rows, main) is not None
    assert champion.relabelled("other-task", same_rows, main) is None
    assert champion.relabelled("support-intents", same_rows, Champion("main", MAIN_EVAL, "m")) is None
