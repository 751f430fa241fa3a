"""`make setup-cloud REPO=owner/name`: a new AWS account and GitHub repository made ready for the
first pull request, in one command (docs/workflows.md, "Setting up a repository").

The steps, in order, each reporting what it created, changed or left as it was:

1. the Terraform state bucket (`make bootstrap`), unless the backend file names a bucket that exists;
2. production's and staging's infrastructure (`make infra-apply DEPLOY_ENV=...`);
3. the GitHub settings releases rely on (textclf.release.github_settings: branch protection, OIDC
   subject, workflow token, fork pull requests, the environments);
4. the repository variables (production's Terraform outputs) and each environment's variables
   (its own outputs; production-infra's are production's: its job applies production's
   infrastructure and pushes its images), through the REST API's variables endpoints;
5. the DVC remote (`make dvc-remote`) and the first `dvc push` of the data main pins;
6. the first images in each environment's ECR (`make images-push`: only the tags it lacks);
7. a read-back of what a first pull request uses: the variables as GitHub returns them, the PR
   role, the buckets, the stop-training function, main's training image, the data in the remote.

Before it touches anything it checks what it needs (AWS credentials, Terraform, `gh` with admin
rights on the repository, what the repository's plan offers, an engine for `docker build`, the
code owners filled in) and names every missing one at once. Every step is idempotent, so a run that
stopped half way is resumed by running it again, and a second run reports "nothing to change".
`DRY_RUN=1` prints the plan instead (Terraform's plans, the variables that would change, the
images and data missing) and changes nothing.

The backend file Terraform wrote (the release workflow reads it) is committed to main through the
contents API while main is not protected yet, else proposed by a pull request (step 2's
`step_backend_committed`). What the command cannot do is listed at the end as a to-do: merging that
pull request, and the RETRAIN_TOKEN secret in the environments retrain, staging and production (a
token only a person mints; a repository secret of that name is refused).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from textclf.release import github_settings
from textclf.release.github_settings import Gh, SettingsError

ENVIRONMENTS = ("production", "staging")
# The variable sets and whose Terraform outputs each holds: the repository's are production's (pr,
# retrain and batch read them); each environment's override them in the release's jobs bound to it.
# release.yml's production-infra job applies production and pushes its images in an environment of
# its own (no reviewers), which holds production's.
VARIABLE_SETS: dict[str | None, str] = {
    None: "production",
    "production": "production",
    github_settings.INFRA_ENVIRONMENT: "production",
    "staging": "staging",
}
# Repository or environment variables from Terraform's outputs (docs/workflows.md's table).
VARIABLE_OUTPUTS = {
    "AWS_REGION": "region",
    "ARTIFACTS_BUCKET": "artifacts_bucket",
    "MODELS_BUCKET": "models_bucket",
    "DATA_BUCKET": "data_bucket",
    "SAGEMAKER_ROLE_ARN": "sagemaker_role_arn",
    "KMS_KEY_ARN": "kms_key_arn",
    "REDEPLOY_FUNCTION_NAME": "redeploy_function_name",
    "ENDPOINT_NAME": "endpoint_name",
    "AWS_PR_ROLE_ARN": "pr_role_arn",
    "AWS_RELEASE_ROLE_ARN": "release_role_arn",
    "AWS_PROMOTE_ROLE_ARN": "promote_role_arn",
    "AWS_STATE_ROLE_ARN": "state_role_arn",
    "AWS_RETRAIN_ROLE_ARN": "retrain_role_arn",
    "AWS_BATCH_ROLE_ARN": "batch_role_arn",
    "STOP_TRAINING_FUNCTION": "stop_training_function_name",
}
PLACEHOLDER_OWNER = "@OWNER/"
# Terraform's last line of an apply or a plan (the human-readable output of `terraform apply/plan`).
APPLIED = re.compile(r"Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
PLANNED = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")


def say(line: str) -> None:
    """One report line, wrapped at 100 columns (continuations indented)."""
    import textwrap

    print(
        textwrap.fill(f"[setup-cloud] {line}", width=100, subsequent_indent="    ", break_on_hyphens=False),
        flush=True,
    )


class SetupError(RuntimeError):
    """A requirement is missing or a step failed; the message names it and what to do."""


@dataclass
class Step:
    name: str
    outcome: str  # created, changed, unchanged, would change, would create, to do
    detail: str

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"


@dataclass
class Setup:
    repository: str
    reviewers: list[str]
    dry_run: bool
    root: Path
    gh: Gh
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run
    steps: list[Step] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    # --- plumbing ---------------------------------------------------------------------------------

    def report(self, name: str, outcome: str, detail: str) -> None:
        self.steps.append(Step(name, outcome, detail))
        say(f"{name}: {outcome} ({detail})")

    def make(self, *args: str, env: dict[str, str] | None = None, echo: bool = True) -> str:
        """`make ARGS` in the repository; its output is shown as it comes and returned."""
        command = ["make", "--no-print-directory", *args]
        print(f"[setup-cloud] $ {shlex.join(command)}", flush=True)
        done = self.run(
            command,
            cwd=self.root,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if echo and done.stdout:
            print(done.stdout.rstrip(), flush=True)
        if done.returncode != 0:
            raise SetupError(
                f"`{shlex.join(command)}` failed (exit {done.returncode}); its output is above. "
                "Fix what it names and run `make setup-cloud` again: the steps already done are kept"
            )
        return done.stdout

    def terraform_outputs(self, environment: str) -> dict[str, Any]:
        text = self.make("-s", "infra-output", env={"DEPLOY_ENV": environment}, echo=False)
        try:
            return {name: value["value"] for name, value in json.loads(text).items()}
        except (ValueError, TypeError, KeyError):
            raise SetupError(f"`make infra-output DEPLOY_ENV={environment}` printed no outputs") from None


# --- what it needs, checked before anything is touched -----------------------------------------


def requirements(setup: Setup) -> list[str]:
    """Each requirement as a line; raises SetupError naming every one that is missing."""
    met: list[str] = []
    missing: list[str] = []

    def need(ok: bool, good: str, bad: str) -> None:
        (met if ok else missing).append(good if ok else bad)

    settings = github_settings.Settings(setup.repository, setup.reviewers)
    named = bool(setup.repository)
    need(named, f"repository {setup.repository}", "REPO is empty: make setup-cloud REPO=owner/name")
    for check in (
        lambda: github_settings.check_inputs(settings) if named else None,
        lambda: github_settings.check_codeowners(setup.root / github_settings.CODEOWNERS),
    ):
        try:
            check()
        except SettingsError as error:
            missing.append(str(error))
    codeowners = setup.root / github_settings.CODEOWNERS
    try:
        placeholder = codeowners.is_file() and PLACEHOLDER_OWNER in read_text(codeowners, "CODEOWNERS")
    except SetupError:  # check_codeowners (above) named what is wrong with the file
        placeholder = False
    need(
        not placeholder,
        "code owners named in .github/CODEOWNERS",
        f".github/CODEOWNERS still names the template's {PLACEHOLDER_OWNER}release-owners: replace it with "
        "your owners (users or a team with write access) and commit it to main (branch protection "
        "reads it there), then run this again",
    )
    identity = aws_identity()
    need(
        identity is not None,
        f"AWS credentials: {identity}",
        "AWS credentials: none found (aws configure, AWS_PROFILE or aws sso login; the first apply "
        "needs an administrator of the account), or `make local-cloud` to try it offline",
    )
    terraform = shutil.which("terraform")
    need(bool(terraform), "terraform on PATH", "terraform is not on PATH: install Terraform 1.11 or later")
    plan = None
    try:
        if not named:
            raise SettingsError("no repository named")
        repo = setup.gh("GET", f"repos/{setup.repository}")
        admin = bool((repo.get("permissions") or {}).get("admin"))
        need(
            admin,
            f"gh: admin on {setup.repository}",
            f"gh: the token has no admin rights on {setup.repository} (settings and variables need "
            "them): `gh auth login` as an administrator, or a token with Administration and Variables "
            "write",
        )
        if admin:
            plan = github_settings.detect_plan(setup.gh, setup.repository)
    except SettingsError as error:
        if named:
            missing.append(f"gh: cannot read {setup.repository}: {error}")
    if plan is not None:
        need(
            plan.branch_protection,
            f"plan: {plan} (branch protection: yes; environments: "
            f"{'yes' if plan.environments else 'no'}; environment reviewers: "
            f"{'yes' if plan.environment_reviewers else 'no, production moves by reviewed pull requests'})",
            f"plan: a {plan} offers no branch protection (GitHub Pro, Team or Enterprise, or a public "
            "repository): upgrade the plan or make the repository public",
        )
        need(
            not (plan.environment_reviewers and not setup.reviewers),
            f"production reviewers: {', '.join(setup.reviewers) or 'none (not offered by the plan)'}",
            f"production reviewers: none named, and a {plan} offers them: pass REVIEWERS=alice,bob",
        )
    engine = setup.run(["docker", "info"], capture_output=True, text=True) if shutil.which("docker") else None
    need(
        engine is not None and engine.returncode == 0,
        "docker: an engine to build the images",
        "docker: no engine answers `docker info` (the images are built here): start Docker, or run "
        "this where Docker runs",
    )
    need(
        (setup.root / "data.dvc").is_file(),
        "data.dvc: the data main pins",
        "data.dvc: not found; run this from the repository root",
    )
    if missing:
        import textwrap

        raise SetupError(
            "nothing was changed; what is missing:\n"
            + "\n".join(
                textwrap.fill(line, 96, initial_indent="  - ", subsequent_indent="    ") for line in missing
            )
        )
    return met


def aws_identity() -> str | None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = boto3.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError):
        return None
    return f"account {found['Account']} as {found['Arn']}"


# --- 1-2: the state bucket and both environments -------------------------------------------------


def backend_file(root: Path) -> Path:
    # terraform/scripts/tf.sh: the local cloud has a backend file of its own.
    local = bool(os.environ.get("AWS_ENDPOINT_URL"))
    return root / "terraform" / ("backend.localcloud.hcl" if local else "backend.hcl")


# Far more than any of the small files setup-cloud reads (the backend file, .dvc/config.local,
# CODEOWNERS: GitHub loads no CODEOWNERS of 3 MB or more).
SMALL_FILE_LIMIT = 4 << 20


def read_text(path: Path, what: str) -> str:
    """A small text file setup-cloud reads, or SetupError naming it and what is wrong (not a
    regular file, too large, not UTF-8): never a traceback, never a read of a pipe or a device."""
    from textclf import atomic

    try:
        data = atomic.read_regular(path, SMALL_FILE_LIMIT)
    except OSError as error:
        raise SetupError(
            f"{path} ({what}): cannot be read ({error.strerror}); it must be a regular text file"
        ) from None
    return atomic.decode_utf8(data, f"{path} ({what})", SetupError)


def state_bucket(root: Path) -> str | None:
    """The bucket the backend file names, if the file exists and the bucket does."""
    import boto3
    from botocore.exceptions import ClientError

    path = backend_file(root)
    if not path.exists() and not path.is_symlink():  # anything there but a regular file is named
        return None
    text = read_text(path, "the Terraform backend file make bootstrap writes")
    found = re.search(r'^bucket\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not found:
        return None
    try:
        boto3.client("s3").head_bucket(Bucket=found.group(1))
    except ClientError:
        return None
    return found.group(1)


def step_state_bucket(setup: Setup) -> bool:
    bucket = state_bucket(setup.root)
    if bucket:
        setup.report("state bucket", "unchanged", f"{bucket}, named by {backend_file(setup.root).name}")
        return True
    if setup.dry_run:
        setup.report("state bucket", "would create", "make bootstrap; the environments are planned after it")
        return False
    setup.make("bootstrap")
    setup.report(
        "state bucket", "created", f"{state_bucket(setup.root)}, written to {backend_file(setup.root).name}"
    )
    return True


def step_environment(setup: Setup, environment: str, state_exists: bool) -> None:
    name = f"infrastructure {environment}"
    env = {"DEPLOY_ENV": environment}
    if setup.dry_run:
        if not state_exists:
            setup.report(name, "would create", "every resource; planned once the state bucket exists")
            return
        found = PLANNED.search(setup.make("infra-plan", env=env))
        counts = tuple(map(int, found.groups())) if found else (0, 0, 0)
        setup.report(
            name,
            "would change" if any(counts) else "unchanged",
            "{} to add, {} to change, {} to destroy".format(*counts),
        )
        return
    found = APPLIED.search(setup.make("infra-apply", env=env))
    added, changed, destroyed = map(int, found.groups()) if found else (0, 0, 0)
    outcome = "created" if added and not (changed or destroyed) else "changed"
    setup.report(
        name,
        outcome if added or changed or destroyed else "unchanged",
        f"{added} added, {changed} changed, {destroyed} destroyed",
    )
    setup.outputs[environment] = setup.terraform_outputs(environment)


# The branch of the pull request that adds the backend file once main is protected.
BACKEND_BRANCH = "setup/terraform-backend"


def step_backend_committed(setup: Setup) -> None:
    """The backend file Terraform's state lives by, on main (the release workflow's Terraform reads
    it there). Written by `make bootstrap`, it is committed through the contents API: straight to
    main while main is not protected yet (a new repository: this step runs before the GitHub
    settings step protects it), else by a pull request from BACKEND_BRANCH, which the protection
    then asks a code owner to approve (GitHub refuses a push to a protected branch, administrators
    included: `enforce_admins`). The operator's working tree is not touched."""
    import base64

    path = backend_file(setup.root)
    if not path.is_file() or not setup.repository:
        return
    relative = str(path.relative_to(setup.root))
    wanted = read_text(path, "the Terraform backend file make bootstrap writes").encode("utf-8")
    repo = f"repos/{setup.repository}"
    on_main = _read_or_none(setup.gh, f"{repo}/contents/{quote(relative)}?ref=main")
    if on_main and base64.b64decode(str(on_main.get("content") or "")).rstrip() == wanted.rstrip():
        return
    protected = _read_or_none(setup.gh, f"{repo}/branches/main/protection") is not None
    how = f"a pull request from {BACKEND_BRANCH}" if protected else "a commit on main (not protected yet)"
    if setup.dry_run:
        setup.report("backend file", "would change", f"{relative} would be added to main by {how}")
        return
    body = {
        "message": f"Terraform backend for this account ({relative}, written by make bootstrap)",
        "content": base64.b64encode(wanted).decode("ascii"),
    }
    if not protected:
        setup.gh(
            "PUT",
            f"{repo}/contents/{quote(relative)}",
            {**body, "branch": "main"} | ({"sha": on_main["sha"]} if on_main else {}),
        )
        setup.report("backend file", "created", f"{relative} committed to main before main is protected")
        setup.notes.append(f"pull main to have {relative} tracked in this checkout (`git pull`)")
        return
    number = backend_pull_request(setup, relative, body)
    setup.report("backend file", "changed", f"{relative} proposed to main by pull request #{number}")
    setup.todo.append(
        f"review and merge pull request #{number}, which adds {relative} to main (main is protected: a "
        "code owner approves terraform/); the release workflow's Terraform reads its state from the bucket "
        "it names"
    )


def backend_pull_request(setup: Setup, relative: str, body: dict[str, Any]) -> int:
    """BACKEND_BRANCH at main's tip with the file, and its pull request (the open one, or a new one)."""
    repo = f"repos/{setup.repository}"
    branch = f"{repo}/git/refs/heads/{BACKEND_BRANCH}"
    main = setup.gh("GET", f"{repo}/git/ref/heads/main")["object"]["sha"]
    listed = setup.gh(
        "GET", f"{repo}/pulls?state=open&head={setup.repository.split('/')[0]}:{BACKEND_BRANCH}"
    )
    opened = [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    if not opened:  # a fresh branch at main's tip (an older one, without an open pull request, is reset)
        if _read_or_none(setup.gh, f"{repo}/git/ref/heads/{BACKEND_BRANCH}") is None:
            setup.gh("POST", f"{repo}/git/refs", {"ref": f"refs/heads/{BACKEND_BRANCH}", "sha": main})
        else:
            setup.gh("PATCH", branch, {"sha": main, "force": True})
    current = _read_or_none(setup.gh, f"{repo}/contents/{quote(relative)}?ref={BACKEND_BRANCH}")
    setup.gh(
        "PUT",
        f"{repo}/contents/{quote(relative)}",
        {**body, "branch": BACKEND_BRANCH} | ({"sha": current["sha"]} if current else {}),
    )
    if opened:
        return int(opened[0]["number"])
    created = setup.gh(
        "POST",
        f"{repo}/pulls",
        {
            "head": BACKEND_BRANCH,
            "base": "main",
            "title": f"Terraform backend: {relative}",
            "body": "The state bucket `make setup-cloud` created for this account (`make bootstrap`): the "
            "release workflow's Terraform reads its state from the bucket this file names.",
        },
    )
    return int(created["number"])


# --- 3-4: GitHub ---------------------------------------------------------------------------------


def _read_or_none(gh: Gh, path: str) -> Any:
    try:
        return gh("GET", path)
    except SettingsError as error:
        if "404" in str(error) or "Not Found" in str(error):
            return None
        raise


def report_to(setup: Setup) -> Callable[[str], None]:
    """github_settings' report lines: its steps to do join setup-cloud's, the rest are notes."""

    def report(line: str) -> None:
        if line.startswith("to do: "):
            setup.todo.append(line.removeprefix("to do: "))
        else:
            setup.notes.append(line)

    return report


def step_github_settings(setup: Setup) -> None:
    repo = f"repos/{setup.repository}"
    watched = {
        "OIDC subject": f"{repo}/actions/oidc/customization/sub",
        "protection of main": f"{repo}/branches/main/protection",
        "workflow permissions": f"{repo}/actions/permissions/workflow",
        **{f"environment {name}": f"{repo}/environments/{name}" for name in VARIABLE_SETS if name},
        **{
            f"branch policies of {name}": f"{repo}/environments/{name}/deployment-branch-policies"
            for name in VARIABLE_SETS
            if name
        },
    }
    if setup.dry_run:
        absent = [what for what, path in watched.items() if _read_or_none(setup.gh, path) is None]
        setup.report(
            "GitHub settings",
            "would change" if absent else "would apply and read back",
            f"not set yet: {', '.join(absent)}" if absent else "each setting is re-applied and read back",
        )
        return
    before = {what: _read_or_none(setup.gh, path) for what, path in watched.items()}
    settings = github_settings.Settings(setup.repository, setup.reviewers)
    github_settings.check_inputs(settings)
    applied = github_settings.apply(settings, setup.gh, report=report_to(setup))
    after = {what: _read_or_none(setup.gh, path) for what, path in watched.items()}
    changed = [what for what in watched if before[what] != after[what]]
    setup.report(
        "GitHub settings",
        "changed" if changed else "unchanged",
        (f"changed: {', '.join(changed)}; " if changed else "") + f"{len(applied)} settings read back",
    )


def wanted_variables(outputs: dict[str, Any]) -> dict[str, str]:
    return {
        name: str(outputs[key])
        for name, key in VARIABLE_OUTPUTS.items()
        if outputs.get(key) not in (None, "")
    }


def _variables_path(repository: str, environment: str | None) -> str:
    if environment is None:
        return f"repos/{repository}/actions/variables"
    return f"repos/{repository}/environments/{quote(environment, safe='')}/variables"


def current_variables(gh: Gh, repository: str, environment: str | None) -> dict[str, str]:
    """Every variable of the repository or environment (REST: "List repository variables", "List
    environment variables"; 30 a page by default, at most 100)."""
    found: dict[str, str] = {}
    page = 1
    while True:
        try:
            answer = gh("GET", f"{_variables_path(repository, environment)}?per_page=100&page={page}")
        except SettingsError as error:
            # An environment not created yet (a dry run before `make github-settings` made one
            # added since, such as production-infra): none of its variables exist.
            if environment is not None and ("404" in str(error) or "Not Found" in str(error)):
                return found
            raise
        listed = answer.get("variables") or []
        found |= {item["name"]: item["value"] for item in listed}
        if len(listed) < 100:
            return found
        page += 1


def step_variables(setup: Setup, environment: str | None, wanted: dict[str, str]) -> None:
    """Create what is missing, update what differs, leave the rest (REST: POST .../variables,
    PATCH .../variables/{name})."""
    where = f"{environment} environment variables" if environment else "repository variables"
    path = _variables_path(setup.repository, environment)
    current = current_variables(setup.gh, setup.repository, environment)
    created = [name for name in wanted if name not in current]
    changed = [name for name in wanted if name in current and current[name] != wanted[name]]
    if not setup.dry_run:
        for name in created:
            setup.gh("POST", path, {"name": name, "value": wanted[name]})
        for name in changed:
            setup.gh("PATCH", f"{path}/{name}", {"name": name, "value": wanted[name]})
    prefix = "would " if setup.dry_run else ""
    details = [
        f"{prefix}create {', '.join(created)}" if created else "",
        f"{prefix}change {', '.join(changed)}" if changed else "",
        f"{len(wanted) - len(created) - len(changed)} as they were",
    ]
    outcome = "unchanged" if not (created or changed) else ("would change" if setup.dry_run else "changed")
    setup.report(where, outcome, "; ".join(filter(None, details)))


def step_every_variable_set(setup: Setup) -> None:
    """The repository's variables and each environment's, from the Terraform outputs VARIABLE_SETS
    names (production-infra's are production's)."""
    for environment, source in VARIABLE_SETS.items():
        step_variables(setup, environment, wanted_variables(setup.outputs[source]))


def step_secret(setup: Setup) -> None:
    """The bot token: an environment secret of the environments whose jobs open pull requests,
    never a repository secret (refused; textclf.release.github_settings). The real run's GitHub
    settings step checked it already (its to-do lines went to `setup.todo`)."""
    if setup.dry_run and setup.repository:
        settings = github_settings.Settings(setup.repository, setup.reviewers)
        setup.todo.extend(github_settings.check_bot_secret(settings, setup.gh).todo)


# --- 5-6: data and images -----------------------------------------------------------------------


def step_data(setup: Setup) -> None:
    bucket = setup.outputs.get("production", {}).get("data_bucket")
    if setup.dry_run:
        missing = data_missing(setup, bucket) if bucket else None
        setup.report(
            "DVC remote",
            "unchanged" if missing == 0 else "would change",
            f"s3://{bucket}/dvc holds main's data"
            if missing == 0
            else "make dvc-remote, then dvc push data.dvc to s3://<data_bucket>/dvc",
        )
        return
    env = {"TEXTCLF_DATA_BUCKET": str(bucket)}
    setup.make("data", "dvc-remote", env=env)
    dvc = str(setup.root / ".venv" / "bin" / "dvc")
    print(f"[setup-cloud] $ dvc push data.dvc (s3://{bucket}/dvc)", flush=True)
    done = setup.run(
        [dvc, "push", "data.dvc"], cwd=setup.root, env={**os.environ, **env}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SetupError(
            f"dvc push data.dvc to s3://{bucket}/dvc failed: {(done.stderr or done.stdout).strip()[-500:]}"
        )
    pushed = re.search(r"(\d+) files? pushed", done.stdout)
    count = int(pushed.group(1)) if pushed else 0
    setup.report(
        "DVC remote",
        "changed" if count else "unchanged",
        f"s3://{bucket}/dvc: {count} files pushed" if count else f"s3://{bucket}/dvc holds main's data",
    )


def data_missing(setup: Setup, bucket: str) -> int | None:
    """How many of data.dvc's files the remote lacks (`dvc status --cloud`), or None when DVC does
    not point at s3://<bucket>/dvc yet (`make dvc-remote` writes .dvc/config.local)."""
    config = setup.root / ".dvc" / "config.local"
    if not config.is_file() or f"s3://{bucket}/dvc" not in read_text(config, "DVC's local settings"):
        return None
    status = setup.run(
        [str(setup.root / ".venv" / "bin" / "dvc"), "status", "--cloud", "--json", "data.dvc"],
        cwd=setup.root,
        capture_output=True,
        text=True,
    )
    if status.returncode != 0:
        return None
    try:
        return len(json.loads(status.stdout or "{}"))
    except ValueError:
        return None


def images_missing(setup: Setup, environment: str) -> list[str] | None:
    """The image URIs (HEAD's tags) the environment's ECR lacks, or None before it is applied."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    outputs = setup.outputs.get(environment) or {}
    if not outputs.get("training_repository_url"):
        return None
    tags = dict(
        line.split("=", 1) for line in setup.make("-s", "image-tags", echo=False).splitlines() if "=" in line
    )
    missing = []
    for output, tag in (
        ("training_repository_url", tags.get("TRAINING_IMAGE_TAG", "")),
        ("serving_repository_url", tags.get("SERVING_IMAGE_TAG", "")),
    ):
        url = str(outputs[output])
        try:
            boto3.client("ecr").describe_images(
                repositoryName=url.split("/", 1)[1], imageIds=[{"imageTag": tag}]
            )
        except (BotoCoreError, ClientError):
            missing.append(f"{url}:{tag}")
    return missing


def step_images(setup: Setup, environment: str) -> None:
    name = f"images {environment}"
    if setup.dry_run:
        missing = images_missing(setup, environment)
        setup.report(
            name,
            "unchanged" if missing == [] else "would change",
            f"would build and push {', '.join(missing)}"
            if missing
            else ("both of HEAD's tags in its ECR" if missing == [] else "make images-push once it exists"),
        )
        return
    output = setup.make("images-push", env={"DEPLOY_ENV": environment})
    kept = output.count("already in ECR")
    pushed = 2 - kept
    setup.report(
        name,
        "changed" if pushed else "unchanged",
        f"{pushed} pushed, {kept} already in ECR",
    )


# --- 7: read back what a first pull request uses --------------------------------------------------


def read_back(setup: Setup) -> list[str]:
    """What a first PR run reads, read back as it will be; raises SetupError naming each miss."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    problems: list[str] = []
    checked: list[str] = []
    for environment, source in VARIABLE_SETS.items():
        outputs = setup.outputs[source]
        wanted = wanted_variables(outputs)
        current = current_variables(setup.gh, setup.repository, environment)
        wrong = [name for name in wanted if current.get(name) != wanted[name]]
        where = f"{environment} environment" if environment else "repository"
        if wrong:
            problems.append(f"{where} variables differ from Terraform's outputs: {', '.join(wrong)}")
        else:
            checked.append(f"{where} variables ({len(wanted)})")
    production = setup.outputs["production"]
    calls: list[tuple[str, Callable[[], Any]]] = [
        (
            f"PR role {production.get('pr_role_arn')}",
            lambda: boto3.client("iam").get_role(RoleName=str(production["pr_role_arn"]).rsplit("/", 1)[-1]),
        ),
        *[
            (f"bucket {bucket}", lambda bucket=bucket: boto3.client("s3").head_bucket(Bucket=bucket))
            for bucket in sorted(
                {
                    str(production[key])
                    for key in ("artifacts_bucket", "data_bucket", "models_bucket")
                    if key in production
                }
            )
        ],
        (
            f"stop-training function {production.get('stop_training_function_name')}",
            lambda: boto3.client("lambda").get_function(
                FunctionName=production["stop_training_function_name"]
            ),
        ),
    ]
    for what, call in calls:
        try:
            call()
            checked.append(what)
        except (BotoCoreError, ClientError, KeyError) as error:
            problems.append(f"{what}: {error}")
    missing = images_missing(setup, "production")
    if missing == []:
        checked.append("HEAD's training and serving images in production's ECR")
    else:
        problems.append(
            f"production's ECR lacks {', '.join(missing or ['its repositories'])}: make images-push"
        )
    bucket = str(production.get("data_bucket"))
    if data_missing(setup, bucket) == 0:
        checked.append(f"main's data in s3://{bucket}/dvc")
    else:
        problems.append(f"main's data is not all in s3://{bucket}/dvc: run `dvc push data.dvc`")
    if problems:
        raise SetupError("read-back failed:\n" + "\n".join(f"  - {line}" for line in problems))
    return checked


# --- the command --------------------------------------------------------------------------------


PLAN = (
    "state bucket: make bootstrap, unless the backend file names a bucket that exists",
    "infrastructure production and staging: make infra-apply DEPLOY_ENV=<each>",
    "GitHub settings: make github-settings (branch protection, OIDC subject, environments)",
    "variables: the repository's and each environment's, from Terraform's outputs (GitHub's API)",
    "DVC remote: make dvc-remote, then dvc push data.dvc",
    "images: make images-push DEPLOY_ENV=<each> (only the tags its ECR lacks)",
    "read-back: what a first pull request uses",
)


def target() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f"the local cloud at {endpoint}" if endpoint else "the AWS account of these credentials"


def setup_cloud(setup: Setup) -> list[Step]:
    if setup.repository:  # before anything shows or uses it (API paths, the OIDC trust's variable)
        try:
            github_settings.check_repository(setup.repository, "pass REPO=owner/name")
        except SettingsError as error:
            raise SetupError(f"nothing was changed: {error}") from None
    say(f"target: {target()}; repository {setup.repository or '(none named)'}")
    try:
        met = requirements(setup)
    except SetupError:
        if setup.dry_run:  # the plan, even when it cannot be checked against anything yet
            for line in PLAN:
                say(f"would run: {line}")
        raise
    for line in met:
        say(f"needs: {line}")
    state_exists = step_state_bucket(setup)
    for environment in ENVIRONMENTS:
        step_environment(setup, environment, state_exists)
    step_backend_committed(setup)
    step_github_settings(setup)
    if setup.dry_run and state_exists:  # what the environments hold now (empty before an apply)
        setup.outputs = {env: setup.terraform_outputs(env) for env in ENVIRONMENTS}
    if all(setup.outputs.get(env) for env in ENVIRONMENTS):
        step_every_variable_set(setup)
    else:
        setup.report("variables", "would create", "from Terraform's outputs once both environments exist")
    step_secret(setup)
    step_data(setup)
    for environment in ENVIRONMENTS:
        step_images(setup, environment)
    if not setup.dry_run:
        for line in read_back(setup):
            say(f"read back: {line}")
    summarise(setup)
    return setup.steps


def summarise(setup: Setup) -> None:
    changed = [step for step in setup.steps if step.changed]
    verb = "would change" if setup.dry_run else "changed"
    if changed:
        say(f"{len(changed)} of {len(setup.steps)} steps {verb}: " + ", ".join(step.name for step in changed))
    else:
        say("nothing to change: every step was already done")
    for line in setup.notes:
        say(f"note: {line}")
    for line in setup.todo:
        say(f"to do: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make setup-cloud", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", default=os.environ.get("REPO", ""), help="owner/name")
    parser.add_argument(
        "--reviewers", default=os.environ.get("REVIEWERS", ""), help="logins, comma-separated"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    setup = Setup(
        repository=args.repository,
        reviewers=[name.strip() for name in args.reviewers.split(",") if name.strip()],
        dry_run=args.dry_run,
        root=Path.cwd(),
        gh=github_settings.gh_api(),
    )
    try:
        setup_cloud(setup)
    except (SetupError, SettingsError) as error:
        print(f"setup-cloud: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
