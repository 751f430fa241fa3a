"""boto3 sessions and clients made from the environment, with one message for a setting boto3
cannot use (a profile that is not there, an endpoint that is no URL, a retry setting out of range,
a credentials file it cannot parse, a CA bundle that is not there, a FIPS or dual-stack switch that
is neither true nor false): the variable at fault, named, instead of botocore's traceback or a
"Could not connect" that hides it.
Shared by the release steps and the champion lookup of the gate, report and summary."""

from __future__ import annotations

import os
import stat
from typing import Any


class AwsSettingError(RuntimeError):
    """The environment's AWS settings cannot make a session or client; the message names the one."""


def aws_client(service: str, region: str, **config: Any) -> Any:
    """A boto3 client; AWS_ENDPOINT_URL (the local cloud) is honoured by boto3 itself."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    problem = environment_problem(os.environ)
    if problem:
        raise AwsSettingError(f"cannot make an AWS {service} client: {problem}")
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


# Switches botocore reads as "true" or anything else (false): `maybe` would silently mean false. The
# AWS SDKs and Tools Reference Guide, "Dual-stack and FIPS endpoints"
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-endpoints.html): true or false.
BOOLEAN_SETTINGS = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")


def environment_problem(env: Any) -> str | None:
    """What in `env` botocore would take without a word and fail on later (or never): None if
    nothing. AWS_CA_BUNDLE must name a readable file (botocore opens it only at the first request,
    where its absence reads "Could not connect to the endpoint URL"); the boolean switches must be
    true or false."""
    bundle = env.get("AWS_CA_BUNDLE")
    if bundle:
        try:
            readable = stat.S_ISREG(os.stat(bundle).st_mode) and os.access(bundle, os.R_OK)
        except (OSError, ValueError):  # not there, a NUL byte, a name too long
            readable = False
        if not readable:
            return (
                f"AWS_CA_BUNDLE={bundle!r} is not a readable file: name the PEM file of the certificate "
                "authorities to trust (a TLS proxy's), or unset it"
            )
    for name in BOOLEAN_SETTINGS:
        value = env.get(name)
        if value and value.strip().lower() not in ("true", "false"):
            return f"{name}={value!r} must be true or false; correct or unset it"
    return None


# The environment's settings boto3 reads when it makes a session and a client (boto3 guide,
# "Configuration": https://boto3.amazonaws.com/v1/documentation/api/latest/guide/configuration.html).
AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CA_BUNDLE",
    *BOOLEAN_SETTINGS,
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
