"""boto3 sessions and clients made from the environment, with one message for a setting boto3
cannot use (a profile that is not there, an endpoint that is no URL, a retry setting out of range,
a credentials file it cannot parse): the variable at fault, named, instead of botocore's traceback.
Shared by the release steps and the champion lookup of the gate, report and summary."""

from __future__ import annotations

import os
from typing import Any


class AwsSettingError(RuntimeError):
    """The environment's AWS settings cannot make a session or client; the message names the one."""


def aws_client(service: str, region: str, **config: Any) -> Any:
    """A boto3 client; AWS_ENDPOINT_URL (the local cloud) is honoured by boto3 itself."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session().client(service, region_name=region, config=Config(**config))
    except (BotoCoreError, ValueError) as error:
        raise AwsSettingError(
            f"cannot make an AWS {service} client: {setting_at_fault(error)} ({error}); correct or unset it"
        ) from None


def have_aws_credentials() -> bool:
    """Whether the environment gives boto3 credentials (AwsSettingError when its settings are unusable)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session().get_credentials() is not None
    except (BotoCoreError, ValueError) as error:
        raise AwsSettingError(
            f"cannot read the AWS credentials: {setting_at_fault(error)} ({error}); correct or unset it"
        ) from None


# The environment's settings boto3 reads when it makes a session and a client (boto3 guide,
# "Configuration": https://boto3.amazonaws.com/v1/documentation/api/latest/guide/configuration.html).
AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)


def setting_at_fault(error: Exception) -> str:
    """The environment variable (with its value) that made boto3 raise `error`."""
    from botocore import exceptions

    path = getattr(error, "kwargs", {}).get("path")
    text = str(error)
    if isinstance(error, exceptions.ProfileNotFound):
        names = ["AWS_PROFILE"]
    elif isinstance(error, exceptions.InvalidMaxRetryAttemptsError):
        names = ["AWS_MAX_ATTEMPTS"]
    elif isinstance(error, exceptions.InvalidRetryModeError):
        names = ["AWS_RETRY_MODE"]
    elif isinstance(error, exceptions.ConfigParseError):
        names = [n for n in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE") if os.environ.get(n) == path]
    elif "int()" in text:
        names = ["AWS_MAX_ATTEMPTS"]
    elif "endpoint" in text.lower() or "URL" in text:
        names = ["AWS_ENDPOINT_URL"]
    else:
        names = []
    shown = [f"{n}={os.environ[n]!r}" for n in names if n in os.environ]
    if shown:
        return ", ".join(shown)
    if path:
        return f"the AWS configuration file {path}"
    others = [f"{n}={os.environ[n]!r}" for n in AWS_SETTINGS if n in os.environ]
    return (
        "one of " + ", ".join(others)
        if others
        else "the AWS configuration (~/.aws/config, ~/.aws/credentials)"
    )
