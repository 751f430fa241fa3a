"""The policy scanners as a developer runs them (mk/scan.mk), and the findings this repository
accepts with their reasons: shared by the scan on the Terraform-made account
(tests/iam/test_rendered_policies.py) and the scan of a hand-written plan (test_policy_scanners.py).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.infra.conftest import REPO_ROOT

FINDINGS_FILE = REPO_ROOT / "tests" / "infra" / "iam-findings.yaml"
CHECKOV_PLAN_FINDINGS = REPO_ROOT / "tests" / "infra" / "checkov-plan-findings.yaml"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.*)")
RESOURCE = re.compile(r'^resource "([\w-]+)" "([\w-]+)"', re.MULTILINE)


def source_skips() -> dict[tuple[str, str], str]:
    """(check id, resource type.name) -> reason, from the `#checkov:skip` comments in terraform/."""
    skips = {}
    for path in (REPO_ROOT / "terraform").glob("*.tf"):
        text = path.read_text(encoding="utf-8")
        headers = list(RESOURCE.finditer(text))
        for index, header in enumerate(headers):
            end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
            for check, reason in SKIP.findall(text[header.start() : end]):
                skips[(check, f"{header.group(1)}.{header.group(2)}")] = reason.strip()
    return skips


GATED = ("privilege_escalation", "resource_exposure")
MODES = ("unconstrained", "all_risky")


def findings(roles: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(role, mode, risk, item): escalation methods, and the services of exposing actions."""
    found = set()
    for role, result in roles.items():
        for mode in MODES:
            found |= {(role, mode, "privilege_escalation", m) for m in result[mode]["privilege_escalation"]}
            found |= {
                (role, mode, "resource_exposure", a.split(":")[0]) for a in result[mode]["resource_exposure"]
            }
    return found


def justified_findings() -> dict[tuple[str, str, str, str], str]:
    entries = yaml.safe_load(FINDINGS_FILE.read_text(encoding="utf-8"))["findings"] or []
    return {
        (entry["role"], entry["mode"], entry["risk"], item): entry["reason"]
        for entry in entries
        for item in entry["items"]
    }


def make(target: str, plan_json: Path, *args: str) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", target, f"PLAN_JSON={plan_json}", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # the first run installs the tool into its venv
    )
    print(f"make {target}: {time.perf_counter() - started:.1f} s")
    return done


def iam_documents(plan: dict[str, Any]) -> list[str]:
    """Every rendered IAM policy document of the plan, as the provider will send it."""

    def walk(module: dict[str, Any]) -> list[dict[str, Any]]:
        return module.get("resources", []) + [r for c in module.get("child_modules", []) for r in walk(c)]

    return [
        resource["values"]["policy"]
        for resource in walk(plan["planned_values"]["root_module"])
        if resource["type"] in {"aws_iam_role_policy", "aws_iam_policy"}
    ]
