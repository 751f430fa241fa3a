"""Credentials the way each workflow step gets them: GitHub's OIDC token, then
`sts:AssumeRoleWithWebIdentity` on the role Terraform made for that job.

The token carries the claims GitHub issues for the workflow run
(https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect),
with the repository's subject customised as `make github-settings` sets it
(`include_claim_keys: [repo, context, ref]`): `sub` is the claim values joined as
`repo:OWNER/REPO:<context>:ref:<ref>`, where the context is `pull_request` for a pull-request event,
`environment:NAME` for a job bound to an environment, else `ref:<ref>`. `aud` is what
aws-actions/configure-aws-credentials asks for (`sts.amazonaws.com`). The local cloud checks the
issuer against the account's OIDC providers and the claims against the role's trust policy, so a
token a pull request could get does not open a release role, and a job bound to `production` on a
branch other than main does not either.

The token is signed by the local cloud's stand-in for GitHub's issuer (textclf.localcloud.oidc), and
STS refuses a token whose signature does not verify, as AWS does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from textclf.localcloud import clock

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class GitHubJob:
    """What a workflow job's token says about it."""

    repository: str  # owner/name
    event: str  # pull_request, push, workflow_dispatch, schedule, repository_dispatch
    ref: str  # refs/heads/main, refs/pull/7/merge, ...
    environment: str | None = None  # the job's `environment:`, if any
    workflow: str | None = None  # the workflow file the job is in (release.yml), for job_workflow_ref

    @property
    def context(self) -> str:
        if self.environment:
            return f"environment:{self.environment}"
        if self.event == "pull_request":
            return "pull_request"
        return f"ref:{self.ref}"

    @property
    def subject(self) -> str:
        return f"repo:{self.repository}:{self.context}:ref:{self.ref}"

    def claims(self, lifetime_s: int = 300) -> dict[str, object]:
        now = int(clock.now())  # the local cloud's clock, which STS reads the expiry on
        owner = self.repository.split("/")[0]
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": self.subject,
            "repository": self.repository,
            "repository_owner": owner,
            "event_name": self.event,
            "ref": self.ref,
            "ref_type": "branch",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
        }
        if self.environment:
            claims["environment"] = self.environment
        if self.workflow:
            # `<owner>/<repo>/.github/workflows/<file>@<ref>` (GitHub's OIDC reference): which
            # workflow file the job comes from, a claim STS checks in trust policies.
            claims["job_workflow_ref"] = claims["workflow_ref"] = (
                f"{self.repository}/.github/workflows/{self.workflow}@{self.ref}"
            )
        return claims

    def token(self) -> str:
        """The job's token, as the job asks GitHub for it: from the local cloud's issuer, which signs
        the claims it is given (it stands in for GitHub, who signs only the truth about a job)."""
        import os
        import urllib.request

        from textclf.localcloud.oidc import TOKEN_PATH

        request = urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"].rstrip("/") + TOKEN_PATH,
            data=json.dumps(self.claims()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["value"])


def assume(
    role_arn: str, job: GitHubJob, duration_s: int = 3600, session: str = "github-actions"
) -> dict[str, str]:
    """The environment a step gets from configure-aws-credentials: the role's session credentials."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    # AssumeRoleWithWebIdentity is an unsigned call: the token is the credential.
    sts = boto3.client("sts", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_web_identity(
        RoleArn=role_arn,
        RoleSessionName=session,
        WebIdentityToken=job.token(),
        DurationSeconds=duration_s,
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def audience_trust(provider_arn: str) -> dict[str, object]:
    """The trust statement that lets the tokens of `provider_arn` for this audience assume a role
    (any repository: a test's role, not the project's; terraform/iam.tf conditions the subject)."""
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": AUDIENCE}},
    }


def pull_request(repository: str, number: int = 1, workflow: str = "pr.yml") -> GitHubJob:
    return GitHubJob(repository, "pull_request", f"refs/pull/{number}/merge", workflow=workflow)


def release(
    repository: str,
    environment: str | None = "production",
    branch: str = "main",
    workflow: str = "release.yml",
) -> GitHubJob:
    return GitHubJob(repository, "push", f"refs/heads/{branch}", environment, workflow)
