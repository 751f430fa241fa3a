"""Every step as its real principal, on the roles and policies Terraform applied (IAM enforced).

A model published by hand (a pull request's run publishes through the training-run function:
tests/iam/test_attacks.py); the release job promotes it (the redeploy Lambda deploys it
as its own role, the endpoint's model reads it as the SageMaker role, the smoke request and the
champion as the release role); a broken model is rolled back and a Failed endpoint replaced. Then
each role is refused what it must not do, each refusal naming principal, action and resource; and
one permission removed from terraform/iam.tf's Lambda policy makes the deploy fail naming the call.
The pr and release workflows end to end, and the training job as the SageMaker role, run in the
rehearsals (tests/e2e), which enforce IAM the same way.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import GITHUB_REPOSITORY, Account
from tests.release.evaluation import params_of, write_evaluation
from tests.release.redeploy_world import set_endpoint_behaviour, tarball
from textclf.config import AwsParams
from textclf.localcloud import principals
from textclf.release import promote

pytestmark = pytest.mark.slow  # Terraform applies a whole account first

GOOD = "1111111111111111111111111111111111111111"
BROKEN = "2222222222222222222222222222222222222222"
NEXT = "3333333333333333333333333333333333333333"
PR_JOB = principals.pull_request(GITHUB_REPOSITORY)
RELEASE_JOB = principals.release(GITHUB_REPOSITORY)


def targets(account: Account) -> promote.Targets:
    return promote.Targets(account.outputs["redeploy_function_name"], account.outputs["endpoint_name"])


def model_folder(tiny_model_dir: Path, tmp_path: Path, broken: bool = False) -> tuple[Path, Path]:
    """A model folder and its metrics file, as the train and evaluate stages leave them (evaluate's
    passing verdict, which publish requires, beside the metrics as gate.json)."""
    folder = tmp_path / "model"
    with tarfile.open(fileobj=io.BytesIO(tarball(tiny_model_dir)), mode="r:gz") as archive:
        archive.extractall(folder, filter="data")
    if broken:  # no weights: the container would fail its health check
        (folder / "model.safetensors").unlink()
    metrics = write_evaluation(folder, tmp_path / "eval.json")  # and the verdict beside it
    return folder, metrics


def denied(call, principal: str, action: str, resource: str) -> None:
    """The call is refused, and the message names who, what and on which resource."""
    with pytest.raises(ClientError) as caught:
        call()
    message = str(caught.value)
    assert "AccessDenied" in message, message
    assert re.search(
        rf"User: {re.escape(principal)}\S* is not authorized to perform: {re.escape(action)}", message
    ), message
    assert resource in message, message


def session_of(account: Account, role: str) -> str:
    return f"arn:aws:sts::123456789012:assumed-role/{account.role(role).rsplit('/', 1)[1]}/"


def test_a_token_opens_only_the_role_its_job_is_trusted_for(env: Account):
    assert env.github("pr", PR_JOB)["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env.github("release", RELEASE_JOB)["AWS_ACCESS_KEY_ID"].startswith("ASIA")

    for role in ("release", "promote"):
        with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
            env.github(role, PR_JOB)  # a pull request's token does not open a release role
    fork = principals.pull_request("someone-else/text-classifier")
    with pytest.raises(ClientError, match="AccessDenied"):
        env.github("pr", fork)  # nor does another repository's
    with pytest.raises(ClientError, match="MaxSessionDuration"):
        env.github("release", RELEASE_JOB, duration_s=4 * 3600)  # longer than the role allows
    # The same subject (production, main) from another workflow file: batch.yml's, retrain.yml's or
    # any file a merged change adds does not open the release or promote role (job_workflow_ref).
    for workflow in ("batch.yml", "retrain.yml", "drift.yml"):
        other = principals.release(GITHUB_REPOSITORY, workflow=workflow)
        for role in ("release", "promote"):
            with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
                env.github(role, other)
    state = principals.release(GITHUB_REPOSITORY, workflow="state.yml")
    assert env.github("state", state)["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # its comparison
    for role in ("release", "promote"):  # the scheduled comparison gets neither (before: promote)
        with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
            env.github(role, state)
    for job in (RELEASE_JOB, principals.release(GITHUB_REPOSITORY, workflow="batch.yml"), PR_JOB):
        with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
            env.github("state", job)  # and no other workflow's job gets the state role


def test_production_infra_opens_the_release_role_and_no_other(env: Account):
    """release.yml's production-infra job (production's Terraform apply and images on every push)
    runs in an environment of its own, with no reviewers, so production's approvals never hold it:
    production's release role trusts its subject (terraform/iam.tf, github_infra_environments), the
    promote role (which changes the endpoint) and the state and batch roles do not. The same
    environment off main, or from another workflow file, opens nothing."""
    infra = principals.release(GITHUB_REPOSITORY, environment="production-infra")
    assert env.github("release", infra)["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    for role in ("promote", "state", "batch"):
        with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
            env.github(role, infra)
    for job in (
        principals.release(GITHUB_REPOSITORY, environment="production-infra", branch="feature"),
        principals.release(GITHUB_REPOSITORY, environment="production-infra", workflow="batch.yml"),
        principals.release(GITHUB_REPOSITORY, environment="production-infra", workflow="state.yml"),
    ):
        for role in ("release", "promote", "state"):
            with pytest.raises(ClientError, match=r"AccessDenied.*sts:AssumeRoleWithWebIdentity"):
                env.github(role, job)


def test_the_state_role_reads_what_production_serves_and_nothing_else(env: Account):
    """state.yml compares the endpoint with deploy/production.yaml (textclf.release.desired
    compare): it describes the endpoint, its config and its model, and may not deploy, invoke the
    redeploy Lambda, read models or write the champion record as the promote role may."""
    out = env.outputs
    endpoint, bucket = out["endpoint_name"], out["artifacts_bucket"]
    with env.acting_as(env.github("state", principals.release(GITHUB_REPOSITORY, workflow="state.yml"))):
        sagemaker = boto3.client("sagemaker")
        for call in (
            lambda: sagemaker.describe_endpoint(EndpointName=endpoint),
            lambda: sagemaker.describe_endpoint_config(EndpointConfigName=f"{endpoint}-x"),
            lambda: sagemaker.describe_model(ModelName=f"{endpoint}-x"),
        ):
            try:
                call()
            except ClientError as error:  # no such endpoint, config or model yet: allowed, not there
                assert "AccessDenied" not in str(error), error
        session = session_of(env, "state")
        denied(
            lambda: boto3.client("lambda").invoke(FunctionName=out["redeploy_function_name"], Payload=b"{}"),
            session,
            "lambda:InvokeFunction",
            out["redeploy_function_name"],
        )
        s3 = boto3.client("s3")
        denied(
            lambda: s3.put_object(Bucket=bucket, Key="production/champion.json", Body=b"{}"),
            session,
            "s3:PutObject",
            "production/champion.json",
        )
        denied(
            lambda: s3.get_object(Bucket=out["models_bucket"], Key=f"models/{GOOD}/model.tar.gz"),
            session,
            "s3:GetObject",
            f"models/{GOOD}/model.tar.gz",
        )
        denied(
            lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-x"),
            session,
            "sagemaker:UpdateEndpoint",
            endpoint,
        )


def test_the_release_job_promotes_a_published_model_through_the_lambda(env, tiny_model_dir, tmp_path):
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    promote.publish(
        GOOD, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    with env.acting_as(env.github("promote", RELEASE_JOB)):
        deployment = promote.promote(GOOD, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)

    assert deployment["commit"] == GOOD and deployment["smoke"]["model_version"].startswith(GOOD[:7])
    endpoint = boto3.client("sagemaker").describe_endpoint(EndpointName=env.outputs["endpoint_name"])
    assert endpoint["EndpointStatus"] == "InService"


def test_a_broken_model_is_rolled_back_and_a_failed_endpoint_replaced(
    env, local_cloud, tiny_model_dir, tmp_path
):
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path, broken=True)
    promote.publish(
        BROKEN, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    sagemaker = boto3.client("sagemaker")
    endpoint_name = env.outputs["endpoint_name"]
    serving = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    try:
        for failure in ("rollback", "failed"):  # SageMaker rolls back itself / the endpoint ends Failed
            set_endpoint_behaviour(local_cloud.url, update_failure=failure, transition_seconds=0.2)
            with env.acting_as(env.github("promote", RELEASE_JOB)), pytest.raises(promote.ReleaseError):
                promote.promote(BROKEN, aws, targets(env), "macro_f1", wait_timeout_s=60, poll_s=0.2)
            live = sagemaker.describe_endpoint(EndpointName=endpoint_name)
            assert live["EndpointStatus"] == "InService", (failure, live)
            config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
            model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
            assert GOOD in model["PrimaryContainer"]["ModelDataUrl"], (failure, live)
            assert serving == live["EndpointConfigName"] or failure == "failed"
    finally:
        set_endpoint_behaviour(local_cloud.url, update_failure="rollback")


def test_each_role_is_refused_what_it_must_not_do(env: Account):
    out = env.outputs
    artifacts, endpoint = out["artifacts_bucket"], out["endpoint_name"]
    region, account_id = out["region"], "123456789012"
    endpoint_arn = f"arn:aws:sagemaker:{region}:{account_id}:endpoint/{endpoint}"
    function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{out['redeploy_function_name']}"
    state_bucket = f"textclf-tfstate-{account_id}-{region}"

    pr = session_of(env, "pr")
    with env.acting_as(env.github("pr", PR_JOB)):
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        denied(
            lambda: sm.update_endpoint(EndpointName=endpoint, EndpointConfigName="x"),
            pr,
            "sagemaker:UpdateEndpoint",
            endpoint_arn,
        )
        denied(
            lambda: sm.delete_endpoint(EndpointName=endpoint), pr, "sagemaker:DeleteEndpoint", endpoint_arn
        )
        denied(
            lambda: boto3.client("lambda").invoke(FunctionName=out["redeploy_function_name"], Payload=b"{}"),
            pr,
            "lambda:InvokeFunction",
            function_arn,
        )
        denied(
            lambda: s3.put_object(Bucket=artifacts, Key="production/metrics.json", Body=b"{}"),
            pr,
            "s3:PutObject",
            f"arn:aws:s3:::{artifacts}/production/metrics.json",
        )
        denied(
            lambda: s3.get_object(Bucket=state_bucket, Key="main/terraform.tfstate"),
            pr,
            "s3:GetObject",
            f"arn:aws:s3:::{state_bucket}/main/terraform.tfstate",
        )
        denied(lambda: boto3.client("iam").list_roles(), pr, "iam:ListRoles", "*")
        # The project key through S3 only (kms:ViaService): not a data key of its own.
        denied(
            lambda: boto3.client("kms").generate_data_key(KeyId=out["kms_key_arn"], KeySpec="AES_256"),
            pr,
            "kms:GenerateDataKey",
            out["kms_key_arn"],
        )
        denied(
            lambda: boto3.client("iam").delete_role(RoleName=env.role("pr").rsplit("/", 1)[1]),
            pr,
            "iam:DeleteRole",
            env.role("pr"),
        )

    # The Lambda's and the SageMaker role's sessions, as their services get them.
    from textclf.localcloud import iam

    redeploy_role = boto3.client("lambda").get_function_configuration(
        FunctionName=out["redeploy_function_name"]
    )["Role"]
    for role, service in (
        (redeploy_role, "lambda.amazonaws.com"),
        (env.role("sagemaker"), "sagemaker.amazonaws.com"),
    ):
        session = iam.service_session(role, service, "negative-list")
        principal = iam.session_principal(session)
        with env.acting_as(session):
            s3 = boto3.client("s3")
            denied(
                lambda s3=s3: s3.put_object(Bucket=artifacts, Key="production/metrics.json", Body=b"{}"),
                principal,
                "s3:PutObject",
                f"arn:aws:s3:::{artifacts}/production/metrics.json",
            )
            denied(
                lambda s3=s3: s3.put_object(Bucket=out["data_bucket"], Key="dvc/files/md5/aa/bb", Body=b"x"),
                principal,
                "s3:PutObject",
                f"arn:aws:s3:::{out['data_bucket']}/dvc/files/md5/aa/bb",
            )
            denied(
                lambda: boto3.client("lambda").invoke(
                    FunctionName=out["redeploy_function_name"], Payload=b"{}"
                ),
                principal,
                "lambda:InvokeFunction",
                function_arn,
            )
            if service == "sagemaker.amazonaws.com":
                denied(
                    lambda: boto3.client("sagemaker").update_endpoint(
                        EndpointName=endpoint, EndpointConfigName="x"
                    ),
                    principal,
                    "sagemaker:UpdateEndpoint",
                    endpoint_arn,
                )


def test_a_permission_removed_from_the_lambda_role_fails_the_deploy_naming_the_call(
    env, tiny_model_dir, tmp_path
):
    """The enforcement is what makes the policies' tests mean something: drop UpdateEndpoint from
    the Lambda's policy (as a change to terraform/iam.tf would) and the next release fails on it."""
    aws = AwsParams().resolved()
    client = boto3.client("iam")
    role_name = (
        boto3.client("lambda")
        .get_function_configuration(FunctionName=env.outputs["redeploy_function_name"])["Role"]
        .rsplit("/", 1)[1]
    )
    (policy_name,) = client.list_role_policies(RoleName=role_name)["PolicyNames"]
    original = client.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    reduced = json.loads(json.dumps(original))
    for statement in reduced["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "sagemaker:UpdateEndpoint"]
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    promote.publish(
        NEXT, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    client.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(reduced))
    try:
        with env.acting_as(env.github("promote", RELEASE_JOB)), pytest.raises(promote.ReleaseError) as caught:
            promote.promote(NEXT, aws, targets(env), "macro_f1", wait_timeout_s=60, poll_s=0.2)
        assert "sagemaker:UpdateEndpoint" in str(caught.value), caught.value
    finally:
        client.put_role_policy(
            RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(original)
        )
