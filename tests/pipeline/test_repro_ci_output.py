"""`make repro-ci` (the workflows' pipeline run) leaves out DVC's closing hint as `make repro` does
(`git add dvc.lock`, autostage, "Use `dvc push`": the workflow's own steps commit and push), through
the same filter, review/dvc_output.py; the stages' lines and DVC's errors stay. Real make, the
project's Makefile, git and DVC, against the stand-in .venv of tests/code/test_newcomer_output.py."""

from __future__ import annotations

import pytest

from tests.code.test_newcomer_output import HINT, REPO, STAGE, make, pipeline  # noqa: F401 (the fixture)


@pytest.fixture
def ci_pipeline(pipeline):  # noqa: F811 (the fixture)
    """The stand-in project with the repository's mk/ files, which the Makefile includes."""
    (pipeline.root / "mk").symlink_to(REPO / "mk")
    return pipeline


def test_make_repro_ci_leaves_out_dvcs_closing_hint(ci_pipeline):
    done = make(ci_pipeline.root, "repro-ci")

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "Running stage 'evaluate':" in out and "stage says hello" in out, done.stdout
    assert "stage warns" in done.stderr
    assert not [line for line in out if any(hint in line for hint in HINT)], done.stdout
    assert "metrics/eval.json" in done.stdout  # then `dvc metrics show`, as before


def test_a_failed_stage_fails_make_repro_ci_with_dvcs_error(ci_pipeline):
    ci_pipeline.write("dvc.yaml", STAGE.replace("echo stage says hello", "echo broken && exit 3"))

    done = make(ci_pipeline.root, "repro-ci")

    assert done.returncode != 0  # pipefail: DVC's exit code, not the filter's
    assert "broken" in done.stdout
    assert "failed to reproduce 'evaluate'" in done.stderr, done.stderr
