"""tools/policy_scan.py (cloudsplaining per role, `make infra-cloudsplaining`) finds what it must on a
plan written by hand. The scan of the policies Terraform renders for this repository's account is
tests/iam/test_rendered_policies.py (it plans on the account tests/iam applies once)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.infra.scanners import MODES, findings, make


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
