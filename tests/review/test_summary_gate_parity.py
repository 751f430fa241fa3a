"""`textclf summary` (make repro's last screen) says what `textclf gate` would, for every form of
metrics/eval.json and base (round 9: U-g1 wider, U-g2): a PASS where the gate fails or refuses
misleads the one reading the screen. The gate's exit code and the summary's Gate line agree:
0 is PASS, 1 is FAIL, 2 (the gate refuses) is CANNOT JUDGE."""

from __future__ import annotations

import copy

import pytest

from tests.review.conftest import PR_EVAL
from textclf import cli

SAID = {0: "Gate: PASS", 1: "Gate: FAIL", 2: "Gate: CANNOT JUDGE"}


def drop_class(m):
    m["per_class"].pop("warranty")


def extra_class(m):
    m["per_class"]["zzz"] = dict(m["per_class"]["billing"])


def labels_reversed(m):
    m["confusion_matrix"]["labels"].reverse()


def both_served(m):
    m["graphs"]["int8"] = {**m["graphs"]["none"], "file": "model.int8.onnx", "quantize": "int8"}


def file_swapped(m):
    m["graph"]["file"] = "model.int8.onnx"


def quantize_int8(m):
    m["graph"]["quantize"] = "int8"


def graph_missing(m):
    del m["graph"]


def graphs_missing(m):
    del m["graphs"]


def no_test_rows(m):
    m["test_rows"] = 0


def truncation_text(m):
    m["truncation"] = "x"


def accuracy_seven(m):
    m["accuracy"] = 7.0


def accuracy_text(m):
    m["accuracy"] = "0.99"


def low_recall(m):
    m["per_class"]["warranty"]["recall"] = 0.1


def extra_key(m):
    m["zz"] = 1


def unchanged(m):
    return None


FORMS = [
    unchanged,
    extra_key,
    drop_class,
    extra_class,
    labels_reversed,
    both_served,
    file_swapped,
    quantize_int8,
    graph_missing,
    graphs_missing,
    no_test_rows,
    truncation_text,
    accuracy_seven,
    accuracy_text,
    low_recall,
]


def said(repo, capsys, metrics: dict, *args: str) -> tuple[int, str]:
    repo.write_json("metrics/eval.json", metrics)
    try:
        status = cli.main(["gate", "--champion", "main", *args])
    except SystemExit as exit_:
        status = exit_.code
    capsys.readouterr()
    assert cli.main(["summary", "--champion", "main", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    (gate_line,) = [line for line in lines if line.startswith("Gate: ")]
    return status, gate_line


@pytest.mark.parametrize("edit", FORMS, ids=[form.__name__ for form in FORMS])
def test_the_summary_says_what_the_gate_does(pr_repo, no_aws, capsys, edit):
    metrics = copy.deepcopy(PR_EVAL)
    edit(metrics)

    status, gate_line = said(pr_repo, capsys, metrics)

    assert gate_line.startswith(SAID[status]), (status, gate_line)


@pytest.mark.parametrize("base", ["no-such-branch", "../../etc/passwd", "-"])
def test_a_base_the_gate_refuses_is_no_pass_in_the_summary(pr_repo, no_aws, capsys, base):
    status, gate_line = said(pr_repo, capsys, copy.deepcopy(PR_EVAL), "--base", base)

    assert status == 2 and gate_line.startswith("Gate: CANNOT JUDGE (no champion: make gate stops, exit 2)")
