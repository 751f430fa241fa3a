"""The data-check section a reviewer acts on (issue 29 point 6): flags with no second opinion (no
fine-tuned model's view of them: every flag outside the test split, or no held-out probabilities of
this test split) carry the clean-data caveat instead of nothing."""

from __future__ import annotations

from textclf.review import data_checks


def checks(issues: list[dict], heldout: dict | None = None) -> dict:
    return {
        "base_ref": "main",
        "class_prior_psi": 0.01,
        "length_psi": 0.02,
        "test_rows": 50,
        "leakage": {"exact": [], "near": [], "threshold": 0.8, "seconds": 0.1},
        "label_issues": {
            "issues": issues,
            "rows": {"train": 200, "validation": 50, "test": 50},
            "method": "out-of-fold naive Bayes",
            "seconds": 0.2,
            "heldout": heldout,
        },
    }


def issue(split: str, row: int) -> dict:
    return {"split": split, "row": row, "given": "a", "suggested": "b", "p_given": 0.01, "source": None}


def test_flags_outside_the_test_split_carry_the_clean_data_caveat():
    shown = data_checks.section(checks([issue("train", 5), issue("validation", 2)]))

    assert "No second opinion on these flags (the fine-tuned model's held-out" in shown
    assert "cover the test split only, which has no flag)" in shown
    assert "on clean data most of its flags are rows it finds hard" in shown


def test_test_flags_without_held_out_probabilities_say_what_to_run():
    shown = data_checks.section(checks([issue("test", 5)]))

    assert "no held-out probabilities of this test split in `plots/heldout_probabilities.csv`" in shown
    assert "run `dvc repro evaluate`" in shown


def test_no_flag_no_caveat():
    assert "Caveat" not in data_checks.section(checks([]))


def test_a_second_opinion_keeps_its_own_line():
    heldout = {"test_flags": 1, "fine_tuned_gives_given_label": 0}
    shown = data_checks.section(checks([issue("test", 5)], heldout=heldout))

    assert "**Caveat:**" not in shown and "look like real label errors" in shown
