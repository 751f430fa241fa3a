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

boto3 and the standard library only, like the proxy Lambda of this package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

# The full commit, as the release takes it (textclf.release.promote.check_commit): a short sha could
# name another commit's model one day.
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def released_model(bucket: str, prefix: str, commit: str, s3=None) -> tuple[str, str]:
    """The commit's released archive URL and the sha256 its manifest published."""
    import boto3

    if not COMMIT.match(commit):
        raise SystemExit(f"COMMIT={commit!r}: give the released commit's full sha (40 hex digits)")
    s3 = s3 or boto3.client("s3")
    key = f"{prefix}{commit}/manifest.json"
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as error:
        raise SystemExit(f"s3://{bucket}/{key}: no released model for {commit} ({error})") from None
    if not isinstance(manifest, dict):  # a list or a string is no manifest (and has no .get)
        raise SystemExit(f"s3://{bucket}/{key}: not the manifest of {commit} (not a JSON object)")
    digest = str(manifest.get("sha256", ""))
    if manifest.get("commit") != commit or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise SystemExit(f"s3://{bucket}/{key}: not the manifest of {commit} (commit or sha256 missing)")
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
    import boto3

    ecs = ecs or boto3.client("ecs")
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not found:
        raise SystemExit(f"no ECS service {service} in cluster {cluster}: apply with enable_ecs = true first")
    described = ecs.describe_task_definition(taskDefinition=found[0]["taskDefinition"], include=["TAGS"])
    definition = {key: value for key, value in described["taskDefinition"].items() if key in REGISTER_KEYS}
    containers = [c for c in definition["containerDefinitions"] if c["name"] == CONTAINER]
    if len(containers) != 1:
        raise SystemExit(f"{found[0]['taskDefinition']} has no container named {CONTAINER!r}")
    environment = {item["name"]: item["value"] for item in containers[0].get("environment", [])}
    environment.update(model)
    containers[0]["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    if image:
        containers[0]["image"] = image
    if described.get("tags"):
        definition["tags"] = described["tags"]
    revision = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=revision)
    print(json.dumps({"service": service, "task_definition": revision, **model}), flush=True)
    return revision


def model_environment(bucket: str, prefix: str, commit: str, s3=None) -> dict[str, str]:
    """The commit's released model as the serving container's environment."""
    url, digest = released_model(bucket, prefix, commit, s3)
    return {"TEXTCLF_MODEL_URL": url, "TEXTCLF_MODEL_SHA256": digest}


def wait(cluster: str, service: str, timeout_s: float, poll_s: float, ecs=None) -> str:
    """The primary deployment's rollout state once it is no longer IN_PROGRESS."""
    import boto3

    ecs = ecs or boto3.client("ecs")
    deadline = time.monotonic() + timeout_s
    while True:
        found = ecs.describe_services(cluster=cluster, services=[service])["services"]
        if not found:
            raise SystemExit(f"no ECS service {service} in cluster {cluster}")
        primary = next(d for d in found[0]["deployments"] if d["status"] == "PRIMARY")
        state = primary.get("rolloutState", "COMPLETED")
        print(json.dumps({"task_definition": primary["taskDefinition"], "rollout": state}), flush=True)
        if state != "IN_PROGRESS":
            return state
        if time.monotonic() > deadline:
            raise SystemExit(f"{service}: still rolling out after {timeout_s:.0f} s")
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> int:
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
    follow.add_argument("--timeout", type=float, default=1800)
    follow.add_argument("--poll", type=float, default=15)
    args = parser.parse_args(argv)
    if args.command == "vars":
        if not args.bucket:
            raise SystemExit("set TEXTCLF_ARTIFACTS_BUCKET (make infra-output: artifacts_bucket) or --bucket")
        print(" ".join(model_vars(args.bucket, args.prefix, args.commit)))
        return 0
    if args.command == "roll":
        with open(args.outputs, encoding="utf-8") as handle:
            outputs = {name: value.get("value") for name, value in json.load(handle).items()}
        if not outputs.get("ecs_cluster_name") or not outputs.get("ecs_service_name"):
            raise SystemExit("no ECS service in the outputs: apply with enable_ecs = true first")
        model = model_environment(str(outputs["artifacts_bucket"]), args.prefix, args.commit)
        image = f"{outputs['serving_repository_url']}:{args.image_tag}" if args.image_tag else None
        roll(outputs["ecs_cluster_name"], outputs["ecs_service_name"], model, image)
        return 0
    if args.outputs:
        with open(args.outputs, encoding="utf-8") as handle:
            outputs = json.load(handle)
        args.cluster = args.cluster or (outputs.get("ecs_cluster_name") or {}).get("value")
        args.service = args.service or (outputs.get("ecs_service_name") or {}).get("value")
    if not args.cluster or not args.service:
        raise SystemExit(
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
