"""terraform/drift.tf and the monitoring part of monitoring.tf planned offline with the mocked provider
(terraform/tests/drift.tftest.hcl, drift_dashboard.tftest.hcl)."""

from __future__ import annotations

import re

from tests.infra.conftest import copy_terraform, lambda_zip, make_runner, terraform_bin  # noqa: F401
from textclf.lambda_zip import build as build_lambda_zip
from textclf.monitoring import drift


def test_the_drift_check_and_the_dashboard_plan(terraform_bin, lambda_zip, tmp_path):  # noqa: F811
    workdir = copy_terraform(tmp_path / "terraform")
    run = make_runner(workdir, {"TF_DATA_DIR": str(workdir / ".tfdata")})
    assert run("main", "init", "-backend=false", "-input=false").returncode == 0
    drift_zip = build_lambda_zip(drift.ZIP_FILES, str(tmp_path / "drift.zip"))

    result = run(
        "main",
        "test",
        "-filter=tests/drift.tftest.hcl",
        "-filter=tests/drift_dashboard.tftest.hcl",
        f"-var=lambda_zip_path={lambda_zip}",
        f"-var=drift_lambda_zip_path={drift_zip}",
    )

    assert re.search(r"6 passed, 0 failed", result.output), result.output
