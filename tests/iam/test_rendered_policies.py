"""The policy scanners see the policies Terraform renders, not only terraform/'s source.

The account tests/iam applies once (a new local-cloud account: bootstrap, S3 backend, apply as the
administrator, with the optional API front door and batch role) is planned again, with the
container service on, so the saved plan's JSON holds every IAM document as a concrete value (before
an apply, documents that name resource ARNs are unknown). Then, through the make targets a
developer runs (mk/scan.mk):

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
from pathlib import Path

import pytest
import yaml

from tests.iam.conftest import Account
from tests.infra.conftest import make_runner
from tests.infra.scanners import (
    CHECKOV_PLAN_FINDINGS,
    FINDINGS_FILE,
    findings,
    iam_documents,
    justified_findings,
    make,
    source_skips,
)


@pytest.fixture(scope="module")
def rendered_plan(account: Account, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`terraform show -json` of a plan made on the applied account, as its administrator."""
    assert account.terraform_dir is not None, "the package fixture records the applied configuration"
    run = make_runner(account.terraform_dir, account.admin)
    plan = tmp_path_factory.mktemp("scan") / "after-apply.tfplan"
    # The container service is planned, not applied (moto runs no load balancer or ECS service
    # worth the time): its policies only name ARNs the apply made, so the plan renders them whole.
    model = f"s3://{account.outputs['artifacts_bucket']}/models/{'0' * 40}/model.tar.gz"
    ecs = ["-var", "enable_ecs=true", "-var", "ecs_vpc_id=vpc-00000000000000000"]
    ecs += ["-var", f"ecs_model_data_url={model}", "-var", f"ecs_model_sha256={'0' * 64}"]
    ecs += ["-var", 'ecs_task_subnet_ids=["subnet-0000000000000000a"]']
    ecs += ["-var", 'ecs_alb_subnet_ids=["subnet-0000000000000000b", "subnet-0000000000000000c"]']
    ecs += ["-var", f"ecs_certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/{'0' * 8}"]
    planned = run("main", "plan", "-input=false", f"-out={plan}", *account.variables, *ecs, timeout=600)
    assert planned.returncode == 0, f"plan failed:\n{planned.output[-6000:]}"
    shown = run("main", "show", "-json", str(plan))
    assert shown.returncode == 0, shown.output[-4000:]
    path = plan.with_name("plan.json")
    path.write_text(shown.stdout, encoding="utf-8")
    return path


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
