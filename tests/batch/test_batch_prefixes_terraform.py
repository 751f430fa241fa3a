"""terraform/batch.tf refuses the batch prefixes params.yaml refuses (textclf.config.BatchParams):
prefixes that overlap, or that lie under the data bucket's dvc/ or incoming/, fail at plan time
naming the variable, so the job's role and batch-predict's check cannot be set apart (R13B-12)."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from tests.infra.conftest import copy_terraform, make_runner

pytestmark = pytest.mark.slow  # a terraform init and plan with the mocked provider

TESTS = """
mock_provider "aws" {
  source = "./tests"
}

variables {
  github_repository = "acme/text-classifier"
  enable_batch      = true
}

run "the_defaults_plan" {
  command = plan
}

run "other_apart_prefixes_plan" {
  command = plan
  variables {
    batch_input_prefix  = "scoring/in/"
    batch_output_prefix = "scoring/results/"
  }
}

run "output_inside_input" {
  command = plan
  variables {
    batch_input_prefix  = "batch/in/"
    batch_output_prefix = "batch/in/results/"
  }
  expect_failures = [var.batch_output_prefix]
}

run "input_inside_output" {
  command = plan
  variables {
    batch_input_prefix  = "batch/out/today/"
    batch_output_prefix = "batch/out/"
  }
  expect_failures = [var.batch_output_prefix]
}

run "input_under_the_dvc_remote" {
  command = plan
  variables {
    batch_input_prefix = "dvc/batch/"
  }
  expect_failures = [var.batch_input_prefix]
}

run "output_under_incoming" {
  command = plan
  variables {
    batch_output_prefix = "incoming/out/"
  }
  expect_failures = [var.batch_output_prefix]
}
"""


def test_terraform_refuses_batch_prefixes_that_overlap_or_take_the_data_buckets_own(tmp_path):
    if shutil.which("terraform") is None:
        pytest.skip("terraform (>= 1.11) is not on PATH")
    workdir = copy_terraform(tmp_path / "terraform")
    (workdir / "tests" / "batch_prefixes.tftest.hcl").write_text(TESTS, encoding="utf-8")
    run = make_runner(workdir, {"TF_DATA_DIR": str(workdir / ".tfdata")})
    init = run("main", "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.output

    lambda_zip = tmp_path / "redeploy.zip"  # the plan checks the redeploy Lambda's zip exists
    with zipfile.ZipFile(lambda_zip, "w") as archive:
        archive.writestr("textclf/__init__.py", "")

    result = run(
        "main",
        "test",
        "-filter=tests/batch_prefixes.tftest.hcl",
        f"-var=lambda_zip_path={lambda_zip}",
        timeout=600,
    )

    assert result.returncode == 0 and "6 passed, 0 failed" in result.output, result.output
