"""Data checks for the PR report: shifts against main, leakage, suspected label errors; counts and
row numbers in the section, never a text."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from textclf.monitoring import drift
from textclf.review import data_checks

LABELS = ["billing", "delivery", "returns"]


def confident_model(truth: list[str], seed: int) -> list[list[float]]:
    """Held-out probabilities of a good model: most mass on the true class, some confusion."""
    rng = random.Random(seed)
    rows = []
    for label in truth:
        weights = [rng.uniform(0.0, 0.3) for _ in LABELS]
        weights[LABELS.index(label)] += rng.uniform(0.6, 2.0)
        total = sum(weights)
        rows.append([w / total for w in weights])
    return rows


def flip(truth: list[str], share: float, seed: int) -> tuple[list[str], set[int]]:
    rng = random.Random(seed)
    given = list(truth)
    flipped = set(rng.sample(range(len(truth)), int(share * len(truth))))
    for index in flipped:
        given[index] = rng.choice([label for label in LABELS if label != truth[index]])
    return given, {index + 1 for index in flipped}


def test_a_30_percent_label_flip_is_found_and_clean_labels_are_not():
    truth = [LABELS[i % 3] for i in range(600)]
    probabilities = confident_model(truth, seed=1)
    given, flipped = flip(truth, 0.3, seed=2)

    suspected = {issue["row"] for issue in data_checks.label_issues(LABELS, given, probabilities)}
    clean = data_checks.label_issues(LABELS, truth, probabilities)

    assert len(suspected & flipped) >= 0.9 * len(flipped)  # recall
    assert len(suspected & flipped) >= 0.9 * len(suspected)  # precision
    assert len(clean) <= 0.02 * len(truth)


def test_label_issues_name_the_row_the_label_and_the_likelier_class():
    probabilities = [
        [0.9, 0.05, 0.05],
        [0.1, 0.8, 0.1],
        [0.05, 0.05, 0.9],
        [0.8, 0.1, 0.1],
        [0.95, 0.03, 0.02],
    ]
    given = ["billing", "delivery", "returns", "billing", "returns"]  # row 5: labelled returns

    [issue] = data_checks.label_issues(LABELS, given, probabilities)

    # Thresholds (mean probability of each class on its own rows): billing 0.85, returns 0.46.
    # Row 5's billing (0.95) is confident; row 4's billing (0.8) is below 0.85, but it is labelled
    # billing anyway; nothing else is confidently another class.
    assert issue == {
        "row": 5,
        "given": "returns",
        "suggested": "billing",
        "p_given": 0.02,
        "p_suggested": 0.95,
    }


def test_an_unsure_row_is_not_suspected():
    """Below every threshold: the model is unsure, which says nothing about the label."""
    probabilities = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.05, 0.9], [0.4, 0.3, 0.3]]

    assert (
        data_checks.label_issues(LABELS, ["billing", "delivery", "returns", "returns"], probabilities) == []
    )


def test_an_unknown_label_is_refused():
    with pytest.raises(data_checks.DataCheckError, match=r"\['warranty'\] are not among the model's"):
        data_checks.label_issues(LABELS, ["warranty"], [[0.4, 0.3, 0.3]])


def test_leakage_finds_copies_after_normalisation_and_near_copies_only():
    train = [
        "Hello, I got an email saying my password was changed, I did not do that.",
        "The delivery was scheduled for today and nobody came to the door at all.",
        "Please cancel my subscription from next month onwards, thank you.",
    ]
    test = [
        "hello i got an email saying my password was changed  i did NOT do that",  # exact, folded
        "Hi, the delivery was scheduled for today and nobody came to the door at all.",  # near
        "My parcel never arrived and the tracking page shows nothing new.",  # unrelated
        "Please cancel my order, it has not shipped yet and I no longer need it.",  # shares words only
    ]

    found = data_checks.leakage(train, test)

    assert found["exact"] == [{"test_row": 1, "train_row": 1}]
    assert [(n["test_row"], n["train_row"]) for n in found["near"]] == [(2, 2)]
    assert found["near"][0]["jaccard"] >= data_checks.NEAR_DUPLICATE_JACCARD


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """`main` with data metrics and a reference; the workspace a PR with a label-flipped copy of
    the test split, another class mix and longer texts."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    base_data = {"classes": {"train": {"billing": 100, "delivery": 100, "returns": 100}}}
    (metrics / "data.json").write_text(json.dumps(base_data))
    short = [f"{label} question number {i}" for i, label in enumerate(LABELS * 30)]
    reference = drift.build_reference(LABELS, LABELS * 30, [0.9] * 90, LABELS * 30, [len(t) for t in short])
    (metrics / "reference.json").write_text(json.dumps(reference))
    git(tmp_path, "add", "metrics")
    git(tmp_path, "commit", "-q", "-m", "main")

    pr_data = {"classes": {"train": {"billing": 250, "delivery": 30, "returns": 20}}}
    (metrics / "data.json").write_text(json.dumps(pr_data))
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    truth = [LABELS[i % 3] for i in range(300)]
    texts = [f"SECRET{i} " + "a long customer message about an order " * 10 for i in range(300)]
    given, flipped = flip(truth, 0.3, seed=3)
    rows = [json.dumps({"text": t, "label": g}) for t, g in zip(texts, given, strict=True)]
    (prepared / "test.jsonl").write_text("\n".join(rows) + "\n")
    train = [json.dumps({"text": texts[0], "label": truth[0]})]  # test row 1 is a train row too
    train += [json.dumps({"text": f"train text {i} about billing", "label": "billing"}) for i in range(50)]
    (prepared / "train.jsonl").write_text("\n".join(train) + "\n")
    heldout = tmp_path / "plots" / "heldout_probabilities.csv"
    heldout.parent.mkdir()
    lines = ["row," + ",".join(LABELS)]
    lines += [
        f"{n}," + ",".join(f"{p:.6f}" for p in row) for n, row in enumerate(confident_model(truth, 4), 1)
    ]
    heldout.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    return flipped


def test_the_checks_against_main_and_their_section(repository):
    checks = data_checks.run(Path("data/prepared"))

    assert checks["class_prior_psi"] > data_checks.SHIFT_FLAG
    assert checks["length_psi"] > data_checks.SHIFT_FLAG
    assert [leak["test_row"] for leak in checks["leakage"]["exact"]] == [1]
    suspected = {issue["row"] for issue in checks["label_issues"]}
    assert len(suspected & repository) >= 0.9 * len(repository)

    text = data_checks.section(checks)

    assert text.startswith("### Data checks vs `main`")
    assert f"| {len(suspected)} of 300 (" in text
    assert "| 1 of 300 |" in text  # the test row also in train
    assert "**(shifted)**" in text
    assert "SECRET" not in text and "customer message" not in text  # no text reaches the comment
    first = sorted(checks["label_issues"], key=lambda i: (i["p_given"], i["row"]))[0]["row"]
    assert f"most suspicious first): {first}," in text


def test_main_without_a_reference_says_so(repository):
    subprocess.run(["git", "rm", "-q", "metrics/reference.json"], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "no reference"], check=True)

    checks = data_checks.run(Path("data/prepared"))

    assert checks["length_psi"] is None
    assert "`main` has no reference yet" in data_checks.section(checks)


def test_heldout_predictions_of_another_run_are_refused(repository):
    Path("plots/heldout_probabilities.csv").write_text("row,billing,delivery,returns\n1,0.5,0.25,0.25\n")

    with pytest.raises(
        data_checks.DataCheckError, match=r"1 rows for a test split of 300.*rerun the evaluate"
    ):
        data_checks.run(Path("data/prepared"))


def report_with(checks) -> str:
    from tests.review.conftest import MAIN_EVAL, PR_EVAL
    from textclf.config import Params
    from textclf.review import gate, report

    params = Params()
    verdict = gate.judge(PR_EVAL, params.evaluate) | {"notes": []}
    inputs = report.Inputs(
        params=params,
        base_ref="main",
        base_commit="1" * 40,
        candidate=PR_EVAL,
        verdict=verdict,
        base_eval=MAIN_EVAL,
        data_checks=checks,
    )
    return report.render(inputs)


def test_the_report_shows_the_checks_after_the_data_section(repository):
    rendered = report_with(data_checks.run(Path("data/prepared")))

    assert (
        rendered.index("### Data\n")
        < rendered.index("### Data checks vs `main`")
        < rendered.index("### Links")
    )
    assert "Suspected label errors, test split (confident learning)" in rendered
    assert "SECRET" not in rendered


def test_the_report_says_why_the_checks_did_not_run():
    rendered = report_with(
        "plots/heldout_probabilities.csv: not found; the evaluate stage writes it (dvc repro)"
    )

    assert "### Data checks vs `main`\n\nNot run: plots/heldout\\_probabilities.csv: not found" in rendered
