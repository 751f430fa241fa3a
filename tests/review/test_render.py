"""Rendering rules that need no git history: the SageMaker job facts, charts of any length, and a
report that must be shortened to fit one GitHub comment."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.review.conftest import (
    EVALUATE,
    MAIN_EVAL,
    PR_EVAL,
    assert_valid_tables,
    eval_metrics,
    section,
    table_after,
)
from textclf.config import Params
from textclf.review import gate
from textclf.review.report import (
    COMMENT_LIMIT,
    Inputs,
    Links,
    github_links,
    mermaid_line,
    nice_ceiling,
    render,
    section_training,
    usd,
)

PARAMS = Params.model_validate({"evaluate": EVALUATE})
SAGEMAKER_JOB = {
    "backend": "sagemaker",
    "job_name": "textclf-20260301-1200-abc1234",
    "instance_type": "ml.g4dn.xlarge",
    "instance_count": 1,
    "training_seconds": 1200,
    "billable_seconds": 420,
    "estimated_cost_usd": 0.0859,
    "price_usd_per_hour": 0.736,
    "spot": True,
    "interruptions": 1,
    "region": "eu-west-1",
    "console_url": "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/textclf-x",
    "resumed_from_step": 120,
}


def inputs(candidate: dict, **overrides) -> Inputs:
    values = {
        "params": PARAMS,
        "base_ref": "main",
        "base_commit": "1" * 40,
        "candidate": candidate,
        "verdict": gate.judge(candidate, PARAMS.evaluate) | {"notes": ["compared with nothing"]},
        "base_eval": MAIN_EVAL,
    }
    return Inputs(**(values | overrides))


def test_sagemaker_job_facts_with_spot_savings_from_billable_time():
    training = section_training(inputs(PR_EVAL, train_job=SAGEMAKER_JOB))

    rows = table_after(training, "Fact")
    assert rows["Backend"] == ["SageMaker training job (managed Spot)"]
    assert rows["Job"] == [f"[textclf-20260301-1200-abc1234]({SAGEMAKER_JOB['console_url']})"]
    assert rows["Instance"] == ["ml.g4dn.xlarge × 1"]
    assert rows["Training time"] == ["20.0 min"]
    assert rows["Billable time"] == ["7.0 min"]
    assert rows["Spot savings"] == ["65 %"]  # 1 - 420 / 1200
    assert rows["Estimated cost"] == ["$0.0859 (billable time × $0.7360/h on-demand)"]
    assert rows["Spot interruptions"] == ["1 (resumed from checkpoints)"]
    assert rows["Resumed"] == ["from checkpoint at step 120 (interrupted run)"]


def test_the_facts_the_sagemaker_backend_records_are_shown(repo_root):
    from textclf.config import load_params
    from textclf.training.sagemaker import job_facts

    described = {  # the DescribeTrainingJob fields job_facts reads
        "TrainingJobName": "textclf-abc1234-20260301",
        "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/textclf-abc1234-20260301",
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1},
        "TrainingTimeInSeconds": 1000,
        "BillableTimeInSeconds": 300,
        "EnableManagedSpotTraining": True,
        "SecondaryStatusTransitions": [{"Status": "Interrupted"}, {"Status": "Training"}],
        "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/jobs/model.tar.gz"},
    }
    settings = load_params(repo_root / "params.yaml").sagemaker  # the template's price table
    facts = job_facts(described, settings, "eu-west-1")

    rows = table_after(section_training(inputs(PR_EVAL, train_job=facts)), "Fact")

    assert rows["Backend"] == ["SageMaker training job (managed Spot)"]
    assert rows["Job"][0].startswith("[textclf-abc1234-20260301](https://")
    assert rows["Instance"] == ["ml.g4dn.xlarge × 1"]
    assert rows["Billable time"] == ["5.0 min"]
    assert rows["Spot savings"] == ["70 %"]
    assert facts["estimated_cost_usd"] > 0
    assert rows["Estimated cost"][0].startswith(f"{usd(facts['estimated_cost_usd'])} (billable time")
    assert rows["Spot interruptions"] == ["1 (resumed from checkpoints)"]
    assert rows["Region"] == ["eu-west-1"]


def test_an_on_demand_job_has_no_spot_savings():
    job = {**SAGEMAKER_JOB, "spot": False, "billable_seconds": 1200, "estimated_cost_usd": 12.5}

    rows = table_after(section_training(inputs(PR_EVAL, train_job=job)), "Fact")

    assert rows["Backend"] == ["SageMaker training job (on-demand)"]
    assert rows["Spot savings"] == ["—"]
    assert rows["Estimated cost"] == ["$12.50 (billable time × $0.7360/h on-demand)"]


def test_sagemakers_own_savings_figure_wins_and_missing_facts_show_a_dash():
    job = {"backend": "sagemaker", "spot_savings_percent": 70.4, "training_seconds": None}

    rows = table_after(section_training(inputs(PR_EVAL, train_job=job)), "Fact")

    assert rows["Spot savings"] == ["70 %"]
    assert rows["Training time"] == ["—"]
    assert rows["Job"] == ["—"]
    assert rows["Estimated cost"] == ["—"]


def test_links_section_names_the_training_job():
    links = section(render(inputs(PR_EVAL, train_job=SAGEMAKER_JOB)), "### Links")

    assert f"Training job: [textclf-20260301-1200-abc1234]({SAGEMAKER_JOB['console_url']})" in links


def test_github_links_use_the_given_commit_and_the_run_attempt():
    env = {
        "GITHUB_SERVER_URL": "https://github.example.com",
        "GITHUB_REPOSITORY": "acme/textclf",
        "GITHUB_RUN_ID": "7",
        "GITHUB_RUN_ATTEMPT": "2",
    }

    links = github_links(env, "abc1234")

    assert links.run_url == "https://github.example.com/acme/textclf/actions/runs/7/attempts/2"
    assert links.commit_url == "https://github.example.com/acme/textclf/commit/abc1234"
    assert github_links({}, "abc1234") == Links(commit="abc1234")


def test_a_long_curve_is_thinned_and_tiny_values_stay_plain_decimals():
    points = [(float(step), 1e-7 if step > 900 else 2.0 - step / 1000) for step in range(1, 1001)]

    chart = mermaid_line("Training loss", "loss", points, (0, 2))

    assert 'x-axis "step" 1 --> 1000' in chart
    values = re.search(r"line \[(.*)\]", chart).group(1).split(", ")
    assert len(values) == 40
    assert values[0] == "1.9990" and values[-1] == "0.0000"
    assert all(re.fullmatch(r"-?\d+\.\d{4}", value) for value in values)


def test_uneven_steps_are_drawn_where_they_belong():
    # Mermaid spreads values evenly over a numeric axis: the last, off-grid evaluation (218 after
    # 200) is interpolated onto even steps instead of being drawn as far from 200 as 40 is from 80.
    points = [(40.0, 0.4), (80.0, 0.8), (120.0, 1.2), (160.0, 1.6), (200.0, 2.0), (218.0, 2.18)]

    chart = mermaid_line("Training loss", "loss", points, (0, 2.5))

    assert 'x-axis "step" 40 --> 218' in chart
    values = [float(v) for v in re.search(r"line \[(.*)\]", chart).group(1).split(", ")]
    steps = [40 + (218 - 40) * i / 5 for i in range(6)]
    assert values == pytest.approx([step / 100 for step in steps], abs=1e-4)


def test_axis_tops_are_round_numbers():
    assert [nice_ceiling(v) for v in (0.69, 1.79, 2.3, 0.031, 4.0, 0)] == [1, 2, 2.5, 0.05, 5, 1]


def test_not_a_number_points_are_left_out_and_counted():
    curve = [{"step": float(s), "loss": math.nan if s == 30 else 1.0 / s} for s in (10, 20, 30, 40)]

    plots = section(render(inputs(PR_EVAL, train_loss=curve)), "### Training curves")

    assert 'x-axis "step" 10 --> 40' in plots
    values = re.search(r"line \[(.*)\]", plots).group(1).split(", ")
    assert [values[0], values[-1]] == ["0.1000", "0.0250"] and len(values) == 3
    assert "1 point(s) left out: not a number" in plots


def test_a_report_too_long_for_one_comment_is_shortened_and_stays_valid():
    labels = [f"category number {i} with a rather long descriptive name" for i in range(400)]
    outcomes = {label: {label: 9, labels[(i + 1) % len(labels)]: 1} for i, label in enumerate(labels)}
    big = eval_metrics(outcomes)

    report = render(inputs(big, base_eval=None))

    assert len(report) <= COMMENT_LIMIT
    assert_valid_tables(report)
    assert "Shortened to fit one comment: 0 of 400 classes" in report
    assert "400 classes: too many for a table" in report
    assert "| category number 0 with a rather long descriptive name | category number 1 with" in report


def test_sections_too_long_even_when_shortened_are_left_out_whole():
    labels = [f"class {i}" for i in range(60)]
    big = eval_metrics({label: {label: 5, labels[0]: 5} for label in labels})  # every recall 0.5

    report = render(inputs(big), limit=6000)

    assert len(report) <= 6000
    assert_valid_tables(report)
    assert "### Per class\n\nLeft out: too long for one PR comment" in report
    assert report.startswith("## ❌ Gate failed")
    assert "- recall\\[class 1\\] = 0.5000, needs ≥ 0.7000" in report
    assert "- and 51 more failed checks" in report  # accuracy, macro-F1 and 59 recalls failed
    assert "### Links" in report


def test_the_training_section_shows_where_the_minutes_went(monkeypatch):
    """The job's phases (SecondaryStatusTransitions, as the backend records them) with durations,
    and the loop from the workflow run's start (the workflow sets TEXTCLF_LOOP_STARTED_AT)."""
    phases = [
        {"status": "Starting", "seconds": 95.0, "message": "Preparing the instances for training"},
        {"status": "Downloading", "seconds": 41.0, "message": "Downloading the training image"},
        {"status": "Training", "seconds": 412.0, "message": "Training image download completed."},
        {"status": "Uploading", "seconds": 12.0, "message": "Uploading generated training model"},
        {"status": "Completed", "seconds": 0.0, "message": "Training job completed"},
    ]
    started = datetime.now(UTC) - timedelta(minutes=14, seconds=30)
    monkeypatch.setenv("TEXTCLF_LOOP_STARTED_AT", started.strftime("%Y-%m-%dT%H:%M:%SZ"))

    training = section_training(inputs(PR_EVAL, train_job={**SAGEMAKER_JOB, "phases": phases}))

    rows = table_after(training, "Job phase")
    assert list(rows) == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert rows["Starting"][0] == "95 s" and rows["Training"][0] == "6.9 min"
    assert rows["Downloading"][1] == "Downloading the training image"
    loop = re.search(r"From the workflow run's start to this report: \*\*([\d.]+) min\*\*", training)
    assert loop and 14.4 <= float(loop.group(1)) <= 14.7


def test_without_phases_or_a_start_time_the_time_section_is_left_out(monkeypatch):
    monkeypatch.delenv("TEXTCLF_LOOP_STARTED_AT", raising=False)
    assert "Where the time went" not in section_training(inputs(PR_EVAL, train_job=SAGEMAKER_JOB))
    monkeypatch.setenv("TEXTCLF_LOOP_STARTED_AT", "not a time")
    assert "Where the time went" not in section_training(inputs(PR_EVAL, train_job=SAGEMAKER_JOB))
