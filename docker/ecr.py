"""ECR for `make images-push`: the registry, a login password, whether an image tag exists.

    python docker/ecr.py registry            <account>.dkr.ecr.<region>.amazonaws.com
    python docker/ecr.py password            the `docker login --username AWS` password
    python docker/ecr.py exists REPO TAG     exit 0: the tag exists; 1: it does not; 2: no such repository;
                                             3: ECR refused the question (the message says why)
    python docker/ecr.py output NAME         the value of Terraform output NAME (JSON of
                                             `terraform output -json` on stdin)

The region is params.yaml's aws.region (or TEXTCLF_AWS_REGION); credentials and endpoint come from
the environment as for every other AWS call (AWS_ENDPOINT_URL points them at the local cloud).
Tags are immutable in the project's repositories, so a tag that exists is never pushed again.
"""

from __future__ import annotations

import base64
import sys


def _session():
    import boto3

    from textclf.config import ParamsError, load_params

    try:  # the aws section explicitly: never a built-in default region
        params = load_params(needs=("aws",))
    except ParamsError as error:
        raise SystemExit(f"error: {error}") from None
    return boto3.Session(region_name=params.aws.resolved().region)


def registry() -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    session = _session()
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        raise SystemExit(
            f"error: cannot tell the AWS account for the ECR registry ({error}): configure AWS credentials "
            "(CI: the OIDC role; locally: aws configure, or `source .localcloud/env` for the local cloud)"
        ) from None
    return f"{account}.dkr.ecr.{session.region_name}.amazonaws.com"


def password() -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        token = (
            _session().client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
        )
    except (BotoCoreError, ClientError) as error:
        raise SystemExit(
            f"error: ECR gave no login token ({error}): check the AWS credentials and the role's "
            "ecr:GetAuthorizationToken"
        ) from None
    try:
        user, _, secret = base64.b64decode(token, validate=True).decode().partition(":")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        user, secret = "", ""
    if user != "AWS" or not secret:
        raise SystemExit("error: ECR returned an authorization token in an unexpected form")
    return secret


def exists(repository: str, tag: str) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    ecr = _session().client("ecr")
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    except ecr.exceptions.RepositoryNotFoundException:
        print(
            f"error: ECR repository {repository!r} does not exist: create it with Terraform "
            "(make infra-apply) or set TRAINING_REPOSITORY / SERVING_REPOSITORY to the existing ones",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    except (BotoCoreError, ClientError) as error:
        # Not "missing": an image would be built only to be refused (AccessDenied: the role may not
        # use this repository, for example another environment's).
        print(f"error: cannot look up {repository}:{tag} in ECR: {error}", file=sys.stderr)
        raise SystemExit(3) from None
    return True


def output(name: str) -> str:
    import json

    try:
        value = json.load(sys.stdin)[name]["value"]
    except (ValueError, KeyError, TypeError):
        raise SystemExit(f"error: Terraform output {name!r} is missing") from None
    if not isinstance(value, str) or not value:
        raise SystemExit(f"error: Terraform output {name!r} is empty")
    return value


def main(argv: list[str]) -> int:
    match argv:
        case ["registry"]:
            print(registry())
        case ["password"]:
            print(password())
        case ["exists", repository, tag]:
            return 0 if exists(repository, tag) else 1
        case ["output", name]:
            print(output(name))
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
