"""`python -m textclf.training.local_runner` (make sagemaker-local) against bad input: a params.yaml
without a section it reads, folder and file arguments it cannot use, counts out of range. Each is
one `[local-job] error:` line naming the setting and exit 2, before any job starts (issue 27)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from textclf.training import local_runner

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The template's params.yaml in an empty working directory (nothing prepared: a refusal must
    come first)."""
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def without(project: Path, dotted: str) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    *parents, last = dotted.split(".")
    node = params
    for part in parents:
        node = node[part]
    del node[last]
    (project / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


@pytest.mark.parametrize("section", ["data", "model", "train", "deploy", "deploy.serve"])
def test_a_params_file_without_a_section_the_job_reads_is_refused_by_name(project, capsys, section):
    """Before: the file loaded with built-in defaults for the missing section (the job would have
    trained with hyperparameters nobody wrote down)."""
    without(project, section)

    code = local_runner.main([])

    error = capsys.readouterr().err
    assert code == 2
    assert f"params.yaml: {section}: missing; this command reads it" in error, error


def test_the_template_params_pass_the_check_and_reach_the_prepared_data_check(project, capsys):
    assert local_runner.main([]) == 2
    error = capsys.readouterr().err
    assert "lacks train.jsonl, validation.jsonl, labels.json: run `textclf prepare` first" in error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instance-count", "0"], "'0' is not a whole number of at least 1"),
        (["--instance-count", "-2"], "'-2' is not a whole number of at least 1"),
        (["--instance-count", "1000"], "1000 instances: at most 8 here"),
        (["--interrupt-at-step", "-5"], "'-5' is not a whole number of at least 1"),
        (["--interrupt-at-step", "x"], "'x' is not a whole number of at least 1"),
    ],
)
def test_counts_out_of_range_are_usage_errors(project, capsys, args, message):
    """Before: --instance-count 0 ran a job of no instances and ended in an IndexError traceback."""
    with pytest.raises(SystemExit) as stopped:
        local_runner.main(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: (p / "out").write_text("x"), ["--out", "out"], "--out out: exists and is not a folder"),
        (lambda p: (p / "w").write_text("x"), ["--work", "w"], "--work w: exists and is not a folder"),
        (None, ["--work", "w", "--checkpoints", "w/ck"], "--checkpoints w/ck and --work w overlap"),
        (None, ["--work", "ck/w", "--checkpoints", "ck"], "--checkpoints ck and --work ck/w overlap"),
        (None, ["--work", "same", "--checkpoints", "same"], "overlap"),
        (None, ["--dockerfile", "no/such/Dockerfile"], "--dockerfile no/such/Dockerfile: not found"),
        (lambda p: (p / "d").mkdir(), ["--dockerfile", "d"], "--dockerfile d: is a folder"),
        (
            lambda p: (p / "Dockerfile").write_bytes(b"FROM x\nUSER \xff\n"),
            ["--dockerfile", "Dockerfile"],
            "--dockerfile Dockerfile: bytes that are not UTF-8 at byte 12",
        ),
    ],
)
def test_folder_and_file_arguments_it_cannot_use_are_named(project, capsys, make, args, message):
    """Before: a file as --out failed after training with a traceback; a non-UTF-8 Dockerfile raised
    UnicodeDecodeError; a missing --dockerfile silently ran the job as root."""
    if make:
        make(project)

    code = local_runner.main(args)

    error = capsys.readouterr().err
    assert code == 2 and message in error, error
    assert "Traceback" not in error
    assert not (project / "w" / "algo-1").exists()
