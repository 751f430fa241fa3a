"""cloudsplaining over the IAM policies Terraform renders: every role's identity policies (inline
`aws_iam_role_policy`, `inline_policy` blocks, attached `aws_iam_policy`), read from the JSON of a
saved plan (`terraform show -json PLAN`), where jsonencode'd documents are concrete values.

Run by `make infra-cloudsplaining` with the python of cloudsplaining's tool venv. Prints one JSON
object, per role: the number of policy documents, and cloudsplaining's findings in two modes:

- "unconstrained", cloudsplaining's default: actions allowed without a resource constraint
  (Resource "*"), https://github.com/salesforce/cloudsplaining ("Scan a single policy file");
- "all_risky", its --flag-all-risky-actions: every risky action, whatever its resource or
  condition, so a role that may act on its own project's resources is listed too.

Risks: privilege_escalation (cloudsplaining's escalation methods, e.g.
PassExistingRoleToNewLambdaThenInvoke), resource_exposure (actions that change who may access a
resource), data_exfiltration and infrastructure_modification (reported, not gated). A
permissions boundary is a ceiling, not a grant, so it is not scanned as a role's policy.

usage: python tools/policy_scan.py PLAN_JSON
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from cloudsplaining.scan.policy_document import PolicyDocument
from cloudsplaining.shared.exclusions import DEFAULT_EXCLUSIONS

RISKS = {
    "privilege_escalation": lambda doc: sorted(
        {finding["type"] for finding in doc.allows_privilege_escalation}
    ),
    "resource_exposure": lambda doc: sorted(set(doc.permissions_management_without_constraints)),
    "data_exfiltration": lambda doc: sorted(set(doc.allows_data_exfiltration_actions)),
    "infrastructure_modification": lambda doc: sorted(set(doc.infrastructure_modification)),
}
MODES = {"unconstrained": False, "all_risky": True}


def resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


def document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def role_policies(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Role name -> its identity policy documents, from the plan's planned values."""
    planned = list(resources(plan["planned_values"]["root_module"]))
    policies = {r["values"].get("arn") or r["address"]: r for r in planned if r["type"] == "aws_iam_policy"}
    by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in planned:
        values = resource["values"]
        if resource["type"] == "aws_iam_role":
            by_role[values["name"]]  # a role without policies is listed too
            for inline in values.get("inline_policy") or []:
                if inline.get("policy"):
                    by_role[values["name"]].append(document(inline["policy"]))
        elif resource["type"] == "aws_iam_role_policy":
            by_role[values["role"]].append(document(values["policy"]))
        elif resource["type"] == "aws_iam_role_policy_attachment":
            attached = policies.get(values["policy_arn"])
            if attached is None:
                raise SystemExit(f"{resource['address']}: {values['policy_arn']} is not in the plan")
            by_role[values["role"]].append(document(attached["values"]["policy"]))
    return by_role


def scan(plan: dict[str, Any]) -> dict[str, Any]:
    roles = {}
    for role, documents in sorted(role_policies(plan).items()):
        # The same document can appear twice (a role's computed inline_policy mirrors its
        # aws_iam_role_policy resources); one combined document per role, because escalation
        # methods combine actions across a role's policies.
        unique = {json.dumps(doc, sort_keys=True): doc for doc in documents}.values()
        statements = [
            statement
            for doc in unique
            for statement in (doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]])
        ]
        combined = {"Version": "2012-10-17", "Statement": statements}
        roles[role] = {"policies": len(unique)}
        for mode, flag_all in MODES.items():
            policy = PolicyDocument(
                combined, exclusions=DEFAULT_EXCLUSIONS, flag_resource_arn_statements=flag_all
            )
            roles[role][mode] = {name: risk(policy) for name, risk in RISKS.items()}
    return {"roles": roles}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as handle:
        print(json.dumps(scan(json.load(handle)), indent=2, sort_keys=True))
