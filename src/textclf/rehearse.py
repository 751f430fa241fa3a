"""Offline rehearsals of the workflows: the same make targets, in the same order, on the local cloud.

`textclf rehearse pr` (`make rehearse-pr`):
 1. A temporary copy of the repository (tracked and new files), committed as branch `main`, with the
    bundled sample data (`make data`). The project's .venv is linked in, nothing else is shared.
 2. The local cloud (moto on 127.0.0.1 with the project's extensions) in this process.
 3. Terraform, as on a new account: `make bootstrap lambda-zip infra-apply`; its outputs become the
    "repository variables" (the same names docs/workflows.md asks to set on GitHub). Bootstrap and
    apply run as the account's administrator; every workflow step after them runs as the role its
    job assumes on GitHub (an OIDC token with the job's claims, AssumeRoleWithWebIdentity on the
    Terraform-made role), and the local cloud enforces IAM for every call.
 4. main's data pushed to the DVC remote in the data bucket; manifests of main's images in ECR under
    the tags `make image-tags` names, standing in for `make images-push` (no Docker engine here; the
    local cloud runs training jobs from this Python environment).
 5. The PR: branch `rehearsal` changes params.yaml to a quick training (QUICK_TRAIN: 1 epoch,
    max_length 64, so the rehearsal fits CI's time budget). The runner starts fresh: no data, no
    DVC cache.
 6. The pr workflow's steps: `make dvc-remote fetch-main`, `make training-image-uri IMAGE_REF=main`,
    `make pull-data repro-ci report gate publish`, with TEXTCLF_TRAIN_BACKEND=sagemaker:
    training is a SageMaker Spot job on the local cloud. The report (reports/report.md) is printed:
    CML would post it on the PR.

`textclf rehearse release` (`make rehearse-release`) runs the PR first, then:
 7. Production before this release: the trained model is also published under main's commit and
    released with `make promote`, as a project's first release does (the redeploy Lambda creates
    the endpoint). So the release below switches an existing endpoint, as most releases do.
 8. The merge (`git merge --no-ff`), then the release workflow's two jobs. `make release-commit`
    (offline the PR head is passed directly instead of asking GitHub). Staging (DEPLOY_ENV=staging,
    environment `staging`'s roles): `make release-check`, `make lambda-zip infra-apply`, the
    merge's images in staging's ECR (the stand-in for `make images-push`), `make promote` (the
    model published in production's bucket, deployed by staging's own Lambda to staging's
    endpoint), `make staging-check` (the published test split replayed, latency, a burst).
    Production's reviewers approve (simulated: GitHub would hold the job until they do). Production:
    the same steps on production's stack, `make production-commit` (the bake's rollback target),
    `make promote`, then `make bake` while a client sends traffic: the window passes without an
    alarm. The deployment result is printed.
 9. The bake's rollback: a rollback by hand of production alone (workflow_dispatch, environments
    `production`) to main's model, whose container then answers half the requests with a 500
    (injected in the local cloud); the client's traffic raises Invocation5XXErrors, the endpoint's
    alarm fires, `make bake` puts the previous model back and fails. The client is answered
    throughout: by the new model (or an injected 500) until the switch back, by the previous
    model after it, and never by an unavailable endpoint.

The local cloud is torn down and the copy removed at the end (`--keep` keeps the copy). Any step
that fails stops the rehearsal with its make target named, and a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

# The quick training of the rehearsal's PR (the real params.yaml is never edited): one epoch on
# shorter texts, and no evaluation or checkpoint before the end (the train stage evaluates the final
# model anyway; checkpoints and Spot resumption have their own rehearsal, `make sagemaker-local`).
QUICK_TRAIN = {"train": {"epochs": 1, "eval_steps": 1000, "save_steps": 1000}, "model": {"max_length": 64}}
# A short bake window, polled often: the rehearsal's bake only has to see the alarm or its absence.
QUICK_BAKE = {"bake_seconds": 20, "bake_poll_seconds": 2}
# The rollback scenario's model answers this share of requests with a 500.
FAULT_SHARE = 0.5
GITHUB_REPOSITORY = "acme/text-classifier"
BRANCH = "rehearsal"
# The champion comparison of the rehearsal starts from thresholds alone: main's committed metrics
# (from a full training) are left out of the copy, since the quick PR model is not meant to beat them.
LEFT_OUT = {"metrics/eval.json", "metrics/gate.json"}
# No `push-outputs`: the PR role may not write the DVC remote (terraform/iam.tf); the PR's model
# is released from models/<commit>/, where `publish` puts it write-once.
PR_STEPS = ["pull-data", "repro-ci", "report", "gate", "publish"]


class RehearsalError(RuntimeError):
    """A step of the rehearsal failed; the message names it."""


def say(message: str) -> None:
    print(f"\n[rehearse] {message}", file=sys.stderr, flush=True)


class Rehearsal:
    """One temporary repository copy and the environment its make targets run with."""

    def __init__(self, source: Path, root: Path, cloud_env: dict[str, str]) -> None:
        self.source = source
        self.root = root
        self.env = {**os.environ, **cloud_env}
        for key in [k for k in self.env if k.startswith("GITHUB_")]:
            del self.env[key]  # a rehearsal inside a CI job must not pick up that job's repository
        self.env.update(
            {
                "TF_VAR_github_repository": GITHUB_REPOSITORY,
                # The local cloud's endpoints switch in a second: the Lambda need not wait 15 s.
                "TF_VAR_redeploy_poll_seconds": "1",
                "TF_IN_AUTOMATION": "1",
                "TEXTCLF_TRAIN_BACKEND": "sagemaker",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.timings: list[tuple[str, float]] = []
        # Credentials per GitHub job (set once Terraform has made the roles); None: the administrator.
        self.roles: dict[str, dict[str, str]] = {}
        self.acting_as: str | None = None
        self.time_spent: dict[str, Any] = {}
        # The GitHub environment's variables of the job running now (staging or production).
        self.deploy_vars: dict[str, str] = {}
        self.variables: dict[str, dict[str, str]] = {}

    # --- running things ---------------------------------------------------------------------------

    def run(self, *command: str, capture: bool = False, extra: dict[str, str] | None = None) -> str:
        env = {
            **self.env,
            **self.deploy_vars,
            **(self.roles[self.acting_as] if self.acting_as else {}),
            **(extra or {}),
        }
        started = time.perf_counter()
        result = subprocess.run(
            list(command),
            cwd=self.root,
            env=env,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=None,
        )
        self.timings.append((" ".join(command), round(time.perf_counter() - started, 1)))
        if result.returncode != 0:
            raise RehearsalError(
                f"`{' '.join(command)}` failed (exit {result.returncode}); see its output above"
            )
        return result.stdout.strip() if capture else ""

    def make(self, *targets: str, capture: bool = False, **variables: str) -> str:
        say(f"make {' '.join(targets)}")
        settings = [f"{key}={value}" for key, value in variables.items()]
        return self.run(
            "make",
            "--no-print-directory",
            # The copy shares this environment (.venv links to it): never let make reinstall the
            # project from the copy, which would point the shared editable install at a temp folder.
            "--old-file=.venv/.installed",
            *(["-s"] if capture else []),
            *targets,
            *settings,
            capture=capture,
        )

    @contextmanager
    def job(self, role: str | None) -> Iterator[None]:
        """Run the steps inside as `role`'s session (the GitHub job's credentials)."""
        previous, self.acting_as = self.acting_as, role
        say(f"as {role or 'the administrator'}")
        try:
            yield
        finally:
            self.acting_as = previous

    @contextmanager
    def environment(self, name: str) -> Iterator[None]:
        """Run the steps inside as a job bound to GitHub environment `name` (its variables)."""
        previous, self.deploy_vars = self.deploy_vars, self.variables[name]
        say(f"job in environment {name}")
        try:
            yield
        finally:
            self.deploy_vars = previous

    def git(self, *args: str) -> str:
        return self.run(
            "git", "-c", "user.name=rehearsal", "-c", "user.email=rehearsal@example.com", *args, capture=True
        )

    # --- set-up -------------------------------------------------------------------------------

    def copy_repository(self) -> None:
        """Tracked and new (not ignored) files, as a fresh clone of the branch would have them."""
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=self.source,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\0")
        for name in filter(None, listed):
            path = self.source / name
            if name in LEFT_OUT or not path.is_file():
                continue
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, self.root / name)  # keeps mtimes: make sees .venv as up to date
        (self.root / ".venv").symlink_to(Path(sys.prefix))
        self.git("init", "-q", "-b", "main")
        self.make("data")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "main as it is now")

    def apply_infrastructure(self, environment: str = "production") -> dict[str, Any]:
        if environment == "production":  # the state bucket: once per account
            self.make("bootstrap")
        self.make("lambda-zip", "infra-apply", DEPLOY_ENV=environment)
        outputs = json.loads(self.make("infra-output", capture=True, DEPLOY_ENV=environment))
        return {name: value["value"] for name, value in outputs.items()}

    def set_variables(self, outputs: dict[str, Any], environment: str = "production") -> None:
        """What docs/workflows.md sets as the GitHub environment's variables, from Terraform's
        outputs; production's are also the repository's (the pr workflow's)."""
        variables = {
            "DEPLOY_ENV": environment,
            "TEXTCLF_AWS_REGION": outputs["region"],
            "TEXTCLF_ARTIFACTS_BUCKET": outputs["artifacts_bucket"],
            "TEXTCLF_MODELS_BUCKET": outputs["models_bucket"],
            "TEXTCLF_DATA_BUCKET": outputs["data_bucket"],
            "TEXTCLF_SAGEMAKER_ROLE_ARN": outputs["sagemaker_role_arn"],
            "TEXTCLF_KMS_KEY_ID": outputs["kms_key_arn"],
            "TEXTCLF_REDEPLOY_FUNCTION": outputs["redeploy_function_name"],
            "TEXTCLF_ENDPOINT_NAME": outputs["endpoint_name"],
        }
        self.variables[environment] = variables
        from textclf.localcloud import principals

        # What configure-aws-credentials gets for each job: the pr workflow on a pull request; a
        # release job (bound to its environment, on main) for its images and its promote step.
        release_job = principals.release(GITHUB_REPOSITORY, environment=environment)
        prefix = "" if environment == "production" else f"{environment}-"
        self.roles[f"{prefix}release"] = principals.assume(outputs["release_role_arn"], release_job)
        self.roles[f"{prefix}promote"] = principals.assume(outputs["promote_role_arn"], release_job)
        if environment != "production":
            return
        self.env.update(variables)
        # The inference server behind InvokeEndpoint reads the copy's params, as the image would.
        os.environ["TEXTCLF_PARAMS"] = str(self.root / "params.yaml")
        self.roles["pr"] = principals.assume(
            outputs["pr_role_arn"], principals.pull_request(GITHUB_REPOSITORY)
        )

    def image_tags(self, ref: str) -> dict[str, str]:
        lines = self.make("image-tags", capture=True, IMAGE_REF=ref).splitlines()
        return dict(line.split("=", 1) for line in lines)

    def push_images(self, outputs: dict[str, Any], ref: str) -> dict[str, str]:
        """What `make images-push` leaves in ECR for `ref` (no Docker engine here): an image
        manifest under each tag `make image-tags` names. Returns the two image URIs."""
        import boto3

        from textclf.localcloud import put_image_manifest

        tags = self.image_tags(ref)
        session = self.roles.get(self.acting_as or "", {})
        ecr = boto3.client(
            "ecr",
            region_name=outputs["region"],
            aws_access_key_id=session.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=session.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=session.get("AWS_SESSION_TOKEN"),
        )
        uris = {}
        for kind, tag in (("training", tags["TRAINING_IMAGE_TAG"]), ("serving", tags["SERVING_IMAGE_TAG"])):
            repository_url = outputs[f"{kind}_repository_url"]
            repository = repository_url.split("/", 1)[1]
            known = ecr.list_images(repositoryName=repository)["imageIds"]
            if not any(image.get("imageTag") == tag for image in known):
                put_image_manifest(ecr, repository, tag)
            uris[kind] = f"{repository_url}:{tag}"
        say(f"images of {ref} in ECR: {uris['training']}, {uris['serving']}")
        return uris

    def push_main_data(self) -> None:
        self.make("dvc-remote")
        self.run(".venv/bin/dvc", "push", "data.dvc")

    def open_pr(self) -> str:
        """Branch `rehearsal`: params for a quick training, committed; returns the head commit."""
        params_file = self.root / "params.yaml"
        params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
        for section, values in QUICK_TRAIN.items():
            params[section].update(values)
        params["deploy"]["staging"].update(QUICK_BAKE)
        self.git("switch", "-q", "-c", BRANCH)
        params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        self.git("commit", "-q", "-m", "params: quick training for the rehearsal", "--", "params.yaml")
        return self.git("rev-parse", "HEAD")

    def fresh_runner(self) -> None:
        """A CI runner starts with the checkout only: no data, no DVC cache, no outputs."""
        for name in ("data/raw", "data/prepared", "models", ".dvc/cache", "reports"):
            shutil.rmtree(self.root / name, ignore_errors=True)

    # --- the workflows ------------------------------------------------------------------------

    def pr_workflow(self, commit: str) -> None:
        say(f"pr workflow for {commit[:12]} (branch {BRANCH})")
        # What the workflow's first job records for the report's loop time (make loop-start).
        loop_started = time.perf_counter()
        self.env["TEXTCLF_LOOP_STARTED_AT"] = self.make("loop-start", capture=True)
        self.make("dvc-remote", "fetch-main", COMMIT=commit)
        image = self.make("training-image-uri", capture=True, IMAGE_REF="main")
        self.env["TEXTCLF_TRAINING_IMAGE_URI"] = image  # the workflow writes it to $GITHUB_ENV
        say(f"training image: {image}")
        for target in PR_STEPS:
            self.make(target, COMMIT=commit)
            if target == "report":
                report_seconds = time.perf_counter() - loop_started
        report = (self.root / "reports" / "report.md").read_text(encoding="utf-8")
        say("reports/report.md (CML posts this on the PR):")
        print(report, flush=True)
        self.time_spent = time_spent(self.root, report_seconds)

    def first_release(self) -> None:
        """Production before this release: the model published under main's commit and released."""
        main = self.git("rev-parse", "main")
        say(f"production before the release: a first release of main ({main[:12]})")
        with self.job("pr"):
            self.make("publish", COMMIT=main)
        with self.job("promote"):
            self.make("release-check", "promote", COMMIT=main)

    def release_workflow(self, head: str, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self.git("switch", "-q", "main")
        self.git("merge", "-q", "--no-ff", BRANCH, "-m", f"Merge branch '{BRANCH}'")
        say(f"release workflow for the merge {self.git('rev-parse', 'HEAD')[:12]}")
        commit = self.run(
            "make",
            "-s",
            "--no-print-directory",
            "--old-file=.venv/.installed",
            "release-commit",
            capture=True,
            extra={"REQUESTED_COMMIT": head},
        )
        if commit != head:
            raise RehearsalError(f"release-commit chose {commit}, expected the PR head {head}")
        staged = self.staging_job(commit, outputs["staging"])
        say("production: the environment's reviewers approve (simulated; GitHub holds the job until then)")
        deployment = self.production_job(commit, outputs["production"], bake="pass")
        deployment["staging"] = staged
        say("deployment result:")
        print(json.dumps(deployment, indent=2), flush=True)
        return deployment

    def staging_job(self, commit: str, outputs: dict[str, Any]) -> dict[str, Any]:
        with self.environment("staging"):
            with self.job("staging-promote"):
                self.make("release-check", COMMIT=commit)
            # Terraform and the images as staging's release role: the apply role's limits hold.
            with self.job("staging-release"):
                self.make("lambda-zip", "infra-apply")
                images = self.push_images(outputs, "HEAD")
            with self.job("staging-promote"):
                deployment = json.loads(self.make("promote", capture=True, COMMIT=commit))
                checks = self.make("staging-check", capture=True, COMMIT=commit)
        print(checks, flush=True)
        if serving_image(outputs["endpoint_name"]) != images["serving"]:
            raise RehearsalError(
                f"staging's model does not run the merge's serving image {images['serving']}"
            )
        if deployment["model_data_url"] != f"s3://{outputs['models_bucket']}/models/{commit}/model.tar.gz":
            raise RehearsalError(
                f"staging deployed {deployment['model_data_url']}, not production's published model"
            )
        return {"endpoint": deployment["endpoint"], "sha256": deployment["sha256"], "checks": checks}

    def production_job(self, commit: str, outputs: dict[str, Any], bake: str) -> dict[str, Any]:
        """The production job (after approval): check, apply, images, promote, bake with traffic.
        `bake`: "pass" (the window must pass) or "rollback" (an alarm must roll back and fail)."""
        with self.environment("production"):
            with self.job("promote"):
                self.make("release-check", COMMIT=commit)
            if bake == "pass":  # a rollback by hand re-runs the same Terraform: skipped here
                with self.job("release"):
                    self.make("lambda-zip", "infra-apply")
                    images = self.push_images(outputs, "HEAD")
            with self.job("promote"):
                previous = self.make("production-commit", capture=True)
                deployment = json.loads(self.make("promote", capture=True, COMMIT=commit))
                deployment["bake"] = self.bake(outputs, deployment, previous, bake)
        if bake == "pass":
            deployment["serving_image"] = serving_image(outputs["endpoint_name"])
            if deployment["serving_image"] != images["serving"]:
                raise RehearsalError(
                    f"the endpoint's model runs {deployment['serving_image']}, "
                    f"not the merge's {images['serving']}"
                )
        return deployment

    def bake(self, outputs: dict[str, Any], deployment: dict[str, Any], previous: str, expect: str) -> dict:
        """`make bake` while a client sends traffic to the endpoint; with "rollback", the new model's
        container answers FAULT_SHARE of the requests with a 500 (injected in the local cloud)."""
        from textclf.localcloud import runtime

        endpoint = outputs["endpoint_name"]
        alarms = f"{endpoint}-endpoint-5xx,{endpoint}-endpoint-latency"
        if expect == "rollback":
            runtime.inject_faults(deployment["model_data_url"], FAULT_SHARE)
            say(f"injected: {FAULT_SHARE:.0%} of {deployment['commit'][:12]}'s answers are 500s")
        with Traffic(endpoint) as traffic:
            try:
                self.make("bake", TEXTCLF_BAKE_ALARMS=alarms, PREVIOUS_COMMIT=previous)
                outcome = "passed"
            except RehearsalError:
                outcome = "rolled back"
            finally:
                runtime.clear_faults()
            traffic.until_served_by(previous if expect == "rollback" else deployment["commit"])
        summary = traffic.summary()
        say(f"bake {outcome}; the client's requests meanwhile: {json.dumps(summary)}")
        wanted = "passed" if expect == "pass" else "rolled back"
        if outcome != wanted:
            raise RehearsalError(f"the bake {outcome}, expected it to have {wanted}")
        if summary["unavailable"]:
            raise RehearsalError(f"the endpoint did not answer {summary['unavailable']} requests: {summary}")
        if expect == "rollback" and not (summary["injected_500"] and summary["answered_by"].get(previous)):
            raise RehearsalError(f"no injected errors, or the previous model never answered: {summary}")
        return {"outcome": outcome, "previous": previous, "traffic": summary}

    def rollback_scenario(self, bad: str, good: str, outputs: dict[str, Any]) -> dict[str, Any]:
        """A rollback by hand of production alone to `bad`, which breaks under traffic: the bake
        must put `good` (what production served) back."""
        say(f"release by hand to production only (workflow_dispatch): {bad[:12]}, which fails under traffic")
        deployment = self.production_job(bad, outputs, bake="rollback")
        if endpoint_commit(outputs["endpoint_name"]) != good:
            raise RehearsalError(f"after the bake production does not serve {good} again")
        with self.environment("production"), self.job("promote"):
            champion = self.make("production-commit", capture=True)
        if champion != good:
            raise RehearsalError(f"the champion record names {champion}, not {good}, after the rollback")
        say(f"rolled back: production serves {good[:12]} and its champion record says so")
        return deployment


class Traffic:
    """A client application calling the endpoint every 0.1 s from a thread while a bake runs: who
    answered, how many injected 500s, and any request the endpoint did not answer at all."""

    def __init__(self, endpoint: str) -> None:
        import threading

        self.endpoint = endpoint
        self.answered_by: dict[str, int] = {}
        self.injected_500 = 0
        self.unavailable: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def run(self) -> None:
        import boto3
        from botocore.exceptions import ClientError

        client = boto3.client("sagemaker-runtime")
        body = json.dumps({"inputs": "Hello, my parcel has not arrived yet."}).encode()
        while not self.stop.is_set():
            try:
                answer = client.invoke_endpoint(
                    EndpointName=self.endpoint, ContentType="application/json", Body=body
                )
                version = json.loads(answer["Body"].read())["model_version"]
                self.answered_by[version] = self.answered_by.get(version, 0) + 1
            except ClientError as error:
                if "injected fault" in str(error):
                    self.injected_500 += 1
                else:
                    self.unavailable.append(str(error)[:200])
            self.stop.wait(0.1)

    def until_served_by(self, commit: str, timeout_s: float = 30) -> None:
        """Keep the traffic up until `commit` has answered (the last switch took effect)."""
        deadline = time.monotonic() + timeout_s
        while self.answered_by.get(commit, 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)

    def summary(self) -> dict[str, Any]:
        return {
            "answered_by": dict(self.answered_by),
            "injected_500": self.injected_500,
            "unavailable": len(self.unavailable),
            "first_unavailable": self.unavailable[:1],
        }


def time_spent(root: Path, loop_seconds: float) -> dict[str, Any]:
    """The figures the report shows: the training job's phases and the loop to the report."""
    job_file = root / "metrics" / "train_job.json"
    job = json.loads(job_file.read_text(encoding="utf-8")) if job_file.is_file() else {}
    return {"job_phases": job.get("phases") or [], "pr_loop_seconds": round(loop_seconds, 1)}


def say_time_spent(figures: dict[str, Any]) -> None:
    say("where the PR loop's time went (the report's figures):")
    for phase in figures["job_phases"]:
        seconds = phase.get("seconds")
        shown = f"{seconds:7.1f}" if isinstance(seconds, (int, float)) else "      ?"
        print(f"  {shown}  job {phase.get('status')}", file=sys.stderr)
    print(f"  {figures['pr_loop_seconds']:7.1f}  pr workflow start -> report", file=sys.stderr)


def check_release(deployment: dict[str, Any], commit: str, previous_config: str) -> None:
    """The endpoint runs the PR's model on a new config, and the smoke request came from it."""
    if deployment["commit"] != commit or deployment["smoke"]["model_version"][:7] != commit[:7]:
        raise RehearsalError(f"the endpoint does not serve {commit}: {deployment}")
    if deployment["endpoint_config"] == previous_config:
        raise RehearsalError(f"the endpoint is still on {previous_config}")
    say(f"endpoint config switched: {previous_config} -> {deployment['endpoint_config']}")


def live_container(endpoint: str) -> dict[str, Any]:
    """The primary container of the model the endpoint's live config serves."""
    import boto3

    sagemaker = boto3.client("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"]


def serving_image(endpoint: str) -> str:
    return live_container(endpoint)["Image"]


def endpoint_commit(endpoint: str) -> str:
    """The commit whose model the endpoint serves (from its model data URL)."""
    return live_container(endpoint)["ModelDataUrl"].split("/models/")[1].split("/")[0]


def endpoint_config(name: str) -> str:
    import boto3

    return boto3.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointConfigName"]


@contextmanager
def local_cloud() -> Iterator[dict[str, str]]:
    from textclf.localcloud import LocalCloud, runtime, training

    # One log line per API request would bury the steps' own output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cloud = LocalCloud().start()
    saved = dict(os.environ)
    os.environ.update(cloud.env())
    say(f"local cloud on {cloud.url}")
    try:
        yield cloud.env()
    finally:
        runtime.stop_all()
        training.stop_all()
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved)
        say("local cloud stopped")


def rehearse(workflow: str, source: Path, keep: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"textclf-rehearse-{workflow}-"))
    result: dict[str, Any] = {"workflow": workflow}
    try:
        with local_cloud() as cloud_env:
            rehearsal = Rehearsal(source, work, cloud_env)
            rehearsal.copy_repository()
            outputs = rehearsal.apply_infrastructure()
            rehearsal.set_variables(outputs)
            if workflow == "release":  # staging reads production's bucket, key and OIDC provider
                staging = rehearsal.apply_infrastructure("staging")
                rehearsal.set_variables(staging, "staging")
            with rehearsal.job("release"):
                rehearsal.push_images(outputs, "main")
            rehearsal.push_main_data()
            head = rehearsal.open_pr()
            rehearsal.fresh_runner()
            with rehearsal.job("pr"):
                rehearsal.pr_workflow(head)
            result["pr_head"] = head
            result.update(rehearsal.time_spent)
            if workflow == "release":
                rehearsal.first_release()
                main = rehearsal.git("rev-parse", "main")
                previous = endpoint_config(outputs["endpoint_name"])
                both = {"production": outputs, "staging": staging}
                deployment = rehearsal.release_workflow(head, both)
                check_release(deployment, head, previous)
                result["deployment"] = deployment
                result["rollback"] = rehearsal.rollback_scenario(main, head, outputs)
            result["timings_s"] = rehearsal.timings
    finally:
        if keep:
            say(f"kept the repository copy in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    say("step timings (s):")
    for step, seconds in result.get("timings_s", []):
        print(f"  {seconds:7.1f}  {step}", file=sys.stderr)
    if "pr_loop_seconds" in result:
        say_time_spent(result)
    say(f"rehearsal of the {workflow} workflow passed in {result['seconds']} s")
    return result


def main(workflow: str, keep: bool = False) -> None:
    source = Path.cwd()
    if not (source / "Makefile").is_file() or not (source / ".git").exists():
        raise RehearsalError("run the rehearsal from the repository root (make rehearse-pr)")
    rehearse(workflow, source, keep)
