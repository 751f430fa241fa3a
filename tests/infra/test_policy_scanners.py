"""The policy scanners see the policies Terraform renders, not only terraform/'s source.

The configuration is applied to the local cloud (a new account: bootstrap, S3 backend, apply) and
planned again, so the saved plan's JSON holds every IAM document as a concrete value (before an
apply, documents that name resource ARNs are unknown). Then, through the make targets a developer
runs (mk/scan.mk):

- checkov's terraform_plan framework runs on the plan; a plan carries no `#checkov:skip` comments,
  so each failed check must be skipped, with its reason, by a comment on the same resource in
  terraform/ (what `make infra-checkov` honours on the source) or be listed with its reason in
  tests/infra/checkov-plan-findings.yaml;
- cloudsplaining (tools/policy_scan.py) reports, per role, privilege escalation (by escalation
  method) and resource exposure (by service), in its default mode (actions without a resource
  constraint) and in its flag-all-risky-actions mode; every finding must be listed with its reason
  in tests/infra/iam-findings.yaml, and every entry there must still be found (a justification
  outliving its finding is stale).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.conftest import GITHUB_REPOSITORY, REPO_ROOT, TfResult, copy_terraform, make_runner
from textclf import lambda_zip as lambda_zip_module
from textclf.frontdoor import proxy

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


def ok(result: TfResult, what: str) -> TfResult:
    assert result.returncode == 0, f"{what} failed after {result.seconds:.0f} s:\n{result.output[-6000:]}"
    print(f"{what}: {result.seconds:.1f} s")
    return result


@pytest.fixture
def rendered_plan(aws_env: dict[str, str], terraform_bin: str, lambda_zip: Path, tmp_path: Path) -> Path:
    """`terraform show -json` of a plan made after applying to a new local-cloud account."""
    run = make_runner(copy_terraform(tmp_path / "terraform"), aws_env)
    ok(run("bootstrap", "init", "-input=false"), "bootstrap init")
    ok(run("bootstrap", "apply", "-auto-approve", "-input=false"), "bootstrap apply")
    ok(run("write-backend"), "write backend")
    ok(run("main", "init", "-input=false"), "init")
    variables = ["-var", f"github_repository={GITHUB_REPOSITORY}", "-var", f"lambda_zip_path={lambda_zip}"]
    # The optional modules' roles are scanned too: the API front door's proxy and the batch role.
    proxy_zip = lambda_zip_module.build(proxy.ZIP_FILES, str(tmp_path / "api-proxy.zip"))
    variables += ["-var", "enable_api=true", "-var", f"api_proxy_zip_path={proxy_zip}"]
    variables += ["-var", "enable_batch=true"]
    ok(run("main", "apply", "-auto-approve", "-input=false", *variables, timeout=900), "apply")
    plan = tmp_path / "after-apply.tfplan"
    # The container service is planned, not applied (moto runs no load balancer or ECS service
    # worth the time): its policies only name ARNs the apply made, so the plan renders them whole.
    outputs = json.loads(ok(run("main", "output", "-json"), "output").stdout)
    model = f"s3://{outputs['artifacts_bucket']['value']}/models/{'0' * 40}/model.tar.gz"
    ecs = [
        "-var",
        "enable_ecs=true",
        "-var",
        "ecs_vpc_id=vpc-00000000000000000",
        "-var",
        f"ecs_model_data_url={model}",
    ]
    ecs += [
        "-var",
        'ecs_task_subnet_ids=["subnet-0000000000000000a"]',
        "-var",
        f"ecs_model_sha256={'0' * 64}",
    ]
    ecs += ["-var", 'ecs_alb_subnet_ids=["subnet-0000000000000000b", "subnet-0000000000000000c"]']
    ecs += ["-var", f"ecs_certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/{'0' * 8}"]
    ok(run("main", "plan", "-input=false", f"-out={plan}", *variables, *ecs, timeout=600), "plan")
    shown = ok(run("main", "show", "-json", str(plan)), "show -json")
    path = tmp_path / "plan.json"
    path.write_text(shown.stdout, encoding="utf-8")
    return path


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


@pytest.mark.slow
def test_checkov_and_cloudsplaining_read_the_rendered_policies(rendered_plan: Path) -> None:
    plan = json.loads(rendered_plan.read_text(encoding="utf-8"))
    documents = iam_documents(plan)
    assert len(documents) >= 8, "the plan holds the role policies"
    assert all(json.loads(doc)["Statement"] for doc in documents), "concrete documents, not unknowns"

    # checkov on the plan: it sees the IAM policies (its IAM checks ran on them), and every failed
    # check is skipped with a reason, on its resource in terraform/ or in CHECKOV_PLAN_FINDINGS.
    checkov = make("infra-checkov-plan", rendered_plan, "CHECKOV_PLAN_ARGS=--output json")
    assert checkov.stdout.lstrip().startswith(("{", "[")), checkov.stdout + checkov.stderr
    reports = json.loads(checkov.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    results = [report["results"] for report in reports]
    failed = [c for r in results for c in r["failed_checks"]]
    passed = [c for r in results for c in r["passed_checks"]]
    iam_checked = {c["resource"].split(".")[0] for c in passed if c["resource"].startswith("aws_iam_")}
    assert {"aws_iam_role_policy", "aws_iam_role"} <= iam_checked, iam_checked
    assert any(c["check_id"] == "CKV_AWS_289" for c in passed), "the IAM policy checks ran"
    skips = source_skips()
    plan_findings = {
        (entry["check"], entry["resource"]): entry["reason"]
        for entry in yaml.safe_load(CHECKOV_PLAN_FINDINGS.read_text(encoding="utf-8"))["findings"]
    }
    unexplained = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in failed
        if (c["check_id"], re.sub(r"\[.*\]$", "", c["resource"])) not in skips
        and (c["check_id"], c["resource"]) not in plan_findings
    ]
    assert not unexplained, "\n".join(unexplained)
    assert all(len(reason) >= 20 for reason in [*skips.values(), *plan_findings.values()])
    failing = {(c["check_id"], c["resource"]) for c in failed}
    assert plan_findings.keys() <= failing, f"stale: {sorted(plan_findings.keys() - failing)}"
    # CKV2_AWS_6 on the plan: checkov does not connect a bucket to its public access block there.
    # The blocks are in the same plan, every flag on, one per bucket (what the justification says).
    blocks = [
        r["values"]
        for r in plan["planned_values"]["root_module"]["resources"]
        if r["type"] == "aws_s3_bucket_public_access_block"
    ]
    buckets = [r for r in plan["planned_values"]["root_module"]["resources"] if r["type"] == "aws_s3_bucket"]
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert {b["bucket"] for b in blocks if all(b[f] for f in flags)} >= {
        b["values"]["bucket"] for b in buckets
    }

    # cloudsplaining per role: every finding justified, every justification still needed.
    scanned = make("infra-cloudsplaining", rendered_plan)
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    roles = json.loads(scanned.stdout)["roles"]
    assert len(roles) >= 8 and all(role["policies"] for role in roles.values()), roles
    optional = {"api-proxy", "github-batch", "ecs-task", "ecs-execution"}  # api.tf, batch.tf, ecs.tf
    assert {f"textclf-prod-{name}" for name in optional} <= roles.keys(), sorted(roles)
    found = findings(roles)
    justified = justified_findings()
    unjustified = sorted(found - justified.keys())
    assert not unjustified, (
        f"add these to {FINDINGS_FILE.name} with a reason, or fix the policy: {unjustified}"
    )
    stale = sorted(justified.keys() - found)
    assert not stale, f"no longer found, remove from {FINDINGS_FILE.name}: {stale}"
    assert all(len(reason.split()) >= 8 for reason in justified.values()), "a reason says why"
    # cloudsplaining's default mode (actions on Resource "*") finds nothing to justify on any role.
    assert not [key for key in justified if key[1] == "unconstrained"]


def test_the_scan_finds_an_escalation_and_an_exposure(tmp_path: Path) -> None:
    """tools/policy_scan.py on a plan holding a role that can pass any role to a new Lambda and
    invoke it, and rewrite bucket policies: both risks are reported, in both modes."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
                "Resource": "*",
            },
            {"Effect": "Allow", "Action": "s3:PutBucketPolicy", "Resource": "*"},
        ],
    }
    plan = {
        "planned_values": {
            "root_module": {
                "resources": [
                    {"address": "aws_iam_role.x", "type": "aws_iam_role", "values": {"name": "risky"}},
                    {
                        "address": "aws_iam_role_policy.x",
                        "type": "aws_iam_role_policy",
                        "values": {"role": "risky", "policy": json.dumps(policy)},
                    },
                ]
            }
        }
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    scanned = make("infra-cloudsplaining", path)
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    found = findings(json.loads(scanned.stdout)["roles"])
    for mode in MODES:
        assert ("risky", mode, "privilege_escalation", "PassExistingRoleToNewLambdaThenInvoke") in found
        assert ("risky", mode, "resource_exposure", "s3") in found
