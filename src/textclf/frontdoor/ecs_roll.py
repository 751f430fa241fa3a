"""Roll the ECS service (terraform/ecs.tf) to a released model: `make ecs-roll COMMIT=<sha>`.

Terraform creates the service and its first task definition, then leaves both alone
(`ignore_changes`): like the redeploy Lambda owns the endpoint's configuration, the release owns
which model and image the service runs, so an apply never moves it.

1. `roll`: the commit's manifest (s3://<artifacts>/models/<commit>/manifest.json, written last by
   publish) gives the archive's sha256; the service's task definition is copied with the model's
   URL, that sha256 and the release's serving image, registered as a new revision, and the service
   updated to it. ECS replaces the tasks; each new task downloads the archive and refuses to serve
   other bytes (textclf.serving.fetch), so it never passes the load balancer's /ping check.
2. `wait`: follow the service's deployment until ECS says COMPLETED (the new tasks are healthy) or
   FAILED (the deployment circuit breaker rolled back to the previous task definition): exit 1.
   `vars` prints the same model as Terraform arguments, for the first apply.

boto3 and the standard library only, like the proxy Lambda of this package. A file, setting or AWS
refusal it cannot work with is one line naming it and what to check, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from typing import Any

# `terraform output -json` of the main stack is a few kilobytes.
MAX_OUTPUTS_BYTES = 16 * 1024**2
# A Docker image tag (terraform/variables.tf's serving_image_tag rule, what `make image-tags` prints),
# and ECS's bound on a container's image: "up to 255 characters total are allowed" for
# repository-url/image:tag (ContainerDefinition, image, https://docs.aws.amazon.com/sdk-for-kotlin/api/
# latest/ecs/aws.sdk.kotlin.services.ecs.model/-container-definition/image.html).
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_IMAGE_CHARS = 255

# The full commit, as the release takes it (textclf.release.promote.check_commit): a short sha could
# name another commit's model one day.
COMMIT = re.compile(r"[0-9a-f]{40}")  # fullmatch: `$` would also take a trailing line break
# S3's general purpose bucket names (Amazon S3 User Guide, "Bucket naming rules": 3-63 lower-case
# letters, digits, dots and hyphens, a letter or digit at each end), and the key prefix the release
# publishes under: folder names ending in `/`, no `.` or `..` (S3 keeps them as written, so
# `../` named another key than the one released). This wing imports nothing of ours
# (tests/code/test_layout.py), hence its own two patterns.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX = re.compile(r"(?:(?!\.{1,2}/)[A-Za-z0-9._-]+/)*")


class RollError(SystemExit):
    """What the roll cannot work with (a file, a setting, an AWS refusal): main prints it, exit 2."""


# The environment's settings boto3 reads when it makes a client (boto3 guide, "Configuration":
# https://boto3.amazonaws.com/v1/documentation/api/latest/guide/configuration.html). The package's
# shared guard (textclf.awsclient) names the one at fault; this wing imports nothing of ours
# (tests/code/test_layout.py), so it names those that are set.
AWS_SETTINGS = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CONFIG_FILE")


def client(service: str) -> Any:
    """A boto3 client; an AWS setting of the environment boto3 cannot use is one line naming the
    settings that are set, not botocore's traceback."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session().client(service)  # not the default session: read the environment now
    except (BotoCoreError, ValueError) as error:
        shown = ", ".join(f"{name}={os.environ[name]!r}" for name in AWS_SETTINGS if name in os.environ)
        raise RollError(
            f"cannot make an AWS {service} client ({error}): the environment's AWS settings are "
            f"{shown or 'unset (see ~/.aws/config)'}; correct or unset the one at fault"
        ) from None


@contextlib.contextmanager
def aws_errors(call: str, check: str) -> Iterator[None]:
    """An AWS refusal or an unreachable endpoint as one line naming the call and what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise RollError(f"{call}: {error}; check {check}") from None


CREDENTIALS = (
    "the AWS credentials, region and endpoint (the release role; AWS_ENDPOINT_URL for the local cloud)"
)


def released_model(bucket: str, prefix: str, commit: str, s3=None) -> tuple[str, str]:
    """The commit's released archive URL and the sha256 its manifest published."""
    if not COMMIT.fullmatch(commit):
        raise RollError(f"COMMIT={commit!r}: give the released commit's full sha (40 hex digits)")
    if not BUCKET.fullmatch(bucket) or ".." in bucket:
        raise RollError(
            f"bucket {bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots and "
            "hyphens): give the artifacts bucket (make infra-output: artifacts_bucket)"
        )
    if not PREFIX.fullmatch(prefix):
        raise RollError(
            f"--prefix {prefix!r}: give folder names each ending in '/' (models/ as the release publishes), "
            "without '.' or '..'"
        )
    s3 = s3 or client("s3")
    key = f"{prefix}{commit}/manifest.json"
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as error:
        raise RollError(f"s3://{bucket}/{key}: no released model for {commit} ({error})") from None
    if not isinstance(manifest, dict):  # a list or a string is no manifest (and has no .get)
        raise RollError(f"s3://{bucket}/{key}: not the manifest of {commit} (not a JSON object)")
    digest = str(manifest.get("sha256", ""))
    if manifest.get("commit") != commit or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise RollError(f"s3://{bucket}/{key}: not the manifest of {commit} (commit or sha256 missing)")
    url = f"s3://{bucket}/{prefix}{commit}/model.tar.gz"
    return url, digest


def model_vars(bucket: str, prefix: str, commit: str, s3=None) -> list[str]:
    """The released model as Terraform arguments (the service's first task definition)."""
    url, digest = released_model(bucket, prefix, commit, s3)
    return ["-var", f"ecs_model_data_url={url}", "-var", f"ecs_model_sha256={digest}"]


# What RegisterTaskDefinition takes back from DescribeTaskDefinition (the rest is read-only).
REGISTER_KEYS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "ephemeralStorage",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
)
CONTAINER = "serve"  # the serving container's name in terraform/ecs.tf


def roll(cluster: str, service: str, model: dict[str, str], image: str | None, ecs=None) -> str:
    """Register the service's task definition again with `model` (TEXTCLF_MODEL_URL and
    TEXTCLF_MODEL_SHA256) and `image`, and point the service at it; returns the new revision."""
    ecs = ecs or client("ecs")
    found = describe_service(ecs, cluster, service)
    if not found:
        raise RollError(f"no ECS service {service} in cluster {cluster}: apply with enable_ecs = true first")
    with aws_errors(f"DescribeTaskDefinition {found[0]['taskDefinition']}", CREDENTIALS):
        described = ecs.describe_task_definition(taskDefinition=found[0]["taskDefinition"], include=["TAGS"])
    definition = {key: value for key, value in described["taskDefinition"].items() if key in REGISTER_KEYS}
    containers = [c for c in definition["containerDefinitions"] if c["name"] == CONTAINER]
    if len(containers) != 1:
        raise RollError(f"{found[0]['taskDefinition']} has no container named {CONTAINER!r}")
    environment = {item["name"]: item["value"] for item in containers[0].get("environment", [])}
    environment.update(model)
    containers[0]["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    if image:
        containers[0]["image"] = image
    if described.get("tags"):
        definition["tags"] = described["tags"]
    with aws_errors(f"RegisterTaskDefinition {definition.get('family')}", CREDENTIALS):
        revision = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    with aws_errors(
        f"UpdateService {service} to {revision}",
        f"{CREDENTIALS}; the new revision is registered, the service still runs the previous one",
    ):
        ecs.update_service(cluster=cluster, service=service, taskDefinition=revision)
    print(json.dumps({"service": service, "task_definition": revision, **model}), flush=True)
    return revision


def model_environment(bucket: str, prefix: str, commit: str, s3=None) -> dict[str, str]:
    """The commit's released model as the serving container's environment."""
    url, digest = released_model(bucket, prefix, commit, s3)
    return {"TEXTCLF_MODEL_URL": url, "TEXTCLF_MODEL_SHA256": digest}


def describe_service(ecs, cluster: str, service: str) -> list[dict[str, Any]]:
    with aws_errors(f"DescribeServices {service} in cluster {cluster}", CREDENTIALS):
        return ecs.describe_services(cluster=cluster, services=[service])["services"]


def wait(cluster: str, service: str, timeout_s: float, poll_s: float, ecs=None) -> str:
    """The primary deployment's rollout state once it is no longer IN_PROGRESS."""
    ecs = ecs or client("ecs")
    deadline = time.monotonic() + timeout_s
    while True:
        found = describe_service(ecs, cluster, service)
        if not found:
            raise RollError(f"no ECS service {service} in cluster {cluster}")
        primary = next((d for d in found[0].get("deployments", []) if d.get("status") == "PRIMARY"), None)
        if primary is None:
            raise RollError(
                f"{service}: ECS lists no PRIMARY deployment; look at the service in the ECS console"
            )
        state = primary.get("rolloutState", "COMPLETED")
        print(json.dumps({"task_definition": primary["taskDefinition"], "rollout": state}), flush=True)
        if state != "IN_PROGRESS":
            return state
        if time.monotonic() > deadline:
            raise RollError(f"{service}: still rolling out after {timeout_s:.0f} s")
        time.sleep(poll_s)


# terraform output -json: {"name": {"value": ..., "type": ..., "sensitive": ...}, ...}
def _regular_file(path: str) -> bytes:
    """At most MAX_OUTPUTS_BYTES of a regular file (the frontdoor wing imports none of the project's
    ground, so not textclf.atomic.read_regular): a pipe is never waited for, a device never read."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without a writer
    with os.fdopen(descriptor, "rb") as opened:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            kind = "a folder" if os.path.isdir(path) else "a device, pipe or socket, not a regular file"
            raise OSError(errno.EINVAL, kind, path)
        content = opened.read(MAX_OUTPUTS_BYTES + 1)
    if len(content) > MAX_OUTPUTS_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_OUTPUTS_BYTES:,} bytes", path)
    return content


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are given once (this wing imports nothing of ours: not textclf.atomic's)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def read_outputs(path: str, required: tuple[str, ...]) -> dict[str, str | None]:
    """The outputs this roll reads from `path`, each a string or None (null: not applied); RollError
    naming the file, and the key, for anything else."""
    what = "write it with `terraform output -json` of the main stack (make ecs-roll does)"
    try:  # a regular file only: a named pipe blocked the open until a writer came, /dev/zero never ends
        outputs = json.loads(_regular_file(path).decode("utf-8"), object_pairs_hook=_unique_keys)
    except OSError as error:
        raise RollError(f"--outputs {path}: cannot be read ({error.strerror or error}); {what}") from None
    except _DuplicateKey as duplicate:  # which of the two would be the output?
        raise RollError(f"--outputs {path}: key {duplicate.key[:80]!r} is given twice; {what}") from None
    except RecursionError:  # was a stack (R14B-19)
        raise RollError(f"--outputs {path}: not JSON (nested too deeply); {what}") from None
    except ValueError as error:
        raise RollError(f"--outputs {path}: not JSON ({error}); {what}") from None
    if not isinstance(outputs, dict):
        raise RollError(f"--outputs {path}: not a JSON object of outputs; {what}")
    found: dict[str, str | None] = {}
    for name in ("ecs_cluster_name", "ecs_service_name", *required):
        entry = outputs.get(name)
        if entry is None and name not in required:
            found[name] = None
            continue
        if not isinstance(entry, dict) or "value" not in entry:
            missing = "has no output" if entry is None else 'has no {"value": ...} for'
            raise RollError(f"--outputs {path}: {missing} {name!r}; {what}")
        value = entry["value"]
        if (value is None and name in required) or (
            value is not None and (not isinstance(value, str) or not value.strip())
        ):
            raise RollError(f"--outputs {path}: {name!r} is {value!r}, not a name; {what}")
        found[name] = value
    return found


# How often and how long `wait` asks ECS (DescribeServices): at least a second between calls (0 polled
# without sleeping) and at most 5 minutes; a finite timeout of at most a day (inf never gave up).
POLL_RANGE = (1.0, 300.0)
TIMEOUT_RANGE = (1.0, 86400.0)


def seconds(low: float, high: float):
    def parse(text: str) -> float:
        try:  # ASCII digits: float() also reads `1_5` and other scripts' digits
            value = float(text) if text.isascii() and "_" not in text else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from {low:g} to {high:g}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except RollError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2


def run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m textclf.frontdoor.ecs_roll")
    commands = parser.add_subparsers(dest="command", required=True)
    model = commands.add_parser("vars", help="print the -var arguments of a released commit's model")
    model.add_argument("--commit", required=True)
    model.add_argument("--bucket", default=os.environ.get("TEXTCLF_ARTIFACTS_BUCKET"))
    model.add_argument("--prefix", default="models/")
    rolling = commands.add_parser("roll", help="a new task definition with the commit's model and image")
    rolling.add_argument("--commit", required=True)
    rolling.add_argument("--outputs", required=True, help="`terraform output -json`")
    rolling.add_argument("--image-tag", default="", help="the release's serving image tag")
    rolling.add_argument("--prefix", default="models/")
    follow = commands.add_parser("wait", help="follow the service's deployment to its end")
    follow.add_argument("--outputs", help="`terraform output -json` (ecs_cluster_name, ecs_service_name)")
    follow.add_argument("--cluster")
    follow.add_argument("--service")
    follow.add_argument(
        "--timeout", type=seconds(*TIMEOUT_RANGE), default=1800, help="seconds, at most a day"
    )
    follow.add_argument(
        "--poll", type=seconds(*POLL_RANGE), default=15, help="seconds between calls, 1 to 300"
    )
    args = parser.parse_args(argv)
    if args.command == "vars":
        if not args.bucket:
            raise RollError("set TEXTCLF_ARTIFACTS_BUCKET (make infra-output: artifacts_bucket) or --bucket")
        print(" ".join(model_vars(args.bucket, args.prefix, args.commit)))
        return 0
    if args.command == "roll":
        if args.image_tag and not IMAGE_TAG.fullmatch(args.image_tag):
            raise RollError(
                f"--image-tag (SERVING_IMAGE_TAG) {args.image_tag[:80]!r} is not an image tag: letters, "
                "digits, _ . - (not first), at most 128 characters, as `make image-tags` prints it"
            )
        required = ("artifacts_bucket", "serving_repository_url") if args.image_tag else ("artifacts_bucket",)
        outputs = read_outputs(args.outputs, required)
        if not outputs.get("ecs_cluster_name") or not outputs.get("ecs_service_name"):
            raise RollError("no ECS service in the outputs: apply with enable_ecs = true first")
        model = model_environment(str(outputs["artifacts_bucket"]), args.prefix, args.commit)
        image = f"{outputs['serving_repository_url']}:{args.image_tag}" if args.image_tag else None
        if image is not None and len(image) > MAX_IMAGE_CHARS:
            raise RollError(
                f"the serving image {image[:80]!r}... is {len(image)} characters: ECS takes at most "
                f"{MAX_IMAGE_CHARS} (serving_repository_url in --outputs {args.outputs}, and the tag)"
            )
        roll(str(outputs["ecs_cluster_name"]), str(outputs["ecs_service_name"]), model, image)
        return 0
    if args.outputs:
        outputs = read_outputs(args.outputs, ())
        args.cluster = args.cluster or outputs["ecs_cluster_name"]
        args.service = args.service or outputs["ecs_service_name"]
    if not args.cluster or not args.service:
        raise RollError(
            "no ECS service: apply with enable_ecs = true first (or give --cluster and --service)"
        )
    state = wait(args.cluster, args.service, args.timeout, args.poll)
    if state != "COMPLETED":
        print(
            f"{args.service}: rollout {state}: ECS rolled back to the previous task definition",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
