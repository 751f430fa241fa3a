"""The release job's `terraform apply` runs as the release role (terraform/iam.tf,
github_release_policy), not as the administrator who made the account: applied again as that role,
on the same state and variables (with the optional modules tests/iam turns on: the API front door
and the batch role), Terraform refreshes every resource and finds nothing to change. A permission
the role lacks for one of those resources (or the boundary's service list) fails the refresh."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.iam.conftest import Account
from tests.iam.test_principals import RELEASE_JOB
from tests.infra.conftest import make_runner

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam


def terraform_defaults(function: str) -> dict[str, str]:
    """The redeploy Lambda's variables as Terraform set them: the package fixture shortened its
    polling (conftest._quick_lambda), a change outside Terraform that a plan would want to undo."""
    client = boto3.client("lambda")
    variables = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    quick = dict(variables)
    restored = {k: v for k, v in variables.items() if k != "LOCK_WAIT_SECONDS"} | {"POLL_SECONDS": "15"}
    client.update_function_configuration(FunctionName=function, Environment={"Variables": restored})
    return quick


def test_the_release_role_applies_the_account_with_no_changes(env: Account):
    assert env.terraform_dir is not None, "the package fixture records the applied configuration"
    function = env.outputs["redeploy_function_name"]
    with env.acting_as(env.admin):
        quick = terraform_defaults(function)
    release = env.github("release", RELEASE_JOB)
    run = make_runner(env.terraform_dir, {**env.admin, **release})
    try:
        applied = run("main", "apply", "-auto-approve", "-input=false", *env.variables, timeout=120)
    finally:
        with env.acting_as(env.admin):
            boto3.client("lambda").update_function_configuration(
                FunctionName=function, Environment={"Variables": quick}
            )
    assert applied.returncode == 0, f"apply as the release role failed:\n{applied.output[-4000:]}"
    assert "No changes." in applied.stdout, applied.stdout[-4000:]


def test_without_its_api_statement_the_release_role_cannot_refresh_the_api(env: Account):
    """The same refresh with the release policy's ManageTheFrontDoorApi statement removed (by the
    administrator, for this test only): API Gateway's GET on the API is refused, so the statement
    is what lets the release job apply the front door."""
    assert env.terraform_dir is not None
    role = env.role("release").rsplit("/", 1)[-1]
    name = f"{env.outputs['endpoint_name']}-release"  # iam.tf's aws_iam_role_policy.this["release"]
    with env.acting_as(env.admin):
        iam = boto3.client("iam")
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        trimmed = [s for s in document["Statement"] if s.get("Sid") != "ManageTheFrontDoorApi"]
        assert len(trimmed) == len(document["Statement"]) - 1
        iam.put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": trimmed})
        )
    try:
        run = make_runner(env.terraform_dir, {**env.admin, **env.github("release", RELEASE_JOB)})
        planned = run("main", "plan", "-input=false", "-lock=false", *env.variables, timeout=120)
    finally:
        with env.acting_as(env.admin):
            boto3.client("iam").put_role_policy(
                RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document)
            )
    assert planned.returncode != 0, planned.output[-4000:]
    api = f"arn:aws:apigateway:{env.outputs['region']}::/apis/{env.outputs['api_id']}"
    assert f"apigateway:GET on resource: {api}" in planned.output, planned.output[-4000:]


def test_turning_the_front_door_off_as_the_release_role_stops_at_the_plan(env: Account):
    """enable_api (as enable_ecs) changes the release role's own policy and the boundary, which it
    may not: the plan fails before anything is applied, saying to apply as an administrator."""
    assert env.terraform_dir is not None
    run = make_runner(env.terraform_dir, {**env.admin, **env.github("release", RELEASE_JOB)})
    variables = [*env.variables, "-var", "enable_api=false"]  # the last -var of a name wins
    planned = run("main", "plan", "-input=false", "-lock=false", *variables, timeout=120)
    assert planned.returncode != 0, planned.output[-4000:]
    text = " ".join(planned.output.split())
    assert "which the release role may not change: apply this change as an administrator" in text, text[
        -4000:
    ]
