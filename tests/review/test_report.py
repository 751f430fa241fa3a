"""The PR report, built by `textclf report` in real git histories with real `dvc metrics diff` and
`dvc params diff`: every section, for a PR that changes params and data, a failed gate, a NaN or
missing metric, the first PR ever and a very long class name."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from tests.review.conftest import (
    MAIN_DATA,
    MAIN_EVAL,
    PR_EVAL,
    assert_valid_tables,
    data_metrics,
    enter,
    eval_metrics,
    section,
    table_after,
    tables,
)
from textclf import cli
from textclf.review.champion import PRODUCTION_KEY
from textclf.review.report import fmt, md

GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/textclf",
    "GITHUB_RUN_ID": "4242",
}
# Mermaid's xychart reads plain decimals only.
MERMAID_NUMBERS = re.compile(r"line \[(-?\d+\.\d+)(, -?\d+\.\d+)*\]")


def build(*args: str) -> str:
    assert cli.main(["report", *args]) == 0
    with open("reports/report.md", encoding="utf-8") as handle:
        report = handle.read()
    assert_valid_tables(report)
    return report


@pytest.fixture(scope="module")
def pr_report(history) -> str:
    """The report of the PR branch against main's metrics (no release recorded), as CI builds it;
    built once, read by the section tests below."""
    with pytest.MonkeyPatch.context() as patch:
        enter(history, patch)
        for key, value in GITHUB.items():
            patch.setenv(key, value)
        return build("--champion", "main", "--commit-sha", pr_head(history))


def pr_head(history) -> str:
    """The PR branch's commit: --commit-sha must name a commit of the repository."""
    return history.git("rev-parse", "pr")


def test_headline_compares_this_pr_with_main_on_the_main_metric(pr_report, history):
    pr_commit = pr_head(history)
    headline = section(pr_report, "## ")
    assert headline.startswith(f"## ✅ Gate passed: macro\\_f1 {fmt(PR_EVAL['macro_f1'])}")
    rows = table_after(headline, "Model")
    header = next(rows[0] for rows in tables(headline) if rows[0][0] == "Model")
    assert header == ["Model", "macro\\_f1", "this PR's macro\\_f1 minus this model's"]
    assert rows[f"**this PR** ({pr_commit[:12]})"] == [f"**{fmt(PR_EVAL['macro_f1'])}**", ""]
    assert rows["production"] == ["—", ""]
    assert rows["main (committed)"] == ["0.9166", "−0.0034"]
    assert "compared with main's committed metrics (main:metrics/eval.json)" in headline
    checks = table_after(headline, "Check")
    assert checks["macro\\_f1 vs main"] == [
        "0.9132",
        "≥ 0.9066 (champion 0.9166 − tolerance 0.0100)",
        "✅ pass",
    ]
    assert checks["recall\\[warranty\\]"] == ["0.8000", "≥ 0.7500", "✅ pass"]


def test_metrics_table_is_dvc_metrics_diff_against_main(pr_report):
    metrics = table_after(section(pr_report, "### Metrics"), "Metric")
    assert metrics["accuracy"] == ["0.9167", "0.9125", "−0.0042"]
    assert metrics["macro\\_f1"] == [fmt(MAIN_EVAL["macro_f1"]), fmt(PR_EVAL["macro_f1"]), "−0.0034"]
    assert metrics["test\\_rows"] == ["60", "80", "+20"]
    assert metrics["train\\_loss"] == ["0.3100", "0.2200", "−0.0900"]
    assert metrics["global\\_step"] == ["200", "300", "+100"]
    assert next(iter(metrics)) == "macro\\_f1"  # the main metric first
    assert not any(name.startswith("per") for name in metrics)  # per class has its own section


def test_params_that_changed_are_dvc_params_diff(pr_report):
    params = table_after(section(pr_report, "### Metrics"), "Param")
    assert params == {
        "data.labels": [
            "\\['billing', 'delivery', 'returns'\\]",
            "\\['billing', 'delivery', 'returns', 'warranty'\\]",
        ],
        "evaluate.thresholds.min\\_class\\_recall": ["0.7", "0.75"],
        "train.epochs": ["2", "3"],
    }


def test_per_class_scores_show_changes_and_the_new_class(pr_report):
    per_class = section(pr_report, "### Per class")
    rows = table_after(per_class, "Class")
    assert rows["billing"] == ["0.9048 (+0.0477)", "0.9500 (+0.0500)", "0.9268 (+0.0488)", "20"]
    assert rows["delivery"] == ["1.0000", "1.0000", "1.0000", "20"]
    assert rows["warranty **(new)**"] == ["1.0000", "0.8000", "0.8889", "20"]


def test_confusion_matrix_shows_shares_marks_the_worst_cells_and_lists_confused_pairs_first(pr_report):
    per_class = section(pr_report, "### Per class")
    matrix = table_after(per_class, "actual \\ predicted")
    header = next(rows[0] for rows in tables(per_class) if rows[0][0] == "actual \\ predicted")
    assert header[1:] == ["billing", "delivery", "returns", "warranty"]
    assert matrix["billing"] == ["**19 (95 %)**", "0", "⚠️ 1 (5 %)", "0"]
    assert matrix["returns"] == ["⚠️ 2 (10 %)", "0", "**18 (90 %)**", "0"]
    assert matrix["warranty"] == ["0", "0", "⚠️ 4 (20 %)", "**16 (80 %)**"]
    pairs = table_after(per_class, "Actual class")
    assert list(pairs.items()) == [
        ("warranty", ["returns", "4", "20 %"]),
        ("returns", ["billing", "2", "10 %"]),
        ("billing", ["returns", "1", "5 %"]),
    ]
    # Four classes: the pairs come before the matrix.
    assert per_class.index("Most confused pairs") < per_class.index("actual \\ predicted")


def test_training_curves_are_mermaid_charts(pr_report):
    plots = section(pr_report, "### Training curves")
    charts = re.findall(r"```mermaid\n(.*?)```", plots, re.S)
    assert [re.search(r'title "(.*)"', chart).group(1) for chart in charts] == [
        "Training loss",
        "Validation macro_f1 (blue) and the gate threshold 0.8500 (red)",
        "Validation loss",
    ]
    loss, metric, _ = charts
    init, body = loss.split("\n", 1)
    assert json.loads(init.removeprefix("%%{init: ").removesuffix("}%%")) == {
        "themeVariables": {"xyChart": {"plotColorPalette": "#3b82f6"}}
    }
    assert body.startswith("xychart-beta\n")
    assert 'x-axis "step" 10 --> 300' in loss  # numeric steps
    assert 'y-axis "loss" 0 --> 2' in loss  # loss from 0
    assert MERMAID_NUMBERS.search(loss)
    assert "line [1.7473, " in loss and ", 0.2200]" in loss
    assert '"plotColorPalette": "#3b82f6, #e5534b"' in metric
    assert 'y-axis "macro_f1" 0 --> 1' in metric
    values, threshold = re.findall(r"line \[(.*)\]", metric)
    assert set(threshold.split(", ")) == {"0.8500"}  # the gate's bound, flat
    assert len(threshold.split(", ")) == len(values.split(", "))
    assert "![" not in pr_report  # no images to upload anywhere


def test_data_section_shows_what_changed_versus_main(pr_report):
    data = section(pr_report, "### Data")
    assert (
        "**Data changed vs `main`:** raw +124 rows; train +84 rows; validation +18 rows; test +20 rows; "
        "new class(es): warranty." in data
    )
    rows = table_after(data, "Rows")
    assert rows["train"] == ["210", "294", "+84"]
    assert rows["dropped: duplicate"] == ["3", "5", "+2"]
    classes = table_after(data, "Class")
    assert classes["billing"] == ["84 (+14)", "18 (+3)", "20"]
    assert classes["warranty **(new)**"] == ["70", "15", "20"]


def test_training_section_shows_the_local_run(pr_report):
    training = table_after(section(pr_report, "### Training job"), "Fact")
    assert training["Backend"] == ["local"]
    assert training["Wall time"] == ["2.5 min"]
    assert training["CPU"] == ["2 cores, 2 torch threads"]
    assert training["Accelerator"] == ["none (CPU)"]
    assert training["Steps"] == ["300"]


def test_links_point_at_the_run_and_the_pr_head_commit(pr_report, history):
    pr_commit = pr_head(history)
    links = section(pr_report, "### Links")
    assert "Workflow run: [https://github.com/acme/textclf/actions/runs/4242]" in links
    assert f"[{pr_commit[:12]}](https://github.com/acme/textclf/commit/{pr_commit})" in links
    main_commit = history.git("rev-parse", "main")
    assert f"Compared with: `main` at {main_commit[:12]}" in links
    assert "Built locally" not in links


def test_gate_failure_against_production_is_explained(pr_repo, bucket):
    record = {
        "model_version": "feedbee",
        "recorded_at": "2026-02-01T08:00:00Z",
        "metrics": {"macro_f1": 0.97},
    }
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=json.dumps(record).encode())

    report = build("--champion", "bucket")

    headline = section(report, "## ")
    assert headline.startswith("## ❌ Gate failed")
    assert (
        f"- macro\\_f1 vs production = {fmt(PR_EVAL['macro_f1'])}, "
        "needs ≥ 0.9600 (champion 0.9700 − tolerance 0.0100)" in headline
    )
    rows = table_after(headline, "Model")
    header = next(rows[0] for rows in tables(headline) if rows[0][0] == "Model")
    assert header == ["Model", "macro\\_f1", "this PR's macro\\_f1 minus this model's"]
    assert rows["production (model feedbee, recorded 2026-02-01T08:00:00Z)"] == ["0.9700", "−0.0568"]
    assert "<details open><summary>Gate checks" in headline
    # The report is built either way; the gate is what turns the PR check red.
    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--champion", "bucket"])
    assert exit_.value.code == 1


def test_a_nan_and_a_missing_metric_are_refused_naming_the_key(pr_repo, capsys):
    broken = {key: value for key, value in PR_EVAL.items() if key != "accuracy"}
    pr_repo.write_json("metrics/eval.json", {**broken, "macro_f1": float("nan")})

    assert cli.main(["report", "--champion", "main"]) == 2

    err = capsys.readouterr().err
    assert "metrics/eval.json: accuracy is missing but the confusion_matrix" in err and "dvc repro" in err
    assert not (pr_repo.root / "reports/report.md").exists()


def test_first_pr_ever_has_nothing_on_main_and_no_champion(first_repo, bucket):
    report = build("--champion", "bucket")

    headline = section(report, "## ")
    assert headline.startswith("## ✅ Gate passed")
    assert table_after(headline, "Model")["main (committed)"] == ["—", ""]
    assert "the first model is judged on thresholds alone" in headline
    assert "vs production" not in headline and "vs main" not in headline
    metrics = table_after(section(report, "### Metrics"), "Metric")
    assert metrics["accuracy"] == ["—", "0.9167", "new"]
    assert "**Params:** none changed vs `main`." in report
    assert "(new)" not in section(report, "### Per class")  # nothing to be new against
    data = section(report, "### Data")
    assert "`main` has no data metrics: everything below is new." in data
    assert table_after(data, "Rows")["raw"] == ["—", str(MAIN_DATA["rows"]["raw"]), ""]
    assert "Built locally (`make report`): no workflow run to link." in section(report, "### Links")


def test_a_very_long_class_name_keeps_every_table_valid(pr_repo):
    long_label = ("warranty claim | escalated to <b>tier 2<b> * " * 8).strip()  # `</` is refused (R-d)
    outcomes = {
        "billing": {"billing": 19, "returns": 1},
        "returns": {"returns": 20},
        long_label: {long_label: 20},
    }
    pr_repo.write_json("metrics/eval.json", eval_metrics(outcomes))
    pr_repo.write_json("metrics/data.json", data_metrics({label: (70, 15, 20) for label in outcomes}))
    params = pr_repo.params()
    params["data"]["labels"] = list(outcomes)
    pr_repo.write_params(params)

    report = build("--champion", "main")  # `build` checks every table

    assert "<b>" not in report
    escaped = md(long_label)
    assert f"| {escaped} **(new)** |" in report
    matrix_header = next(rows[0] for rows in tables(report) if rows[0][0] == "actual \\ predicted")
    assert matrix_header[1:] == ["1", "2", "3"]  # numbered columns, names on the rows
    assert f"| 3. {escaped} |" in report
