"""`make gate`, `make summary` and `make report` refuse metrics/eval.json unless `dvc status` finds
its stage and those before it up to date (textclf.review.freshness, issue 29). Every workflow job
that runs one must therefore run it in the pipeline's workspace: after `make repro-ci` (or `make
repro`) in the same job, with nothing in between that changes a file the pipeline tracks. A job
that downloaded only the metrics, or a step added in between that writes the model or params.yaml,
would be refused there (exit 2): this test names the job and step first."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
JUDGES = ("make gate", "make summary", "make report")
PIPELINE = ("make repro-ci", "make repro")
# Steps that may run between the pipeline and the gate: they write reports/ and build/ only
# (mk/report.mk: report, plots-page) or upload files.
BETWEEN_RUNS = ("make report", "make plots-page")
BETWEEN_USES = ("actions/upload-artifact@",)


def judges(command: str) -> bool:
    """Whether a step's command runs a JUDGES target (`make report-comment` only posts the report)."""
    return any(command == judge or command.startswith(f"{judge} ") for judge in JUDGES)


def judged_steps(workflows: list[Path]) -> list[tuple[str, str, list[dict]]]:
    """(workflow, job, the job's steps) of each job with a step running a JUDGES target."""
    found = []
    for path in workflows:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in workflow["jobs"].items():
            steps = job.get("steps", [])
            if any(judges(step.get("run", "").strip()) for step in steps):
                found.append((path.name, name, steps))
    return found


def problems(workflows: list[Path]) -> list[str]:
    """Each gate or summary step without the pipeline run before it in its job, or with a step in
    between that may change what the pipeline tracks."""
    found = []
    for workflow, job, steps in judged_steps(workflows):
        runs = [step.get("run", "").strip() for step in steps]
        for at, command in enumerate(runs):
            if not judges(command):
                continue
            pipeline = [i for i, run in enumerate(runs[:at]) if run in PIPELINE]
            if not pipeline:
                found.append(f"{workflow} job {job}: `{command}` without the pipeline run before it")
                continue
            for step in steps[pipeline[-1] + 1 : at]:
                run, uses = step.get("run", "").strip(), step.get("uses", "")
                if not (run in BETWEEN_RUNS or (not run and uses.startswith(BETWEEN_USES))):
                    found.append(
                        f"{workflow} job {job}: step {step.get('name') or run or uses!r} runs between the "
                        f"pipeline and `{command}`: if it changes a file dvc.yaml tracks, the gate refuses"
                    )
    return found


def test_the_gate_runs_in_ci():
    # The check below can only hold if it finds the gate: pr.yml's train job runs it.
    assert ("pr.yml", "train") in {(workflow, job) for workflow, job, _ in judged_steps(WORKFLOWS)}


def test_every_gate_or_summary_in_ci_runs_after_the_pipeline_in_the_same_job():
    assert problems(WORKFLOWS) == []


def test_the_check_names_a_job_that_only_downloads_the_metrics(tmp_path):
    """The rule above can fail: a job that downloads metrics and runs the gate is named, and so is
    a step between the pipeline and the gate that may change its files."""
    download = {"uses": "actions/download-artifact@v8", "with": {"name": "metrics"}}
    jobs = {
        "judge": {"steps": [download, {"run": "make gate"}]},
        "edit": {"steps": [{"run": "make repro-ci"}, {"run": "make use-data"}, {"run": "make summary"}]},
    }
    (tmp_path / "bad.yml").write_text(yaml.safe_dump({"jobs": jobs}, sort_keys=False), encoding="utf-8")

    assert problems([tmp_path / "bad.yml"]) == [
        "bad.yml job judge: `make gate` without the pipeline run before it",
        "bad.yml job edit: step 'make use-data' runs between the pipeline and `make summary`: if it "
        "changes a file dvc.yaml tracks, the gate refuses",
    ]
