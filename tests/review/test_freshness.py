"""`make gate` and `make summary` judge metrics/eval.json only when it is what the pipeline would
write now (issue 29): a newcomer edited params.yaml (`data.empty_text: drop`) after a run, and the
gate said "gate: pass" while `dvc status` listed prepare as changed; the summary of a workspace
where nothing ran said "Gate: PASS" and "To keep this run: git add params.yaml". Both refuse now
(exit 2), naming the stage and what changed, as `dvc status` says. Real git, DVC and the template's
dvc.yaml; the DVC state is a run's (`dvc commit --force` over the files a run writes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.review.conftest import MAIN_DATA, MAIN_EVAL, Project, new_project, pipeline_ran
from textclf import cli

RERUN = "; run make repro first"


@pytest.fixture(scope="module")
def ran(tmp_path_factory, repo_root) -> Project:
    """main with a run's metrics and the DVC state the run left, committed."""
    project = new_project(tmp_path_factory.mktemp("fresh") / "repo", repo_root)
    project.write_outputs(MAIN_EVAL, MAIN_DATA, steps=200, final_loss=0.31)
    pipeline_ran(project)
    project.commit("main: a run")
    return project


@pytest.fixture
def workspace(ran: Project, monkeypatch, no_aws) -> Project:
    ran.git("checkout", "-q", "--", ".")
    ran.git("clean", "-fdq", "--exclude=/models/", "--exclude=/data/")
    monkeypatch.chdir(ran.root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return ran


def edit_params(project: Project, section: str, key: str, value) -> None:
    params = project.params()
    params[section][key] = value
    project.write_params(params)


def gate(capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        status = cli.main(["gate", "--champion", "main"])
    except SystemExit as exit_:  # a failed gate
        status = exit_.code
    return status, capsys.readouterr().err


def summary(capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(["summary", "--champion", "main"])
    shown = capsys.readouterr()
    return status, shown.out, shown.err


def test_an_up_to_date_run_is_judged_as_before(workspace, capsys):
    status, err = gate(capsys)
    assert status == 0, err
    assert "[textclf] gate: pass" in err and "out of date" not in err

    status, out, err = summary(capsys)
    assert status == 0, err
    assert "Gate: PASS" in out


def test_params_edited_after_the_run_are_refused_naming_the_stage_and_the_file(workspace, capsys):
    edit_params(workspace, "data", "empty_text", "drop")
    expected = (
        "[textclf] error: metrics/eval.json is out of date: dvc status shows stage 'prepare' changed "
        "(params.yaml: data)" + RERUN
    )

    status, err = gate(capsys)
    assert status == 2
    assert err.strip().splitlines() == [expected]  # one line, no verdict
    assert not (workspace.root / "reports/gate.json").exists()

    status, out, err = summary(capsys)
    assert status == 2
    assert err.strip().splitlines() == [expected]
    assert "Gate: PASS" not in out and "To keep this run" not in out and "git add" not in out


def test_the_report_refuses_out_of_date_metrics_too(workspace, capsys):
    # A newcomer's `make report` after editing train.epochs wrote "Gate passed" beside the params
    # diff `train.epochs 2 -> 3`: the verdict of a model those params never trained.
    edit_params(workspace, "train", "epochs", 3)
    capsys.readouterr()

    status = cli.main(["report", "--champion", "main"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == [
        "[textclf] error: metrics/eval.json is out of date: dvc status shows stage 'train' changed "
        "(params.yaml: train.epochs)" + RERUN
    ]
    assert not (workspace.root / "reports/report.md").exists()


def test_a_train_param_names_the_train_stage(workspace, capsys):
    edit_params(workspace, "train", "epochs", 7)
    edit_params(workspace, "model", "max_length", 64)

    status, err = gate(capsys)

    assert status == 2
    assert (
        "dvc status shows stages changed: 'prepare' (params.yaml: model), 'train' (params.yaml: model, "
        "train.epochs), 'evaluate' (params.yaml: model.max_length)" + RERUN
    ) in err


def gate_without(path: Path, aside: Path, capsys) -> tuple[int, str]:
    """The gate with `path` moved away, put back after: the module's project keeps its run."""
    path.rename(aside / path.name)
    try:
        return gate(capsys)
    finally:
        (aside / path.name).rename(path)


def test_a_deleted_model_is_an_out_of_date_run(workspace, tmp_path, capsys):
    status, err = gate_without(workspace.root / "models/model", tmp_path, capsys)

    assert status == 2
    assert "stages changed: 'train' (models/model deleted), 'evaluate' (models/model deleted)" in err


def test_metrics_edited_by_hand_are_refused(workspace, capsys):
    edited = dict(MAIN_EVAL, accuracy=0.99)
    workspace.write_json("metrics/eval.json", edited)

    status, err = gate(capsys)

    assert status == 2
    assert "stage 'evaluate' changed (metrics/eval.json modified)" + RERUN in err


def test_without_dvc_lock_nothing_ran_here(workspace, capsys):
    (workspace.root / "dvc.lock").unlink()
    expected = (
        "[textclf] error: metrics/eval.json is out of date: there is no dvc.lock: the pipeline has not "
        "run in this workspace" + RERUN
    )

    status, err = gate(capsys)
    assert status == 2 and err.strip().splitlines() == [expected]

    status, out, err = summary(capsys)
    assert status == 2 and err.strip().splitlines() == [expected]
    assert "Gate:" not in out


def test_metrics_outside_a_pipeline_are_judged_as_they_are_and_it_says_so(
    workspace, tmp_path, capsys, monkeypatch
):
    """A folder with no dvc.yaml holds no pipeline to be out of date against (metrics copied out of
    a run): judged, with a note that nothing was checked."""
    alone = Project(tmp_path / "alone")
    (alone.root / "metrics").mkdir(parents=True)
    shutil.copy(workspace.root / "params.yaml", alone.root / "params.yaml")
    shutil.copy(workspace.root / "metrics/eval.json", alone.root / "metrics/eval.json")
    alone.git("init", "-q", "-b", "main")
    alone.git("-c", "user.name=t", "-c", "user.email=t@e", "add", "-A")
    alone.git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "metrics copied out of a run")
    monkeypatch.chdir(alone.root)

    status, err = gate(capsys)

    assert status == 0, err
    assert "[textclf] no dvc.yaml in this folder: metrics/eval.json is judged as it is, not checked" in err
    assert "[textclf] gate: pass" in err
    # The summary says so too before its verdict (it printed the verdict without a word).
    status, out, err = summary(capsys)
    assert status == 0, err
    assert "note: no dvc.yaml in this folder: metrics/eval.json is judged as it is, not checked" in out


def test_a_stage_dvc_lock_has_no_entry_for_has_not_run(workspace, capsys):
    lock = yaml.safe_load((workspace.root / "dvc.lock").read_text(encoding="utf-8"))
    del lock["stages"]["train"]
    (workspace.root / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")

    status, err = gate(capsys)

    assert status == 2
    assert "dvc.lock has no entry for stage 'train': it has not run in this workspace" + RERUN in err


def test_outputs_in_the_workspace_as_recorded_but_not_in_the_cache_are_up_to_date(
    workspace, tmp_path, capsys
):
    """`dvc status` says "not in cache" before it looks at the workspace (a clone that pulled
    nothing, the sample written by `make data`): the files are the run's, so it is judged."""
    status, err = gate_without(workspace.root / ".dvc/cache", tmp_path, capsys)

    assert status == 0, err
    assert "[textclf] gate: pass" in err


def edit_pipeline(project: Project, stage: str, **changes) -> None:
    pipeline = yaml.safe_load((project.root / "dvc.yaml").read_text(encoding="utf-8"))
    pipeline["stages"][stage].update(changes)
    (project.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")


def test_a_changed_stage_command_is_an_out_of_date_run(workspace, capsys):
    # DVC says "changed command" for a dvc.yaml stage; only a .dvc file's "changed checksum" was
    # known, and the gate passed metrics another command wrote.
    pipeline = yaml.safe_load((workspace.root / "dvc.yaml").read_text(encoding="utf-8"))
    edit_pipeline(workspace, "evaluate", cmd=pipeline["stages"]["evaluate"]["cmd"] + " --quiet")

    status, err = gate(capsys)

    assert status == 2
    assert "stage 'evaluate' changed (its command in dvc.yaml changed)" + RERUN in err


def test_a_frozen_stage_is_not_taken_as_checked(workspace, capsys):
    # DVC skips a frozen stage's dependencies: train.epochs changed unseen behind `dvc freeze train`.
    edit_pipeline(workspace, "train", frozen=True)
    edit_params(workspace, "train", "epochs", 9)

    status, err = gate(capsys)

    assert status == 2
    assert "stage 'train' is frozen in dvc.yaml (dvc freeze)" in err
    assert "`dvc unfreeze train`, then run make repro" in err


@pytest.mark.parametrize("broken", ["folder", "deep lock", "two writers"])
def test_a_pipeline_dvc_cannot_read_is_one_line(workspace, capsys, broken):
    if broken == "folder":
        (workspace.root / "dvc.yaml").unlink()
        (workspace.root / "dvc.yaml").mkdir()
        said = "dvc.yaml is not a regular file"
    elif broken == "deep lock":
        (workspace.root / "dvc.lock").write_text("schema: '2.0'\nstages: " + "[" * 20000 + "]" * 20000)
        said = "is nested too deeply to read"
    else:
        pipeline = yaml.safe_load((workspace.root / "dvc.yaml").read_text(encoding="utf-8"))
        pipeline["stages"]["again"] = {"cmd": "echo", "metrics": [{"metrics/eval.json": {"cache": False}}]}
        (workspace.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
        said = "stages write metrics/eval.json ('evaluate', 'again'): keep one"

    try:
        status, err = gate(capsys)
    finally:
        if broken == "folder":
            (workspace.root / "dvc.yaml").rmdir()

    assert status == 2
    assert said in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
