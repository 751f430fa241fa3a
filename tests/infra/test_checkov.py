"""checkov over terraform/, offline: no failed check, and every skip names its reason.

checkov is heavy and pins its own dependencies, so it lives in a tool venv that `make` creates
(pinned version, under ~/.cache/textclf-tools so later clones reuse it), not in the project's lock.
The test goes through `make infra-checkov`, the same command a developer runs."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.infra.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def test_no_failed_checks_and_every_skip_has_a_reason() -> None:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "infra-checkov", "CHECKOV_ARGS=--output json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # the first run installs checkov into its tool venv
    )
    print(f"make infra-checkov: {time.perf_counter() - started:.1f} s")
    assert done.stdout.lstrip().startswith(("{", "[")), f"no checkov report:\n{done.stdout}{done.stderr}"
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [check for report in reports for check in report["results"]["failed_checks"]]
    skipped = [check for report in reports for check in report["results"]["skipped_checks"]]
    passed = sum(report["summary"]["passed"] for report in reports)

    assert not failed, "\n".join(f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in failed)
    assert done.returncode == 0, done.stderr
    assert passed > 50, "checkov scanned (almost) nothing: is the terraform/ directory configured?"
    reasons = {
        f"{check['check_id']} {check['resource']}": check["check_result"].get("suppress_comment", "")
        for check in skipped
    }
    # checkov says "No comment provided" for a bare #checkov:skip=<id>.
    without_reason = [skip for skip, reason in reasons.items() if len(reason) < 20 or "No comment" in reason]
    assert not without_reason, f"add a reason to these skips: {without_reason}"
