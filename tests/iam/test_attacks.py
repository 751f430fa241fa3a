"""Attacks on the release's integrity (`make test-security`), against the Terraform-made account with
IAM enforced. Each one is refused, and none changes what the endpoint serves.

A pull request's workflow, a dependency inside it or a careless contributor has the PR role's
credentials; the question each test asks is whether that is enough to put other bytes in production.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.github_issuer import Issuer
from tests.iam.conftest import GITHUB_REPOSITORY, Account
from tests.iam.test_principals import GOOD, PR_JOB, RELEASE_JOB, model_folder, targets
from tests.release.evaluation import params_of
from textclf.config import AwsParams
from textclf.localcloud import iam, oidc, principals
from textclf.release import promote

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam

VICTIM = "4444444444444444444444444444444444444444"
ATTACKER = "5555555555555555555555555555555555555555"
IN_PARTS = "6666666666666666666666666666666666666666"


def serving(account: Account) -> tuple[str, str]:
    """(endpoint config, model data URL) the endpoint serves now."""
    sagemaker = boto3.client("sagemaker")
    live = sagemaker.describe_endpoint(EndpointName=account.outputs["endpoint_name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return live["EndpointConfigName"], model["PrimaryContainer"]["ModelDataUrl"]


@pytest.fixture
def endpoint_unchanged(env: Account, tiny_model_dir, tmp_path_factory) -> Iterator[None]:
    """An endpoint serving a released model before the attack, and the same one after it."""
    try:
        before = serving(env)
    except ClientError:  # this module alone: release a first model
        aws = AwsParams().resolved()
        folder, metrics = model_folder(tiny_model_dir, tmp_path_factory.mktemp("first"))
        promote.publish(
            GOOD, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
        )  # by hand
        with env.acting_as(env.github("promote", RELEASE_JOB)):
            promote.promote(GOOD, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)
        before = serving(env)
    yield
    assert serving(env) == before


def refused(call, *fragments: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_pr_role_cannot_replace_another_commits_model(env, endpoint_unchanged, tiny_model_dir, tmp_path):
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    promote.publish(
        VICTIM, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    with env.acting_as(env.github("pr", PR_JOB)):
        s3 = boto3.client("s3")
        bucket, key = env.outputs["artifacts_bucket"], f"models/{VICTIM}/model.tar.gz"
        # A plain overwrite is refused by the bucket policy; the role may not write models/ at all.
        refused(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"evil"), "AccessDenied", "explicit deny")
        refused(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"evil", IfNoneMatch="*"), "AccessDenied")
        refused(lambda: s3.delete_object(Bucket=bucket, Key=key), "AccessDenied")
        manifest_key = f"models/{VICTIM}/manifest.json"
        refused(lambda: s3.put_object(Bucket=bucket, Key=manifest_key, Body=b"{}"), "AccessDenied")
    manifest = promote.find_artifact(VICTIM, aws)
    # Still the bytes published; and, published by hand, nothing shows a training job of VICTIM.
    assert promote.verify_archive(VICTIM, manifest, aws, provenance=False) == manifest["sha256"]
    with pytest.raises(promote.ReleaseError, match="no provenance"):
        promote.verify_archive(VICTIM, manifest, aws)


def second_write_in_parts(s3, bucket: str, key: str, upload: str, **complete) -> None:
    """Stage other bytes as a part of `upload` and complete it over `key` (`complete`: IfNoneMatch)."""
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"other bytes")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        **complete,
    )


def test_a_released_model_is_written_once_in_parts_and_never_by_copy(
    env, endpoint_unchanged, tiny_model_dir, tmp_path, monkeypatch
):
    """models/<commit>/ on the Terraform-made account (storage.tf's write-once bucket policy, iam.tf's
    roles). The first write by the documented path for an archive above one PutObject works: in
    parts, completed with If-None-Match (`promote.publish` by hand, scaled down as in
    tests/release/test_publish_large.py). A second write of the key is then refused however it is
    uploaded: in parts with and without If-None-Match, or by CopyObject, with and without it. As the
    PR role, whose policy gives it no write to models/ at all (not even the staging calls, nor
    finishing an upload someone else staged); and as the training-run function's own role, the one
    principal allowed to write models/, which only the bucket policy stops: its staging calls go
    through (s3:ObjectCreationOperation false), its completion is refused (explicit deny without the
    header, 412 with it), and so is its copy (403 without the header, 501 with it: S3 User Guide,
    "Enforce conditional writes on Amazon S3 buckets")."""
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    monkeypatch.setattr(promote, "SINGLE_PUT_LIMIT_BYTES", 1024 * 1024)
    monkeypatch.setattr(promote, "PART_BYTES", 5 * 1024 * 1024)
    in_parts: list[str] = []
    put_in_parts = promote._put_in_parts
    monkeypatch.setattr(
        promote,
        "_put_in_parts",
        lambda s3, bucket, key, *rest: in_parts.append(key) or put_in_parts(s3, bucket, key, *rest),
    )
    manifest = promote.publish(
        IN_PARTS, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    bucket, key = env.outputs["artifacts_bucket"], f"models/{IN_PARTS}/model.tar.gz"
    assert in_parts == [key]

    function_role = boto3.client("lambda").get_function_configuration(
        FunctionName=env.outputs["stop_training_function_name"]
    )["Role"]
    as_function = iam.service_session(function_role, "lambda.amazonaws.com", "training-run")
    source = f"candidates/{IN_PARTS}/model.tar.gz"  # the PR role's to write, the function's to read
    staged = []
    try:
        with env.acting_as(env.github("pr", PR_JOB)):
            s3 = boto3.client("s3")
            s3.put_object(Bucket=bucket, Key=source, Body=b"other bytes")
            refused(
                lambda: s3.create_multipart_upload(Bucket=bucket, Key=key), "AccessDenied", "s3:PutObject"
            )
            copy = {"Bucket": bucket, "Key": key, "CopySource": {"Bucket": bucket, "Key": source}}
            refused(lambda: s3.copy_object(**copy), "AccessDenied", "s3:PutObject")
            # Refused either way; which answer comes first, the 501 or the PR role's missing permission,
            # the documentation does not say (the local cloud gives the 501).
            copying = refused(lambda: s3.copy_object(**copy, IfNoneMatch="*"))
            assert "NotImplemented" in copying or "AccessDenied" in copying, copying
        with env.acting_as(as_function):
            s3 = boto3.client("s3")
            for complete, refusal in (({}, "explicit deny"), ({"IfNoneMatch": "*"}, "PreconditionFailed")):
                staged.append(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
                refused(lambda c=complete: second_write_in_parts(s3, bucket, key, staged[-1], **c), refusal)
            refused(lambda: s3.copy_object(**copy), "AccessDenied", "explicit deny")
            refused(lambda: s3.copy_object(**copy, IfNoneMatch="*"), "NotImplemented")
            # Its own refused uploads it clears itself (iam.tf: AbortMultipartUpload, which the copy
            # of a model in parts needs when a part or the digest fails, textclf.training.stop_job).
            for upload in (staged.pop(), staged.pop()):
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            hijacked = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
            staged.append(hijacked)
        with env.acting_as(env.github("pr", PR_JOB)):
            s3 = boto3.client("s3")
            for complete in ({}, {"IfNoneMatch": "*"}):
                refused(
                    lambda c=complete: second_write_in_parts(s3, bucket, key, hijacked, **c), "AccessDenied"
                )
    finally:
        for upload in staged:  # as the administrator
            boto3.client("s3").abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    assert promote.verify_archive(IN_PARTS, manifest, aws, provenance=False) == manifest["sha256"]
    listed = boto3.client("s3").list_multipart_uploads(Bucket=bucket, Prefix=f"models/{IN_PARTS}/")
    assert not listed.get("Uploads")


def test_the_pr_role_cannot_release_around_the_review(env, endpoint_unchanged):
    out = env.outputs
    with env.acting_as(env.github("pr", PR_JOB)):
        refused(
            lambda: boto3.client("lambda").invoke(FunctionName=out["redeploy_function_name"], Payload=b"{}"),
            "AccessDenied",
            "lambda:InvokeFunction",
        )
        refused(
            lambda: boto3.client("sagemaker").create_model_package(
                ModelPackageGroupName=out["endpoint_name"],
                ModelApprovalStatus="Approved",
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": "x",
                            "ModelDataUrl": f"s3://{out['artifacts_bucket']}/models/{GOOD}/model.tar.gz",
                        }
                    ],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            ),
            "AccessDenied",
            "sagemaker:CreateModelPackage",
        )
        refused(
            lambda: boto3.client("s3").put_object(
                Bucket=out["artifacts_bucket"], Key="production/metrics.json", Body=b"{}"
            ),
            "AccessDenied",
            "production/metrics.json",
        )
        for role in ("release", "promote"):
            refused(
                lambda role=role: boto3.client("sts").assume_role(
                    RoleArn=env.role(role), RoleSessionName="escalate"
                ),
                "AccessDenied",
                "sts:AssumeRole",
            )


def test_a_pr_token_claiming_the_production_environment_off_main_opens_nothing(env, endpoint_unchanged):
    """A PR that adds `environment: production` to a job on its branch, or a workflow_dispatch of a
    modified release workflow from a branch: the subject carries the branch, so no trust matches."""
    from_branch = principals.GitHubJob(
        GITHUB_REPOSITORY, "workflow_dispatch", "refs/heads/feature", "production"
    )
    as_pull_request = principals.GitHubJob(
        GITHUB_REPOSITORY, "pull_request", "refs/pull/9/merge", "production"
    )
    for job in (from_branch, as_pull_request):
        for role in ("release", "promote"):
            with pytest.raises(ClientError, match="AccessDenied"):
                env.github(role, job)


def test_a_token_the_issuer_did_not_sign_opens_nothing(env, endpoint_unchanged):
    """The release job's exact claims, written by someone other than the issuer: unsigned
    (`alg: none`), signed with another key, or the issuer's token with its claims edited. STS
    checks the signature before any claim (InvalidIdentityToken)."""
    from botocore import UNSIGNED
    from botocore.config import Config

    from textclf.localcloud.oidc import b64url

    claims = RELEASE_JOB.claims()
    genuine = RELEASE_JOB.token()
    header, _, signature = genuine.split(".")
    payload = b64url(json.dumps(claims).encode())
    forged = [
        f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}.",
        Issuer(kid=oidc.KEY_ID).sign(claims),  # the issuer's key id, another key
        f"{header}.{b64url(json.dumps({**claims, 'exp': claims['exp'] + 3600}).encode())}.{signature}",
    ]
    sts = boto3.client("sts", config=Config(signature_version=UNSIGNED))
    for token in forged:
        with pytest.raises(ClientError, match="InvalidIdentityToken"):
            sts.assume_role_with_web_identity(
                RoleArn=env.role("release"), RoleSessionName="forger", WebIdentityToken=token
            )
    assert sts.assume_role_with_web_identity(
        RoleArn=env.role("release"), RoleSessionName="forger", WebIdentityToken=genuine
    )["Credentials"]["AccessKeyId"]


def job_request(account: Account, name: str) -> dict:
    """A CreateTrainingJob within the PR role's limits (it then fails here: no input channels)."""
    out = account.outputs
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": f"{out['training_repository_url']}:x",
            "TrainingInputMode": "File",
        },
        "RoleArn": out["sagemaker_role_arn"],
        # The project's key, as the training-run function names it (textclf.training.stop_job).
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{out['artifacts_bucket']}/jobs/",
            "KmsKeyId": out["kms_key_arn"],
        },
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
    }


def function_session(env: Account) -> dict[str, str]:
    """The training-run function's credentials, as Lambda gives them to it."""
    from textclf.localcloud import iam

    function = env.outputs["stop_training_function_name"]
    role = boto3.client("lambda").get_function_configuration(FunctionName=function)["Role"]
    return iam.service_session(role, "lambda.amazonaws.com", function)


def test_training_jobs_only_within_the_limits_params_allow(env):
    """The PR role starts no job itself (its run asks the training-run function); instance type,
    runtime and network isolation are conditions of the function role's CreateTrainingJob."""
    request = job_request(env, "textclf-attack-0001")
    with env.acting_as(env.github("pr", PR_JOB)):
        refused(
            lambda: boto3.client("sagemaker").create_training_job(**request),
            "AccessDenied",
            "sagemaker:CreateTrainingJob",
        )
    bad = [
        ("ResourceConfig", {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}),
        # No instance type named: ForAllValues alone would match the missing key (the Null guard).
        ("ResourceConfig", {"InstanceCount": 1, "VolumeSizeInGB": 30}),
        (
            "ResourceConfig",
            {
                "InstanceGroups": [
                    {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "InstanceGroupName": "g"}
                ],
                "VolumeSizeInGB": 30,
            },
        ),
        ("StoppingCondition", {"MaxRuntimeInSeconds": 5 * 24 * 3600}),
        ("EnableNetworkIsolation", False),
        # The output unencrypted by the project's key: none named, or another one.
        ("OutputDataConfig", {"S3OutputPath": request["OutputDataConfig"]["S3OutputPath"]}),
        (
            "OutputDataConfig",
            {
                **request["OutputDataConfig"],
                "KmsKeyId": request["OutputDataConfig"]["KmsKeyId"][:-12] + "0" * 12,
            },
        ),
    ]
    with env.acting_as(function_session(env)):
        sagemaker = boto3.client("sagemaker")
        for key, value in bad:
            refused(
                lambda key=key, value=value: sagemaker.create_training_job(**{**request, key: value}),
                "AccessDenied",
                "sagemaker:CreateTrainingJob",
            )
        # Within the limits it may (the job itself then fails here: it has no input channels).
        sagemaker.create_training_job(**request)
    started = boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    # Only the request within the limits made a job (the account is shared: other tests' jobs stay).
    assert [
        job["TrainingJobName"] for job in started if job["TrainingJobName"].startswith("textclf-attack-")
    ] == [request["TrainingJobName"]]


def test_a_pr_stops_its_own_runs_job_and_no_other(env, github_oidc, monkeypatch):
    """One role serves every PR, so it may not stop jobs itself; the stop-training function stops
    the job of the run whose GitHub-signed token comes with the request, and nothing else."""
    from textclf.config import load_params
    from textclf.localcloud import training
    from textclf.training import sagemaker as backend

    function = env.outputs["stop_training_function_name"]
    commit = "6" * 40
    own, other = (backend.run_job_name("textclf", commit, run, "1") for run in ("100", "200"))
    previous = training.configure(starting_seconds=300)  # both jobs wait for capacity meanwhile
    try:
        for name in (own, other):  # started as the training-run function starts them
            with env.acting_as(function_session(env)):
                boto3.client("sagemaker").create_training_job(**job_request(env, name))
        with env.acting_as(env.github("pr", PR_JOB)):
            sagemaker = boto3.client("sagemaker")
            refused(
                lambda: sagemaker.stop_training_job(TrainingJobName=other),
                "AccessDenied",
                "sagemaker:StopTrainingJob",
            )

            def ask(job: str, token: str) -> dict:
                answer = boto3.client("lambda").invoke(
                    FunctionName=function, Payload=json.dumps({"job_name": job, "token": token})
                )
                return json.loads(answer["Payload"].read())

            run_100 = {"run_id": 100, "pr": 7}
            answers = [
                ask(other, github_oidc.token(function, GITHUB_REPOSITORY, **run_100)),  # another PR's job
                ask(own, github_oidc.token("sts.amazonaws.com", GITHUB_REPOSITORY, **run_100)),  # STS's token
                ask(own, github_oidc.token(function, "mallory/fork", **run_100)),  # another repository
                ask(own, github_oidc.token(function, GITHUB_REPOSITORY, event_name="push", **run_100)),
                ask(own, Issuer().token(function, GITHUB_REPOSITORY, **run_100)),  # not GitHub's key
            ]
            for answer in answers:
                assert answer["ok"] is False and answer["status"] == "refused", answer
            assert "not the training job of run 100" in answers[0]["reason"]
            for name in (own, other):
                assert (
                    sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
                )

            # The pr workflow's cancel step, as the run's runner: its own token, its own job.
            for key, value in github_oidc.runner_env(GITHUB_REPOSITORY, **run_100).items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv("TEXTCLF_STOP_TRAINING_FUNCTION", function)
            run = {"GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "1", "COMMIT": commit}
            outcome = backend.stop_run_job(load_params(), env={**os.environ, **run}, log=lambda _: None)
            again = backend.stop_run_job(load_params(), env={**os.environ, **run}, log=lambda _: None)

            assert (outcome, again) == ("stopped", "finished")
            # Without the function configured, the PR role's own stop is refused, and says what to set.
            direct = {k: v for k, v in os.environ.items() if k != "TEXTCLF_STOP_TRAINING_FUNCTION"}
            with pytest.raises(backend.SageMakerError, match="STOP_TRAINING_FUNCTION"):
                backend.stop_run_job(load_params(), env={**direct, **run, "GITHUB_RUN_ID": "200"}, log=print)
            assert sagemaker.describe_training_job(TrainingJobName=own)["TrainingJobStatus"] in (
                "Stopping",
                "Stopped",
            )
            assert sagemaker.describe_training_job(TrainingJobName=other)["TrainingJobStatus"] == "InProgress"
    finally:
        training.configure(**{field: getattr(previous, field) for field in previous.__dataclass_fields__})
        boto3.client("sagemaker").stop_training_job(TrainingJobName=other)


def test_the_pr_role_cannot_overwrite_the_dvc_remote(env):
    with env.acting_as(env.github("pr", PR_JOB)):
        refused(
            lambda: boto3.client("s3").put_object(
                Bucket=env.outputs["data_bucket"],
                Key="dvc/files/md5/00/11223344556677889900aabbccddee",
                Body=b"x",
            ),
            "AccessDenied",
            "s3:PutObject",
        )


def test_a_tampered_archive_is_refused_at_promote(env, endpoint_unchanged, tiny_model_dir, tmp_path):
    """Even with the archive replaced behind the bucket policy's back (the administrator lifting it),
    the promote step compares it with the published sha256 before it touches the endpoint."""
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    promote.publish(
        ATTACKER, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    s3 = boto3.client("s3")
    bucket = env.outputs["artifacts_bucket"]
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    try:
        other = io.BytesIO()
        with tarfile.open(fileobj=other, mode="w:gz") as archive:
            data = json.dumps({"evil": True}).encode()
            info = tarfile.TarInfo("config.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        s3.put_object(Bucket=bucket, Key=f"models/{ATTACKER}/model.tar.gz", Body=other.getvalue())
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    with env.acting_as(env.github("promote", RELEASE_JOB)), pytest.raises(promote.ReleaseError) as caught:
        promote.promote(ATTACKER, aws, targets(env), "macro_f1", wait_timeout_s=30, poll_s=0.2)
    assert "is not the reviewed model; nothing was released" in str(caught.value)


def test_the_apply_role_cannot_loosen_its_own_limits(env):
    out = env.outputs
    role_name = env.role("release").rsplit("/", 1)[1]
    admin = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    with env.acting_as(env.github("release", RELEASE_JOB)):
        iam = boto3.client("iam")
        refused(
            lambda: iam.put_role_policy(RoleName=role_name, PolicyName="more", PolicyDocument=admin),
            "AccessDenied",
        )
        refused(lambda: iam.delete_role_permissions_boundary(RoleName=role_name), "AccessDenied")
        refused(
            lambda: iam.create_role(RoleName="textclf-prod-escape", AssumeRolePolicyDocument=trust),
            "AccessDenied",
            "iam:CreateRole",
        )
        refused(lambda: iam.create_user(UserName="backdoor"), "AccessDenied", "iam:CreateUser")
        state_bucket = f"textclf-tfstate-123456789012-{out['region']}"
        refused(lambda: boto3.client("s3").delete_bucket_policy(Bucket=state_bucket), "AccessDenied")
        # Within the boundary it may still do its job: a project role that carries the boundary.
        boundary = iam.get_role(RoleName=role_name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        iam.create_role(
            RoleName="textclf-prod-scratch", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary
        )
        iam.delete_role(RoleName="textclf-prod-scratch")


def test_the_apply_role_cannot_arm_a_project_role_nor_touch_the_github_roles(env):
    """Issue 25's escalation: a release role (staging's has no reviewers) attaching an AWS policy
    such as AdministratorAccess, or the boundary itself as a grant, to a project role it can pass
    to a function; or rewriting the PR, promote or release role's trust or policy. The boundary
    (terraform/boundary.tf) refuses each; the project's own managed policies may still be attached."""
    out = env.outputs
    prefix = out["endpoint_name"]  # textclf-<environment>
    lambda_role = f"{prefix}-redeploy-lambda"
    anything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    with env.acting_as(env.admin):
        admin_iam = boto3.client("iam")
        own = admin_iam.create_policy(PolicyName=f"{prefix}-extra", PolicyDocument=anything)["Policy"]["Arn"]
        boundary = admin_iam.get_role(RoleName=lambda_role)["Role"]["PermissionsBoundary"][
            "PermissionsBoundaryArn"
        ]
        pr_trust_before = admin_iam.get_role(RoleName=f"{prefix}-github-pr")["Role"][
            "AssumeRolePolicyDocument"
        ]
    wide_trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
        }
    )
    try:
        with env.acting_as(env.github("release", RELEASE_JOB)):
            iam = boto3.client("iam")
            for policy_arn in ("arn:aws:iam::aws:policy/AdministratorAccess", boundary):
                refused(
                    lambda policy_arn=policy_arn: iam.attach_role_policy(
                        RoleName=lambda_role, PolicyArn=policy_arn
                    ),
                    "AccessDenied",
                    "iam:AttachRolePolicy",
                )
            for role in ("pr", "promote", "release"):
                name = f"{prefix}-github-{role}"
                refused(
                    lambda name=name: iam.update_assume_role_policy(RoleName=name, PolicyDocument=wide_trust),
                    "AccessDenied",
                    "iam:UpdateAssumeRolePolicy",
                )
                refused(
                    lambda name=name: iam.put_role_policy(
                        RoleName=name, PolicyName="more", PolicyDocument=anything
                    ),
                    "AccessDenied",
                    "iam:PutRolePolicy",
                )
            # Not a blanket refusal: the project's own policy attaches (and detaches) as before.
            iam.attach_role_policy(RoleName=lambda_role, PolicyArn=own)
            iam.detach_role_policy(RoleName=lambda_role, PolicyArn=own)
    finally:
        with env.acting_as(env.admin):
            boto3.client("iam").delete_policy(PolicyArn=own)
            after = boto3.client("iam").get_role(RoleName=f"{prefix}-github-pr")["Role"][
                "AssumeRolePolicyDocument"
            ]
    assert after == pr_trust_before


def test_an_armed_project_role_stays_within_its_environment(env):
    """Issue 25: a release role (staging's has no reviewers) may still write a project role's inline
    policy; armed with every action, that role is held by its environment's boundary: its own
    buckets yes, another environment's state key, functions or buckets no."""
    from textclf.localcloud import iam as local_iam

    out = env.outputs
    prefix, account_id = out["endpoint_name"], "123456789012"
    name = f"{prefix}-armed"
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    anything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    with env.acting_as(env.admin):
        admin_iam = boto3.client("iam")
        boundary = admin_iam.get_role(RoleName=f"{prefix}-redeploy-lambda")["Role"]["PermissionsBoundary"]
        admin_iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
            PermissionsBoundary=boundary["PermissionsBoundaryArn"],
        )
        admin_iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(anything))
    try:
        session = local_iam.service_session(name, "lambda.amazonaws.com", "armed")
        with env.acting_as(session):
            s3 = boto3.client("s3")
            s3.put_object(Bucket=out["artifacts_bucket"], Key="reports/armed-probe.txt", Body=b"own bucket")
            state_bucket = f"textclf-tfstate-{account_id}-{out['region']}"
            other = prefix.replace("-prod", "-staging")
            for call, action in (
                (
                    lambda: s3.put_object(Bucket=state_bucket, Key="staging/terraform.tfstate", Body=b"{}"),
                    "s3:PutObject",
                ),
                (lambda: s3.list_objects_v2(Bucket=f"{other}-data-{account_id}"), "s3:ListBucket"),
                (
                    lambda: boto3.client("lambda").get_function(FunctionName=f"{other}-redeploy"),
                    "lambda:GetFunction",
                ),
            ):
                refused(call, action, "because no permissions boundary allows")
    finally:
        with env.acting_as(env.admin):
            boto3.client("s3").delete_object(Bucket=out["artifacts_bucket"], Key="reports/armed-probe.txt")
            boto3.client("iam").delete_role_policy(RoleName=name, PolicyName="everything")
            boto3.client("iam").delete_role(RoleName=name)


# --- provenance: a model is a training job of exactly its commit, on its own data and checkpoints ----

DOCS_HEAD = "7777777777777777777777777777777777777777"  # a docs-only pull request's head: it trains nothing
MAIN = "6666666666666666666666666666666666666666"


def published_models(env: Account) -> dict[str, str]:
    """Every object under models/ with its ETag: what a release could deploy."""
    listed = boto3.client("s3").list_objects_v2(Bucket=env.outputs["artifacts_bucket"], Prefix="models/")
    return {item["Key"]: item["ETag"] for item in listed.get("Contents", [])}


def run_function(env: Account, request: dict, token: str) -> dict:
    """Invoke the training-run function as the PR role, as a pull request's run does."""
    with env.acting_as(env.github("pr", PR_JOB)):
        answer = boto3.client("lambda").invoke(
            FunctionName=env.outputs["stop_training_function_name"],
            Payload=json.dumps({**request, "token": token}).encode(),
        )
    return json.loads(answer["Payload"].read())


def run_token(env: Account, issuer: Issuer, sha: str, run_id: int, pr: int) -> str:
    """The OIDC token GitHub gives a pull request's pr.yml run whose merge commit is `sha`."""
    workflow = f"{GITHUB_REPOSITORY}/.github/workflows/pr.yml@refs/pull/{pr}/merge"
    function = env.outputs["stop_training_function_name"]
    return issuer.token(function, GITHUB_REPOSITORY, run_id=run_id, pr=pr, sha=sha, job_workflow_ref=workflow)


def start_request(env: Account, name: str, listing: str, **changes) -> dict:
    """What textclf.training.sagemaker.plan_job asks the function for."""
    import hashlib

    out = env.outputs
    digest = hashlib.md5(listing.encode()).hexdigest()
    channels = [
        {
            "ChannelName": channel,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{out['artifacts_bucket']}/datasets/{digest}/{channel}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "application/jsonlines",
            "InputMode": "File",
        }
        for channel in ("train", "validation")
    ]
    environment = {"TEXTCLF_DATASET_MD5": f"{digest}.dir", "TEXTCLF_DATASET_LISTING": listing}
    return {**job_request(env, name), "InputDataConfig": channels, "Environment": environment, **changes}


def test_a_pr_cannot_publish_under_a_docs_only_prs_head_and_the_release_refuses_it(
    env, github_oidc, endpoint_unchanged
):
    """An attacker's run tries to publish, and to train, under the head of a documentation-only pull
    request (which trains nothing): models/ is not the PR role's to write, and the training-run
    function takes the head from the run's own merge commit, so nothing appears under that commit
    and its release says there is nothing to release."""
    from tests.training.test_stop_job import merge_commit
    from textclf.release import desired

    before = published_models(env)
    attacker_head = "5" * 40
    body, sha = merge_commit(MAIN, attacker_head)
    token = run_token(env, github_oidc, sha, run_id=301, pr=9)
    with env.acting_as(env.github("pr", PR_JOB)):
        s3, bucket = boto3.client("s3"), env.outputs["artifacts_bucket"]
        for name in ("manifest.json", "model.tar.gz", "eval.json"):
            refused(
                lambda name=name: s3.put_object(
                    Bucket=bucket, Key=f"models/{DOCS_HEAD}/{name}", Body=b"{}", IfNoneMatch="*"
                ),
                "AccessDenied",
                "s3:PutObject",
            )
    docs_job = f"textclf-{DOCS_HEAD[:8]}-run301-1"
    files = {"eval.json": {"key": "candidates/x/eval.json", "sha256": "0" * 64}}
    answers = {
        # Its own run, naming a job of the docs-only head.
        "publish": run_function(
            env, {"action": "publish", "merge_commit": body, "job_name": docs_job, "files": files}, token
        ),
        "start": run_function(
            env, {"action": "start", "merge_commit": body, "job": job_request(env, docs_job)}, token
        ),
        # A merge commit whose second parent is the docs-only head, with its own run's token.
        "forged": run_function(
            env,
            {
                "action": "publish",
                "merge_commit": merge_commit(MAIN, DOCS_HEAD)[0],
                "job_name": docs_job,
                "files": files,
            },
            token,
        ),
    }
    assert f"is not a training job of commit {attacker_head}" in answers["publish"]["reason"]
    assert "the run's training job is named" in answers["start"]["reason"]
    assert f"is not the object of commit {sha}" in answers["forged"]["reason"]
    assert all(answer["status"] == "refused" for answer in answers.values())

    # The release of the docs-only PR's merge: nothing published, nothing to release, and it says so.
    with env.acting_as(env.github("promote", RELEASE_JOB)):
        with pytest.raises(promote.ReleaseError, match=f"no trained model for commit {DOCS_HEAD}"):
            promote.find_artifact(DOCS_HEAD, AwsParams().resolved())
        assert desired.published(DOCS_HEAD) is False
    assert published_models(env) == before


def test_a_pr_cannot_overwrite_the_dataset_main_trains_on(env, endpoint_unchanged, tmp_path):
    """datasets/<digest>/ is write-once: a run adds its own data, never other bytes under main's."""
    from textclf.training import sagemaker as backend

    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "train.jsonl").write_text('{"text": "where is my parcel", "label": "delivery"}\n')
    (prepared / "validation.jsonl").write_text('{"text": "refund please", "label": "returns"}\n')
    (prepared / "labels.json").write_text('["delivery", "returns"]')
    bucket = env.outputs["artifacts_bucket"]
    uri = f"s3://{bucket}/datasets/{backend.dataset_digest(prepared)}/"
    key = uri.removeprefix(f"s3://{bucket}/") + "train/train.jsonl"
    before = published_models(env)
    with env.acting_as(env.github("pr", PR_JOB)):
        s3 = boto3.client("s3")
        assert backend.upload_dataset(s3, prepared, uri, lambda _: None)  # main's first run uploads it
        poison = b'{"text": "where is my parcel", "label": "returns"}\n'
        refused(lambda: s3.put_object(Bucket=bucket, Key=key, Body=poison), "AccessDenied", "explicit deny")
        refused(
            lambda: s3.put_object(Bucket=bucket, Key=key, Body=poison, IfNoneMatch="*"), "PreconditionFailed"
        )
        refused(lambda: s3.delete_object(Bucket=bucket, Key=key), "AccessDenied")
        # A later run on the same data finds it complete and uploads nothing.
        assert backend.upload_dataset(s3, prepared, uri, lambda _: None) is False
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (prepared / "train.jsonl").read_bytes()
    assert published_models(env) == before


def test_a_job_cannot_resume_from_another_runs_checkpoint(env, github_oidc, endpoint_unchanged):
    """The PR role starts no job; the training-run function gives each job its own checkpoint
    prefix, named after the run's verified head and run, whatever the request asks."""
    from tests.training.test_stop_job import merge_commit
    from textclf.localcloud import training

    head = "4" * 40
    body, sha = merge_commit(MAIN, head)
    token = run_token(env, github_oidc, sha, run_id=302, pr=10)
    own = f"textclf-{head[:8]}-run302-1"
    bucket = env.outputs["artifacts_bucket"]
    victims = f"s3://{bucket}/checkpoints/textclf-{MAIN[:8]}-run100-1/"
    listing = json.dumps([{"md5": "1" * 32, "relpath": "train.jsonl"}], sort_keys=True)
    request = start_request(
        env, own, listing, CheckpointConfig={"S3Uri": victims, "LocalPath": "/opt/ml/checkpoints"}
    )
    before = published_models(env)
    with env.acting_as(env.github("pr", PR_JOB)):
        refused(
            lambda: boto3.client("sagemaker").create_training_job(**request),
            "AccessDenied",
            "sagemaker:CreateTrainingJob",
        )
    previous = training.configure(starting_seconds=300)  # the job waits for capacity meanwhile
    try:
        answer = run_function(env, {"action": "start", "merge_commit": body, "job": request}, token)
        assert answer == {"ok": True, "outcome": "started", "job_name": own}, answer
        job = boto3.client("sagemaker").describe_training_job(TrainingJobName=own)
        assert job["CheckpointConfig"]["S3Uri"] == f"s3://{bucket}/checkpoints/{own}/"
        assert job["Environment"]["TEXTCLF_GIT_COMMIT"] == head
        # One job per run attempt: a second start is refused.
        again = run_function(env, {"action": "start", "merge_commit": body, "job": request}, token)
        assert again["ok"] is False and "ResourceInUse" in again["reason"]
    finally:
        training.configure(**{field: getattr(previous, field) for field in previous.__dataclass_fields__})
        boto3.client("sagemaker").stop_training_job(TrainingJobName=own)
    assert published_models(env) == before
