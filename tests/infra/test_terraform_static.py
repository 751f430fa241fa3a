"""Offline checks of terraform/: formatting, validation and `terraform test` with a mocked provider
(unit assertions in terraform/tests/unit.tftest.hcl, bad input in validation.tftest.hcl, the state
bucket in terraform/bootstrap/tests/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT, TfResult, TfRunner, copy_terraform, make_runner

VALIDATION_TESTS = REPO_ROOT / "terraform" / "tests" / "validation.tftest.hcl"


@pytest.fixture(scope="module")
def offline_tf(terraform_bin: str, tmp_path_factory: pytest.TempPathFactory) -> TfRunner:
    """A copy of terraform/ initialised without a backend (no AWS, no local cloud)."""
    workdir = copy_terraform(tmp_path_factory.mktemp("tf-static") / "terraform")
    runners = {
        target: make_runner(workdir, {"TF_DATA_DIR": str(workdir / f".tfdata-{target}")})
        for target in ("main", "bootstrap")
    }
    for target, run in runners.items():
        result = run(target, "init", "-backend=false", "-input=false")
        assert result.returncode == 0, f"terraform init ({target}) failed:\n{result.output}"

    def run(target: str, *args: str, timeout: float = 300) -> TfResult:
        return runners[target](target, *args, timeout=timeout)

    return run


def passed_count(result: TfResult) -> int:
    """`terraform test` ends with "Success! N passed, 0 failed." (or "Failure! ...")."""
    match = re.search(r"(\d+) passed, (\d+) failed", result.output)
    assert match, f"no test summary in the output:\n{result.output}"
    assert match.group(2) == "0", result.output
    return int(match.group(1))


def test_terraform_files_are_formatted(offline_tf: TfRunner) -> None:
    result = offline_tf("main", "fmt", "-check", "-recursive", "-diff")
    assert result.returncode == 0, f"run `make infra-fmt`:\n{result.output}"


@pytest.mark.parametrize("target", ["main", "bootstrap"])
def test_configuration_is_valid(offline_tf: TfRunner, target: str) -> None:
    result = offline_tf(target, "validate")
    assert result.returncode == 0, result.output
    assert "The configuration is valid" in result.output


@pytest.mark.slow
def test_unit_assertions_pass(offline_tf: TfRunner, lambda_zip: Path) -> None:
    result = offline_tf("main", "test", "-filter=tests/unit.tftest.hcl", f"-var=lambda_zip_path={lambda_zip}")
    assert result.returncode == 0, result.output
    assert passed_count(result) == 3
    print(f"terraform test (unit): {result.seconds:.1f} s")


@pytest.mark.slow
def test_bad_input_fails_at_plan_time(offline_tf: TfRunner, lambda_zip: Path) -> None:
    result = offline_tf(
        "main", "test", "-filter=tests/validation.tftest.hcl", f"-var=lambda_zip_path={lambda_zip}"
    )
    assert result.returncode == 0, result.output
    expected_runs = len(re.findall(r"^run ", VALIDATION_TESTS.read_text(encoding="utf-8"), flags=re.M))
    assert passed_count(result) == expected_runs >= 8
    print(f"terraform test (validation): {result.seconds:.1f} s")


@pytest.mark.slow
def test_state_bucket_unit_assertions_pass(offline_tf: TfRunner) -> None:
    result = offline_tf("bootstrap", "test")
    assert result.returncode == 0, result.output
    assert passed_count(result) == 2
