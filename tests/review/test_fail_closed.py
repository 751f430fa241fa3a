"""No gate input fails open: missing params sections, metrics outside 0..1, a broken champion,
a verdict spelled another way, and JSON of any shape in place of the metrics."""

from __future__ import annotations

import json
import math
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.review.conftest import EVALUATE, LABELS, PR_EVAL
from textclf import cli
from textclf.config import EvaluateParams, ParamsError, load_params
from textclf.verdict import Champion, is_pass, judge

PARAMS = EvaluateParams.model_validate(EVALUATE)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("accuracy", 7.0),
        ("accuracy", -0.5),
        ("macro_f1", 1.0000001),
        ("accuracy", 10**400),  # once an OverflowError in math.isfinite
        ("macro_f1", math.inf),
        ("macro_f1", math.nan),
    ],
)
def test_a_metric_outside_zero_to_one_fails_the_gate(key, value):
    verdict = judge({**PR_EVAL, key: value}, PARAMS)
    assert verdict["verdict"] == "fail"
    assert f"{key} = missing, not a number or outside 0..1" in verdict["reasons"][0]


def test_a_recall_above_one_fails_its_class():
    per_class = {**PR_EVAL["per_class"], "billing": {**PR_EVAL["per_class"]["billing"], "recall": 3.0}}
    verdict = judge({**PR_EVAL, "per_class": per_class}, PARAMS)
    assert verdict["verdict"] == "fail" and "recall[billing]" in verdict["reasons"][0]


@pytest.mark.parametrize("verdict", ["FAIL", "Pass", "pass ", "", None, 1, True, ["pass"]])
def test_only_the_exact_pass_is_a_pass(verdict):
    assert not is_pass({"verdict": verdict})
    assert is_pass({"verdict": "pass"})
    assert not is_pass("pass") and not is_pass(None) and not is_pass([{"verdict": "pass"}])


# --- params sections ---------------------------------------------------------------------------


def template(repo_root) -> dict:
    return yaml.safe_load((repo_root / "params.yaml").read_text(encoding="utf-8"))


def write(path, params: dict) -> None:
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("drop", "command", "named"),
    [
        (("evaluate",), "gate", "evaluate: missing"),
        (("evaluate", "thresholds"), "gate", "evaluate.thresholds: missing"),
        (
            ("evaluate", "thresholds", "min_class_recall"),
            "gate",
            "evaluate.thresholds.min_class_recall: missing",
        ),
        (("aws",), "gate", "aws: missing"),
        (("data", "labels"), "prepare", "data.labels: missing"),
        (("data",), "prepare", "data: missing"),
        (("deploy", "staging"), "bake", "deploy.staging: missing"),
        (("batch",), "batch-predict", "batch: missing"),
    ],
)
def test_a_section_the_command_reads_is_never_taken_from_built_in_defaults(
    tmp_path, repo_root, monkeypatch, capsys, drop, command, named
):
    params = template(repo_root)
    parent = params
    for key in drop[:-1]:
        parent = parent[key]
    del parent[drop[-1]]
    write(tmp_path / "params.yaml", params)
    monkeypatch.chdir(tmp_path)
    extra = {"batch-predict": ["--input", "s3://b/in/", "--output", "s3://b/out/"]}.get(command, [])

    assert cli.main([command, *extra]) == 2
    err = capsys.readouterr().err
    assert f"params.yaml: {named}; this command reads it" in err
    assert not (tmp_path / "reports").exists()


def test_every_key_of_the_template_is_enough_for_every_command(repo_root):
    every = tuple(dict.fromkeys(section for needs in cli.NEEDS.values() for section in needs))
    load_params(repo_root / "params.yaml", needs=every)


def test_a_params_file_with_an_empty_data_section_is_refused_for_prepare(tmp_path, repo_root):
    params = template(repo_root)
    params["data"] = {}  # once: the label whitelist silently dropped
    write(tmp_path / "params.yaml", params)
    with pytest.raises(ParamsError, match=r"data\.labels: missing.*list of labels, or null"):
        load_params(tmp_path / "params.yaml", needs=cli.NEEDS["prepare"])


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    lines = ["x0: &l0 [a, b, c, d, e, f, g, h, i]"]
    lines += [f"x{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    # Under a key the gate does not read: data.labels or a threshold through an alias is refused
    # earlier, by name (tests/code/test_params_gate_keys_in_place.py).
    (tmp_path / "params.yaml").write_text("\n".join(lines) + "\ntrain:\n  epochs: *l8\n", encoding="utf-8")
    started = time.thread_time()  # CPU time: a busy machine stretches the wall clock, not this
    # Any alias is refused now (round 10, F-m), before anything is expanded.
    with pytest.raises(ParamsError, match="comes through a YAML alias"):
        load_params(tmp_path / "params.yaml")
    assert time.thread_time() - started < 1


# --- the gate command on metrics files of any shape -------------------------------------------


def test_gate_on_a_huge_integer_metric_is_refused_without_a_traceback(first_repo, no_aws, capsys):
    path = first_repo.root / "metrics/eval.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(metrics | {"accuracy": 10**400}), encoding="utf-8")
    assert cli.main(["gate", "--champion", "main"]) == 2
    err = capsys.readouterr().err
    assert "metrics/eval.json: accuracy is a huge integer but the confusion_matrix" in err
    assert "Traceback" not in err and not (first_repo.root / "reports/gate.json").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m["per_class"]["billing"].update(support=-5),
            "per_class.billing.support must be a whole number",
        ),
        (
            lambda m: m["per_class"]["billing"].update(support=4.5),
            "per_class.billing.support must be a whole number",
        ),
        (lambda m: m.update(confusion_matrix={"labels": LABELS}), "confusion_matrix needs labels and rows"),
        (lambda m: m.update(graphs=["none"]), "graphs must be an object, not list"),
        (lambda m: m.update(serving="auto"), "serving must be an object, not str"),
        (lambda m: m.update(truncation={"rows": -1}), "truncation.rows must be a whole number"),
        (lambda m: m.update(test_rows=0), "test_rows must be the number of test rows scored"),
        # A class dropped from per_class escaped min_class_recall: the gate passed.
        (lambda m: m["per_class"].pop(LABELS[0]), f"per_class lacks ['{LABELS[0]}']"),
        # int8 said served without its file: which graph was judged is unknown.
        (
            lambda m: m.update(graph={"quantize": "int8"}, serving=None),
            "graph.quantize 'int8' does not go with graph.file None",
        ),
    ],
)
def test_gate_refuses_a_metrics_file_the_report_refuses(first_repo, no_aws, capsys, edit, message):
    path = first_repo.root / "metrics/eval.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    edit(metrics)
    path.write_text(json.dumps(metrics), encoding="utf-8")
    assert cli.main(["gate", "--champion", "main"]) == 2
    assert message in capsys.readouterr().err
    assert not (first_repo.root / "reports/gate.json").exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Near the bounds and far outside them, of every JSON type.
VALUES = st.floats(min_value=-0.5, max_value=1.5) | st.sampled_from([10**400, math.nan, math.inf, 1]) | JSON
WHERE = st.sampled_from(["accuracy", "macro_f1", "per_class", "billing", "recall[billing]"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=WHERE, value=VALUES, reference=VALUES)
def test_judge_answers_any_json_and_passes_only_scores_within_bounds(where, value, reference):
    metrics = json.loads(json.dumps(PR_EVAL))
    if where == "billing":
        metrics["per_class"]["billing"] = value
    elif where == "recall[billing]":
        metrics["per_class"]["billing"]["recall"] = value
    else:
        metrics[where] = value
    verdict = judge(metrics, PARAMS, Champion("main", {"macro_f1": reference}, "x"))
    ok = [check["passed"] for check in verdict["checks"]]
    assert (verdict["verdict"] == "pass") == all(ok) and ok
    if verdict["verdict"] == "pass":
        for check in verdict["checks"]:
            assert 0 <= check["value"] <= 1
        assert isinstance(reference, int | float) and 0 <= reference <= 1
