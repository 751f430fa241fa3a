"""Data checks for the PR report: shifts against main, leakage, suspected label errors; counts and
row numbers in the section, never a text."""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from textclf.monitoring import drift
from textclf.pipeline import sample_data
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


def long_texts(count: int, seed: int) -> list[str]:
    """Messages of 60 to 120 words, four of the sample's messages each (3-gram sets of 60+)."""
    rows = sample_data.generate_rows(rows_per_label=max(count, 10), seed=seed)
    rng = random.Random(seed)
    return [" ".join(text for text, _ in rng.sample(rows, 4)) for _ in range(count)]


def light_edit(text: str, rng: random.Random) -> str:
    """One word replaced, one dropped: about 0.85 Jaccard of word 3-grams on 80 words."""
    tokens = text.split()
    tokens[rng.randrange(len(tokens))] = rng.choice(["kindly", "asap", "regards", "urgent"])
    del tokens[rng.randrange(len(tokens))]
    return " ".join(tokens)


def exact_jaccard(a: str, b: str) -> float:
    return data_checks.jaccard(
        data_checks.shingles(data_checks.words(a)), data_checks.shingles(data_checks.words(b))
    )


def test_near_duplicates_recall_at_the_threshold_and_every_exact_copy():
    rng = random.Random(7)
    train = long_texts(600, seed=1)
    test = long_texts(300, seed=2)  # unrelated to train: other combinations of messages
    planted = {}
    for row in rng.sample(range(300), 100):
        source = rng.randrange(600)
        test[row] = light_edit(train[source], rng)
        planted[row + 1] = exact_jaccard(test[row], train[source])
    copies = {row + 1 for row in rng.sample(sorted(set(range(300)) - {r - 1 for r in planted}), 20)}
    for row in copies:
        test[row - 1] = train[rng.randrange(600)].upper() + " !"  # a copy after normalisation

    found = data_checks.leakage(train, test)

    near = {leak["test_row"]: leak for leak in found["near"]}
    expected = {
        row for row, similarity in planted.items() if similarity >= data_checks.NEAR_DUPLICATE_JACCARD
    }
    assert len(expected) >= 60  # the edits land on both sides of the threshold
    assert len(expected & set(near)) >= 0.95 * len(expected)
    assert {leak["test_row"] for leak in found["exact"]} == copies
    for row, leak in near.items():  # what is reported is exact, and no unrelated row
        assert exact_jaccard(test[row - 1], train[leak["train_row"] - 1]) == pytest.approx(
            leak["jaccard"], abs=1e-3
        )
        assert leak["jaccard"] >= data_checks.NEAR_DUPLICATE_JACCARD


def test_a_test_row_among_many_copies_in_train_is_still_found():
    """The old check skipped 3-grams shared by more than 50 train rows: the more a text was copied,
    the less it saw. Buckets are sampled now, never skipped."""
    rng = random.Random(3)
    base = long_texts(1, seed=5)[0]
    train = [light_edit(base, rng) for _ in range(400)] + long_texts(100, seed=6)
    test = [light_edit(base, rng) for _ in range(20)]

    found = data_checks.leakage(train, test)

    assert len(found["near"]) + len(found["exact"]) == 20


def flipped_sample(share: float, seed: int) -> tuple[list[str], list[str], list[str], set[int]]:
    """The bundled sample with `share` of its labels flipped at random: texts, truth, given, rows."""
    rows = sample_data.generate_rows()
    texts, truth = [text for text, _ in rows], [label for _, label in rows]
    labels = sorted(set(truth))
    rng = random.Random(seed)
    given = list(truth)
    flipped = set(rng.sample(range(len(rows)), int(share * len(rows))))
    for index in flipped:
        given[index] = rng.choice([label for label in labels if label != truth[index]])
    return texts, labels, given, flipped


def test_label_errors_over_the_whole_sample_with_20_percent_flipped():
    texts, labels, given, flipped = flipped_sample(0.2, seed=11)
    # Three splits as prepare makes them; the check reads them in this order.
    splits = {"train": slice(0, 1260), "validation": slice(1260, 1530), "test": slice(1530, None)}
    sources = {name: data_checks.Rows(texts[part], given[part]) for name, part in splits.items()}

    found = data_checks.whole_dataset_label_issues(sources, labels)

    offsets = {name: part.start for name, part in splits.items()}
    suspected = {offsets[issue["split"]] + issue["row"] - 1 for issue in found["issues"]}
    assert len(suspected & flipped) >= 0.8 * len(suspected)  # precision
    assert len(suspected & flipped) >= 0.8 * len(flipped)  # recall
    assert {issue["split"] for issue in found["issues"]} == set(splits)  # train's flips are seen too
    first = found["issues"][0]
    assert first["margin"] <= min(issue["margin"] for issue in found["issues"])  # normalised margin
    assert first["given"] == given[offsets[first["split"]] + first["row"] - 1] != first["suggested"]


def test_clean_labels_give_few_suspects():
    texts, labels, given, _ = flipped_sample(0.0, seed=1)

    found = data_checks.whole_dataset_label_issues({"train": data_checks.Rows(texts, given)}, labels)

    # Uncalibrated naive Bayes flagged 47 of the 1,800 clean rows (2.6 %): its own mistakes.
    assert len(found["issues"]) <= 0.01 * len(texts)
    assert found["estimated_noise"] <= 0.01


def test_five_percent_flipped_are_found_with_few_false_alarms():
    texts, labels, given, flipped = flipped_sample(0.05, seed=5)

    found = data_checks.whole_dataset_label_issues({"train": data_checks.Rows(texts, given)}, labels)

    suspected = {issue["row"] - 1 for issue in found["issues"]}
    # Before calibration: 144 flagged for 90 flips (precision 0.63).
    assert len(suspected & flipped) >= 0.8 * len(suspected)  # precision
    assert len(suspected & flipped) >= 0.85 * len(flipped)  # recall
    assert 0.03 <= found["estimated_noise"] <= 0.07


def test_calibration_recovers_temperature_and_noise_of_known_scores():
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 3.0, size=(20000, 4))
    truth = np.array([rng.choice(4, p=p) for p in data_checks.softmax(logits)])
    given = truth.copy()
    noisy = rng.random(len(given)) < 0.1
    given[noisy] = (truth[noisy] + rng.integers(1, 4, size=int(noisy.sum()))) % 4

    temperature, noise = data_checks.fit_calibration(logits * 5.0, given)  # overconfident by 5

    assert temperature == pytest.approx(5.0, rel=0.1)
    assert noise == pytest.approx(0.1, abs=0.02)


def test_a_row_predicted_as_its_label_or_merely_hard_is_not_flagged():
    # Four rows of class 0, four of class 1; each block ends with a row labelled the other class.
    probabilities = np.array([[0.9, 0.1]] * 3 + [[0.97, 0.03]] + [[0.1, 0.9]] * 3 + [[0.9, 0.1]], dtype=float)
    given = np.array([0, 0, 0, 1, 1, 1, 1, 1])

    flagged, suggested, hard = data_checks.find_label_issues(given, probabilities, max_p_given=0.1)

    assert flagged.tolist() == [False] * 3 + [True] + [False] * 4  # p_given 0.03: listed
    assert suggested[3] == 0
    assert hard.tolist() == [False] * 7 + [True]  # p_given 0.1: the model finds it hard
    assert not (flagged & (probabilities.argmax(axis=1) == given)).any()


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def write_split(path: Path, texts: list[str], labels: list[str]) -> None:
    rows = [json.dumps({"text": t, "label": g}) for t, g in zip(texts, labels, strict=True)]
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """`main` with data metrics and a reference; the workspace a PR with a label-flipped copy of
    the sample, another class mix and longer texts."""
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
    texts, labels, given, flipped = flipped_sample(0.2, seed=3)
    texts = [
        f"SECRET{i} {text} " + "and a long customer message about an order " * 5
        for i, text in enumerate(texts)
    ]
    write_split(prepared / "train.jsonl", texts[:1200], given[:1200])
    write_split(prepared / "validation.jsonl", texts[1200:1500], given[1200:1500])
    test_texts = [texts[0], *texts[1501:]]  # test row 1 is train row 1 too
    write_split(prepared / "test.jsonl", test_texts, [given[0], *given[1501:]])
    (prepared / "labels.json").write_text(json.dumps({"labels": labels}))
    monkeypatch.chdir(tmp_path)
    return {index + 1 for index in flipped if index < 1200}  # train rows flipped


def test_the_checks_against_main_and_their_section(repository):
    checks = data_checks.run(Path("data/prepared"))

    assert checks["class_prior_psi"] > data_checks.SHIFT_FLAG
    assert checks["length_psi"] > data_checks.SHIFT_FLAG
    assert [leak["test_row"] for leak in checks["leakage"]["exact"]] == [1]
    issues = checks["label_issues"]["issues"]
    suspected_train = {issue["row"] for issue in issues if issue["split"] == "train"}
    assert len(suspected_train & repository) >= 0.8 * len(repository)

    text = data_checks.section(checks)

    assert text.startswith("### Data checks vs `main`")
    assert f"| {len(issues)} of 1800 (" in text
    assert f"train {len(suspected_train)} of 1200" in text
    assert "| 1 of 300 |" in text  # the test row also in train
    assert "**(shifted)**" in text
    assert "SECRET" not in text and "customer message" not in text  # no text reaches the comment
    first_train = next(issue["row"] for issue in issues if issue["split"] == "train")
    # Prepared without a source (an older prepare): the line of the prepared split is named.
    assert f"train rows (most suspicious first): `data/prepared/train.jsonl` lines {first_train}," in text
    # Each figure with the rule that flags it; the gate rules are off unless params.yaml sets them.
    assert "| Check | Result | Flagged when |" in text
    assert f"PSI > {data_checks.SHIFT_FLAG}" in text
    assert "not gated (`review.data_gate.max_label_issue_share`)" in text


def test_main_without_a_reference_says_so(repository):
    subprocess.run(["git", "rm", "-q", "metrics/reference.json"], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "no reference"], check=True)

    checks = data_checks.run(Path("data/prepared"))

    assert checks["length_psi"] is None
    assert "`main` has no reference yet" in data_checks.section(checks)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"text": null, "label": "billing"}', "line 3: not a prepared row"),
        ('{"label": "billing"}', "line 3: not a prepared row ('text')"),
        ("not json", "line 3: not a prepared row"),
    ],
)
def test_a_malformed_prepared_row_is_named(repository, line, says):
    path = Path("data/prepared/validation.jsonl")
    lines = path.read_text().splitlines()
    lines[2] = line
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(data_checks.DataCheckError, match=re.escape(f"{path}: {says}")):
        data_checks.run(Path("data/prepared"))


def test_a_label_outside_labels_json_is_refused(repository):
    Path("data/prepared/labels.json").write_text(json.dumps({"labels": ["billing", "delivery"]}))

    with pytest.raises(data_checks.DataCheckError, match=r"not in labels.json"):
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
    assert "Suspected label errors, all splits (confident learning;" in rendered
    assert "SECRET" not in rendered


def test_the_report_says_why_the_checks_did_not_run():
    rendered = report_with(
        "plots/heldout_probabilities.csv: not found; the evaluate stage writes it (dvc repro)"
    )

    assert "### Data checks vs `main`\n\nNot run: plots/heldout\\_probabilities.csv: not found" in rendered


def with_sources(path: Path, file: str, first_row: int) -> None:
    """Give each prepared row the raw place prepare records: `file`, rows from `first_row`."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for number, row in enumerate(rows):
        row["source"] = {"file": file, "row": first_row + number, "line": first_row + number + 1}
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_flagged_rows_are_named_by_their_raw_file_and_row_and_all_listed_in_a_file(repository, tmp_path):
    for index, name in enumerate(("train", "validation", "test")):
        with_sources(Path(f"data/prepared/{name}.jsonl"), f"data/raw/part{index}.csv", 1000 * index + 1)

    checks = data_checks.run(Path("data/prepared"))
    text = data_checks.section(checks)
    written = data_checks.write_flagged(checks, tmp_path / "flagged_rows.csv")

    issues = checks["label_issues"]["issues"]
    first = next(issue for issue in issues if issue["split"] == "train")
    assert first["source"] == {"file": "data/raw/part0.csv", "row": first["row"], "line": first["row"] + 1}
    assert f"train rows (most suspicious first): `data/raw/part0.csv` rows {first['row']}," in text
    assert "`data/raw/part2.csv` row 2001" in text  # test row 1, a copy of train row 1
    assert "reports/flagged_rows.csv" in text
    with written.open(newline="") as handle:
        flagged = list(csv.DictReader(handle))
    assert len(flagged) == len(issues) + len(checks["leakage"]["exact"]) + len(checks["leakage"]["near"])
    leak = flagged[0]
    assert (leak["check"], leak["raw_file"], leak["raw_row"], leak["train_raw_row"]) == (
        "exact_copy_of_train",
        "data/raw/part2.csv",
        "2001",
        "1",
    )
    label_rows = [row for row in flagged if row["check"] == "label_error"]
    assert {row["given"] for row in label_rows} <= set(
        json.loads(Path("data/prepared/labels.json").read_text())["labels"]
    )
    assert all(row["raw_file"] and row["raw_row"] and row["suggested"] for row in label_rows)
    assert "SECRET" not in written.read_text() and "customer message" not in written.read_text()


def heldout(path: Path, labels: list[str], predicted: list[str]) -> None:
    rows = [
        [n, *(0.9 if label == guess else 0.1 / (len(labels) - 1) for label in labels)]
        for n, guess in enumerate(predicted, 1)
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", *labels])
        writer.writerows(rows)


def test_a_caveat_when_the_fine_tuned_model_agrees_with_most_flagged_labels(repository, tmp_path):
    labels = json.loads(Path("data/prepared/labels.json").read_text())["labels"]
    given = [json.loads(line)["label"] for line in Path("data/prepared/test.jsonl").read_text().splitlines()]
    agreeing, disagreeing = tmp_path / "agree.csv", tmp_path / "disagree.csv"
    heldout(agreeing, labels, given)  # the fine-tuned model says every given label is right
    heldout(disagreeing, labels, [labels[(labels.index(g) + 1) % len(labels)] for g in given])

    agreed = data_checks.run(Path("data/prepared"), heldout_file=agreeing)
    disagreed = data_checks.run(Path("data/prepared"), heldout_file=disagreeing)

    flags = sum(issue["split"] == "test" for issue in agreed["label_issues"]["issues"])
    assert flags and agreed["label_issues"]["heldout"] == {
        "test_flags": flags,
        "fine_tuned_gives_given_label": flags,
    }
    assert "**Caveat:**" in data_checks.section(agreed)
    assert "check model's own mistakes" in data_checks.section(agreed)
    assert disagreed["label_issues"]["heldout"]["fine_tuned_gives_given_label"] == 0
    assert "**Caveat:**" not in data_checks.section(disagreed)
    assert "look like real label errors" in data_checks.section(disagreed)


def test_held_out_probabilities_of_another_test_split_are_not_used(repository, tmp_path):
    labels = json.loads(Path("data/prepared/labels.json").read_text())["labels"]
    short = tmp_path / "short.csv"
    heldout(short, labels, labels[:2])

    checks = data_checks.run(Path("data/prepared"), heldout_file=short)

    problem = checks["label_issues"]["heldout"]["problem"]
    assert problem.startswith(f"{short}: 2 rows of probabilities, but the test split has ")
    assert "No second opinion on these flags (the held-out probabilities were not used: " in (
        data_checks.section(checks)
    )


def test_the_section_shows_the_gate_rules_that_are_set(repository):
    from textclf.config import DataGateParams

    text = data_checks.section(
        data_checks.run(Path("data/prepared")),
        DataGateParams(max_label_issue_share=0.05, max_leaked_test_rows=0),
    )

    assert "gate: share ≤ 0.05" in text and "gate: rows ≤ 0" in text
    assert "not gated (`review.data_gate.max_class_prior_psi`)" in text


def test_without_this_workspace_s_class_counts_the_checks_did_not_run(repository):
    """A missing metrics/data.json is no class mix that did not move: the checks stop naming the
    file, so a `max_class_prior_psi` rule fails the gate as not run instead of passing."""
    Path("metrics/data.json").unlink()

    with pytest.raises(data_checks.DataCheckError, match=r"metrics/data.json: no class counts"):
        data_checks.run(Path("data/prepared"))


def test_rows_the_check_model_merely_finds_hard_are_counted_not_listed():
    found = {
        "issues": [],
        "rows": {"train": 100},
        "seconds": 0.1,
        "method": "m",
        "hard_rows_not_flagged": 7,
        "max_p_given": 0.1,
    }
    checks = {
        "base_ref": "main",
        "leakage": {"exact": [], "near": [], "threshold": 0.8, "seconds": 0.1},
        "label_issues": found,
        "test_rows": 0,
        "class_prior_psi": None,
        "length_psi": None,
    }

    assert "0 of 100 (0.0%): train 0 of 100; not listed: 7 more it picked but gives their label p ≥ 0.1" in (
        data_checks.section(checks)
    )
    assert "not listed" not in data_checks.section(
        checks | {"label_issues": found | {"hard_rows_not_flagged": 0}}
    )
