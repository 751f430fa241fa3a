"""The gate judges metrics/eval.json only as the evaluate stage writes it for this data: every class
of the data (params.yaml data.labels, or the prepare stage's labels.json when that is null) in
per_class and the confusion matrix, a square matrix, and figures that are what the matrix gives.
A file that leaves out classes or contradicts itself (a PR may edit it with its md5 in dvc.lock, so
repro-ci skips evaluate) is refused, exit 2, naming the key and `dvc repro`."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.review.conftest import LABELS, eval_metrics
from textclf import cli
from textclf.review.champion import check_consistent
from textclf.review.gate import GateError

WHERE = "metrics/eval.json"


def one_class_of_three(m: dict) -> None:
    """The tester's edit: every class but the first dropped, no matrix, test_rows of that class."""
    for label in LABELS[1:]:
        m["per_class"].pop(label)
    m.pop("confusion_matrix")
    m["test_rows"] = m["per_class"][LABELS[0]]["support"]


def nothing_right(m: dict) -> None:
    """An accuracy of 0.97 next to a matrix without one correct prediction."""
    m["confusion_matrix"]["rows_actual_columns_predicted"] = [[0, 20, 0], [0, 0, 20], [20, 0, 0]]
    m["accuracy"] = 0.97


def two_labels_for_three_rows(m: dict) -> None:
    m["confusion_matrix"]["labels"] = LABELS[:2]


def zero_f1s(m: dict) -> None:
    for scores in m["per_class"].values():
        scores["f1"] = 0.0
    m["macro_f1"] = 0.97


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (one_class_of_three, "confusion_matrix is missing"),
        (lambda m: m["per_class"].pop("returns"), "per_class lacks ['returns']"),
        (
            nothing_right,
            "accuracy is 0.97 but the confusion_matrix (its diagonal over its total) gives 0.0000",
        ),
        (two_labels_for_three_rows, "confusion_matrix.labels lacks ['returns']"),
        (zero_f1s, "macro_f1 is 0.97 but the mean f1 of the classes in the confusion_matrix gives 0.9166"),
        (lambda m: m["per_class"]["returns"].update(recall=1.0), "per_class.returns.recall is 1.0"),
    ],
)
def test_the_gate_refuses_an_eval_json_that_leaves_out_classes_or_contradicts_itself(
    first_repo, no_aws, capsys, edit, message
):
    path = first_repo.root / WHERE
    metrics = json.loads(path.read_text(encoding="utf-8"))
    edit(metrics)
    path.write_text(json.dumps(metrics), encoding="utf-8")

    assert cli.main(["gate", "--champion", "main"]) == 2  # before: 0, "gate: pass"

    err = capsys.readouterr().err
    assert f"error: {WHERE}: {message}" in err, err
    assert "run `dvc repro`" in err and "Traceback" not in err
    assert not (first_repo.root / "reports/gate.json").exists()


def test_classes_other_than_the_datas_are_refused(first_repo, no_aws, capsys):
    params = first_repo.params()
    params["data"]["labels"] = [*LABELS, "warranty"]
    first_repo.write_params(params)

    assert cli.main(["gate", "--champion", "main"]) == 2

    err = capsys.readouterr().err
    assert "per_class lacks ['warranty']; the data's classes (params.yaml data.labels) are" in err


def test_with_labels_null_the_classes_are_prepares_labels_json(first_repo, no_aws, capsys):
    params = first_repo.params()
    params["data"]["labels"] = None
    first_repo.write_params(params)

    assert cli.main(["gate", "--champion", "main"]) == 2
    assert "data/prepared/labels.json: not found; run the pipeline (dvc repro)" in capsys.readouterr().err

    first_repo.write_json("data/prepared/labels.json", {"labels": ["billing", "billing"]})
    assert cli.main(["gate", "--champion", "main"]) == 2
    assert 'labels.json: expected {"labels": [...]} with two or more distinct' in capsys.readouterr().err

    first_repo.write_json("data/prepared/labels.json", {"labels": ["billing", "returns"]})
    assert cli.main(["gate", "--champion", "main"]) == 2
    err = capsys.readouterr().err
    assert "has ['delivery'], not classes of the data; the data's classes (data/prepared/labels.json)" in err

    first_repo.write_json("data/prepared/labels.json", {"labels": LABELS})
    assert cli.main(["gate", "--champion", "main"]) == 0


def test_the_repositorys_own_eval_json_is_consistent(repo_root):
    metrics = json.loads((repo_root / WHERE).read_text(encoding="utf-8"))
    labels = yaml.safe_load((repo_root / "params.yaml").read_text(encoding="utf-8"))["data"]["labels"]
    check_consistent(metrics, WHERE, labels, "params.yaml data.labels", GateError)


CLASSES = [f"c{n}" for n in range(5)]
# {actual: {predicted: count}} over 2 to 5 classes, every class with at least one test row.
OUTCOMES = st.integers(2, 5).flatmap(
    lambda n: st.tuples(
        *(
            st.lists(st.integers(0, 40), min_size=n, max_size=n).map(
                lambda row, i=i: [max(row[j], 1) if j == i and not any(row) else row[j] for j in range(n)]
            )
            for i in range(n)
        )
    )
)


def written(rows: tuple[list[int], ...]) -> tuple[dict, list[str]]:
    labels = CLASSES[: len(rows)]
    outcomes = {
        labels[i]: {labels[j]: count for j, count in enumerate(row) if count} for i, row in enumerate(rows)
    }
    return eval_metrics(outcomes), labels


FIGURES = st.sampled_from(["accuracy", "macro_f1", "precision", "recall", "f1"])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(rows=OUTCOMES, data=st.data())
def test_what_evaluate_writes_passes_and_any_dropped_class_or_moved_figure_is_refused(rows, data):
    metrics, labels = written(rows)
    check_consistent(metrics, WHERE, labels, "data.labels", GateError)  # evaluate's own figures

    dropped = data.draw(st.sets(st.sampled_from(labels), min_size=1, max_size=len(labels) - 1))
    fewer = json.loads(json.dumps(metrics))
    for label in dropped:
        fewer["per_class"].pop(label)
    with pytest.raises(GateError, match=r"per_class lacks|confusion_matrix.labels|per_class\.") as refused:
        check_consistent(fewer, WHERE, labels, "data.labels", GateError)
    assert "dvc repro" in str(refused.value)

    figure, label = data.draw(FIGURES), data.draw(st.sampled_from(labels))
    moved = json.loads(json.dumps(metrics))
    scores = moved if figure in ("accuracy", "macro_f1") else moved["per_class"][label]
    shift = data.draw(st.sampled_from([-1, 1])) * data.draw(st.floats(2e-4, 1.0))
    if not 0 <= scores[figure] + shift <= 1:
        shift = -shift
    scores[figure] = round(scores[figure] + shift, 4)
    with pytest.raises(GateError, match=rf"{figure} is .* gives"):
        check_consistent(moved, WHERE, labels, "data.labels", GateError)


def test_a_class_with_no_test_rows_is_what_evaluate_writes():
    metrics = eval_metrics({"a": {"a": 3, "b": 1}, "b": {"b": 2}, "c": {}})
    check_consistent(metrics, WHERE, ["a", "b", "c"], "data.labels", GateError)
