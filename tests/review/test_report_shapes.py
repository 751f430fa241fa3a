"""The report on valid JSON of the wrong shape: each input file is checked where it is read (a
ReportError naming the file and key), and whatever passes the checks renders without an exception."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.review.conftest import MAIN_DATA, PR_EVAL
from tests.review.test_render import SAGEMAKER_JOB, inputs
from textclf import cli
from textclf.review import report
from textclf.review.report import ReportError

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats()
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
EVAL_PATHS = [
    ("per_class",),
    ("per_class", "billing"),
    ("per_class", "billing", "recall"),
    ("per_class", "billing", "support"),
    ("confusion_matrix",),
    ("confusion_matrix", "labels"),
    ("confusion_matrix", "rows_actual_columns_predicted"),
    ("accuracy",),
]
DATA_PATHS = [("rows",), ("rows", "train"), ("classes",), ("classes", "train"), ("dropped",), ("text_chars",)]
JOB_PATHS = [("hardware",), ("phases",), ("training_seconds",), ("spot",), ("instance_count",)]


def changed(payload: dict, path: tuple, value) -> dict:
    payload = copy.deepcopy(payload)
    node = payload
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[path[-1]] = value
    return payload


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(["eval", "data", "job"]),
    eval_path=st.sampled_from(EVAL_PATHS),
    data_path=st.sampled_from(DATA_PATHS),
    job_path=st.sampled_from(JOB_PATHS),
    value=JSON,
)
def test_any_shape_is_refused_by_its_check_or_renders(which, eval_path, data_path, job_path, value):
    candidate, data, job = PR_EVAL, MAIN_DATA, SAGEMAKER_JOB
    if which == "eval":
        candidate = changed(PR_EVAL, eval_path, value)
    elif which == "data":
        data = changed(MAIN_DATA, data_path, value)
    else:
        job = changed(SAGEMAKER_JOB, job_path, value)
    try:
        report.check_numbers(candidate, "eval")
        report.check_eval(candidate, "eval")
        report.check_data(data, "data")
        report.check_job(job, "job")
    except ReportError as error:
        assert str(error).split(":")[0] in {"eval", "data", "job"}
        return
    text = report.render(inputs(candidate, data=data, base_data=MAIN_DATA, train_job=job))
    assert text.startswith("## ")


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("metrics/eval.json", {**PR_EVAL, "per_class": [1, 2]}, "per_class must be an object of classes"),
        (
            "metrics/eval.json",
            {**PR_EVAL, "per_class": {"billing": 0.9}},
            "per_class.billing must be an object",
        ),
        ("metrics/eval.json", {**PR_EVAL, "accuracy": 10**400}, "accuracy: an integer too large"),
        ("metrics/data.json", {**MAIN_DATA, "rows": {"train": -5}}, "rows must map names to counts"),
        ("metrics/data.json", [1], "expected a JSON object"),
        ("reports/train_job.json", {**SAGEMAKER_JOB, "hardware": "gpu"}, "hardware must be an object"),
        ("metrics/eval.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("metrics/data.json", '{"rows": {}, "rows": {"train": 5}}', "key 'rows' is given twice"),
    ],
)
def test_report_names_the_file_and_key_of_a_wrong_shape(pr_repo, no_aws, capsys, name, payload, message):
    text = payload if isinstance(payload, str) else json.dumps(payload)
    pr_repo.write(name, text)
    assert cli.main(["report", "--champion", "main"]) == 2
    err = capsys.readouterr().err
    assert f"{name}: " in err and message in err
    assert not (pr_repo.root / "reports/report.md").exists()


def test_a_loss_curve_that_is_not_utf8_is_named(pr_repo, no_aws, capsys):
    (pr_repo.root / "plots/train_loss.csv").write_bytes(b"step,loss\n1,\xff\xfe\n")
    assert cli.main(["report", "--champion", "main"]) == 2
    assert "plots/train_loss.csv: not a CSV file of the pipeline" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["metrics/train.json", "metrics/gate.json", "metrics/reference.json"])
def test_a_base_metrics_file_only_dvc_reads_is_checked_before_dvc(pr_repo, no_aws, capsys, name):
    """R14A-5: an integer of 400 digits in the base's train.json stopped the report inside DVC ("`dvc
    metrics diff` failed: int too large to convert to float"), naming neither the file nor the key."""
    pr_repo.git("switch", "-q", "-c", "bigbase", "main")
    try:
        pr_repo.write(name, json.dumps({"train_loss": 10**400, "old": 0.3}))
        pr_repo.commit("big number")
        pr_repo.git("switch", "-q", "pr")

        assert cli.main(["report", "--base", "bigbase", "--champion", "main"]) == 2
        err = capsys.readouterr().err
        assert f"bigbase:{name}: train_loss: an integer too large for a metric" in err, err
        assert "dvc metrics diff" not in err
    finally:
        pr_repo.git("switch", "-q", "-f", "pr")
        pr_repo.git("branch", "-q", "-D", "bigbase")


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("name", ["params.yaml", "dvc.yaml", "dvc.lock"])
def test_a_base_yaml_file_dvc_would_expand_without_end_is_refused_before_dvc_runs(
    pr_repo, no_aws, capsys, name
):
    """R14A-8: an alias bomb of 500 bytes in the base's params.yaml reached `dvc params diff` and
    `dvc metrics diff`, which grew by 20 MB/s each for minutes."""
    pr_repo.git("switch", "-q", "-c", "bombbase", "main")
    try:
        path = pr_repo.root / name
        path.write_text((path.read_text(encoding="utf-8") if path.exists() else "") + BOMB, encoding="utf-8")
        pr_repo.commit("bomb")
        pr_repo.git("switch", "-q", "pr")

        assert cli.main(["report", "--base", "bombbase", "--champion", "main"]) == 2
        err = capsys.readouterr().err
        assert f"[textclf] error: bombbase:{name}: " in err, err
        assert "through a YAML alias" in err or "through YAML anchors and aliases" in err, err
        assert (
            "fix it on bombbase, or compare with another base (--base)" in err and "failed (exit" not in err
        )
        # `make plots-page` runs this before `dvc plots diff` reads the base.
        assert cli.main(["check-base", "--base", "bombbase"]) == 2
        assert f"[textclf] error: bombbase:{name}: " in capsys.readouterr().err
    finally:
        pr_repo.git("switch", "-q", "-f", "pr")
        pr_repo.git("branch", "-q", "-D", "bombbase")


def test_make_plots_page_checks_the_base_before_dvc_reads_it(repo_root):
    # The rules before it (install, npm ci) taken as done: only the recipe's lines are listed.
    done_before = ("-o", ".venv/.installed", "-o", "node_modules/.package-lock.json")
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *done_before, "plots-page"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")},
    )
    lines = done.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if "textclf check-base" in line)
    plots = next(i for i, line in enumerate(lines) if "dvc plots diff" in line)
    assert check < plots, done.stdout
