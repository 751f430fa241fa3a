"""What the workflows' third-party actions and the runner's CLIs do, done here against the local
cloud and the fake GitHub (textclf.rehearsal.github). The actions under tools/stand-ins/ (one
folder per action, replacing the pinned one through act's --local-repository) and the world's
`gh`, `cml` and `docker` commands call this module:

    python -m textclf.rehearsal.standins checkout | setup-python | setup-node | setup-terraform
        | configure-aws-credentials | cache-restore | cache-save | upload-artifact | download-artifact
    python -m textclf.rehearsal.standins gh|cml|docker ARGS...

Each does what the real one does on GitHub, as far as a workflow can tell, and fails where the
real one would fail. Where it must differ, the difference is said here, in one place:

- checkout: the origin is the world's bare repository; `https://github.com/<repo>` is rewritten to
  it (git's url.<base>.insteadOf), so remotes look as on GitHub. With `persist-credentials: false`
  the job holds no credentials: fetching and pushing the private repository fail, as on GitHub.
  The fetch needs the token's read access (input `token`, by default the job's GITHUB_TOKEN, which
  the fake GitHub scopes to the job's `permissions`): without `contents: read` checkout fails.
  It also does the runner's job set-up that act lacks: a job whose `permissions` grant
  `id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN (docs.github.com, "About security
  hardening with OpenID Connect"); other jobs get none.
- setup-python: the registry's packages are not downloaded per job here, so with `cache: pip` the
  job's .venv starts with the world's installed packages (what the pip cache would give it: links
  to them while the job's requirements.lock is the world's, hard-linked copies otherwise);
  `make setup` then runs as written, and installs the job's own commit.
- configure-aws-credentials: the token comes from the local cloud's issuer, with the claims GitHub
  would give this job (repository, ref, event, environment, workflow ref, run id and attempt);
  no token without `id-token: write`; then sts:AssumeRoleWithWebIdentity for the role and
  duration the step asks, as the real action does.
- docker: no engine here. `build` records the image; `push` writes its manifest to the local
  cloud's ECR with the step's own AWS credentials (a push the role may not make is refused).
- cml: `comment update` finds the comment by its watermark and edits it, or creates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

CML_VERSION = "0.20.6"
SHA_REF = re.compile(r"^[0-9a-f]{40}$")


class StandInError(SystemExit):
    """A failure the step reports, as the real action would (GitHub's `::error::` line)."""

    def __init__(self, message: str) -> None:
        print(f"::error::{message}", file=sys.stderr, flush=True)
        super().__init__(1)


# --- the world and the job ----------------------------------------------------------------------


def world() -> dict[str, Any]:
    root = os.environ.get("TEXTCLF_REHEARSAL_WORLD")
    if not root:
        raise StandInError("TEXTCLF_REHEARSAL_WORLD is not set: stand-ins run inside a rehearsal")
    return json.loads((Path(root) / "world.json").read_text(encoding="utf-8"))


def inputs(name: str, default: str = "") -> str:
    """An action input, as the runner passes it (INPUT_<NAME>, upper case)."""
    value = os.environ.get("INPUT_" + name.upper().replace(" ", "_"), "")
    return value if value != "" else default


def write_env(name: str, value: str) -> None:
    """Export to the job's later steps (the $GITHUB_ENV file), as actions do."""
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as env:
        env.write(f"{name}={value}\n")


def set_output(name: str, value: str) -> None:
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"{name}={value}\n")


def workflow_job() -> tuple[dict[str, Any], dict[str, Any]]:
    """The running workflow file and this job's definition, read from the checked-out commit."""
    workflow_ref = os.environ.get("GITHUB_WORKFLOW_REF", "")
    path = workflow_ref.split("@", 1)[0].split("/", 2)[-1]
    if not path.startswith(".github/workflows/"):
        raise StandInError(f"GITHUB_WORKFLOW_REF {workflow_ref!r} names no workflow file")
    source = Path(os.environ.get("TEXTCLF_REHEARSAL_SOURCE", "."), path)
    workflow = yaml.safe_load(source.read_text(encoding="utf-8"))
    return workflow, workflow["jobs"][os.environ["GITHUB_JOB"]]


def job_permissions() -> dict[str, str]:
    """The job's GITHUB_TOKEN permissions, as the fake GitHub scopes its token (its own
    `permissions`, else the workflow's: textclf.rehearsal.github.token_permissions)."""
    from textclf.rehearsal.github import token_permissions

    workflow, _ = workflow_job()
    return token_permissions(workflow, os.environ["GITHUB_JOB"])


def job_environment() -> str | None:
    _, job = workflow_job()
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return str(environment) if environment else None


def job_facts() -> dict[str, Any]:
    return {
        "repository": os.environ["GITHUB_REPOSITORY"],
        "event": os.environ["GITHUB_EVENT_NAME"],
        "ref": os.environ["GITHUB_REF"],
        "sha": os.environ["GITHUB_SHA"],
        "workflow_ref": os.environ["GITHUB_WORKFLOW_REF"],
        "run_id": int(os.environ.get("GITHUB_RUN_ID", "1")),
        "run_attempt": int(os.environ.get("GITHUB_RUN_ATTEMPT", "1")),
        "environment": job_environment(),
        "actor": os.environ.get("GITHUB_ACTOR", "octocat"),
    }


def github_api(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """A call to the fake GitHub's API, as GitHub's API is called (token auth, JSON)."""
    token = token or os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN") or ""
    request = urllib.request.Request(
        world()["github_api"] + "/" + path.lstrip("/"),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as error:
        message = json.loads(error.read() or b"{}").get("message", "")
        raise GitHubCallError(error.code, f"HTTP {error.code}: {message} ({method} {path})") from None
    return json.loads(raw) if raw else None


class GitHubCallError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- actions/checkout --------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StandInError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def checkout() -> None:
    facts = world()
    workspace = Path(os.environ["GITHUB_WORKSPACE"], inputs("path", "."))
    for child in list(workspace.iterdir()) if workspace.is_dir() else []:
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    workspace.mkdir(parents=True, exist_ok=True)
    pull_request = os.environ["GITHUB_EVENT_NAME"] == "pull_request"
    ref = inputs("ref") or (os.environ["GITHUB_REF"] if pull_request else os.environ["GITHUB_SHA"])
    depth = int(inputs("fetch-depth", "1"))
    github_url = f"https://github.com/{os.environ['GITHUB_REPOSITORY']}"
    origin = "file://" + facts["origin"]
    git("init", "--quiet", cwd=workspace)
    git("config", f"url.{origin}.insteadOf", github_url, cwd=workspace)
    git("remote", "add", "origin", github_url, cwd=workspace)
    shallow = [f"--depth={depth}"] if depth > 0 else []
    refspecs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"] if depth == 0 else []
    if refspecs:  # fetch-depth 0: every branch and tag, as the real action fetches them
        git("fetch", "--quiet", "--no-tags", "origin", *refspecs, cwd=workspace)
    # The ref alone, so FETCH_HEAD names exactly it.
    git("fetch", "--quiet", "--no-tags", *shallow, "origin", ref, cwd=workspace)
    git("checkout", "--quiet", "--detach", "FETCH_HEAD", cwd=workspace)
    readable(facts, git("rev-parse", "HEAD", cwd=workspace))
    if SHA_REF.match(ref) and git("rev-parse", "HEAD", cwd=workspace) != ref:
        raise StandInError(f"checked out {git('rev-parse', 'HEAD', cwd=workspace)}, not {ref}")
    if inputs("persist-credentials", "true") == "false":
        # No credentials left behind: the private repository can be neither fetched nor pushed.
        git("config", "--unset-all", f"url.{origin}.insteadOf", cwd=workspace)
        git(
            "config",
            f"url.file:///credentials-not-persisted/{facts['repository']}.insteadOf",
            github_url,
            cwd=workspace,
        )
    print(f"checked out {ref} at {git('rev-parse', 'HEAD', cwd=workspace)} (fetch-depth {depth})")
    runner_job_setup(facts)


def readable(facts: dict[str, Any], sha: str) -> None:
    """The checkout's token (input `token`, by default the job's GITHUB_TOKEN) must read the private
    repository, as the real action's fetch over HTTPS needs: a job without `contents: read` fails
    here, as it fails on GitHub."""
    try:
        github_api("GET", f"repos/{facts['repository']}/commits/{sha}", token=inputs("token"))
    except GitHubCallError as error:
        raise StandInError(
            f"could not fetch {facts['repository']} with the checkout's token: {error} (a job's "
            "GITHUB_TOKEN reads the repository with `permissions: contents: read`)"
        ) from None


def runner_job_setup(facts: dict[str, Any]) -> None:
    """The runner gives a job with `id-token: write` the variables to request its OIDC token."""
    if os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        return
    if job_permissions().get("id-token") != "write":
        return
    registered = github_api("POST", "_runner/jobs", job_facts(), token=facts["runner_secret"])
    write_env("ACTIONS_ID_TOKEN_REQUEST_URL", f"{facts['github_api']}/_runner/oidc-token?job=1")
    write_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", registered["token"])


# --- actions/setup-python, setup-node, hashicorp/setup-terraform -----------------------------


def setup_python() -> None:
    facts = world()
    version = inputs("python-version")
    python = shutil.which(f"python{version}")
    if not python:
        raise StandInError(f"Python {version} is not installed on this runner")
    tools = Path(os.environ["RUNNER_TEMP"], "python-bin")
    tools.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = tools / name
        link.unlink(missing_ok=True)
        link.symlink_to(python)
    with open(os.environ["GITHUB_PATH"], "a", encoding="utf-8") as path_file:
        path_file.write(f"{tools}\n")
    print(f"Python {version}: {python}")
    if inputs("cache") == "pip":
        layered_venv(Path(os.environ["GITHUB_WORKSPACE"]) / ".venv", python, facts)


def layered_venv(venv: Path, python: str, facts: dict[str, Any]) -> None:
    """A fresh .venv holding the world's installed packages (what the pip cache would give, offline)
    and their entry points, so that `make setup` installs the job's own commit into it without
    touching the world's environment. Unlike GitHub's pip cache it also carries the lock's marker,
    so `make setup` skips re-checking every pin of an unchanged lock: the hash-checked install
    itself is what `make test` and CI's own `make setup` run."""
    if venv.is_symlink():
        raise StandInError(f"{venv} is a link in the checkout: a job's environment must be its own")
    if venv.exists():
        return
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    markers = sorted(Path(facts["python"]).parent.parent.glob(".locked-*"))
    lock = Path(os.environ["GITHUB_WORKSPACE"]) / "requirements.lock"
    if lock.is_file() and [m.name for m in markers] == [f".locked-{lock_key(lock)}"]:
        linked_packages(Path(facts["site_packages"]), purelib)
    else:
        copied_packages(Path(facts["site_packages"]), purelib)
    shared_bin = Path(facts["python"]).parent
    for script in shared_bin.iterdir():
        target = venv / "bin" / script.name
        if (
            target.exists()
            or not script.is_file()
            or script.name.startswith(("python", "activate", "Activate"))
        ):
            continue
        head = script.read_bytes()[:256]
        if head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]:
            body = script.read_text(encoding="utf-8").split("\n", 1)[1]
            target.write_text(f"#!{venv / 'bin' / 'python'}\n{body}", encoding="utf-8")
            target.chmod(0o755)
        elif script.is_file():
            target.symlink_to(script.resolve())
    # The marker of the lock the world's environment was installed from (Makefile, LOCKED): a job
    # whose requirements.lock is that lock installs only its own commit; one that changes the lock
    # installs it in full.
    for marker in markers:
        shutil.copy2(marker, venv / marker.name)
    print(f"pip cache (offline): {venv} holds the world's packages")


def lock_key(lock: Path) -> str:
    """The Makefile's LOCK_KEY: the first 16 hex digits of requirements.lock's sha256."""
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


# The project's own entries of the world's site-packages: the job installs its own commit (`make
# setup`, `pip install -e .`), and pip, finding the world's, would uninstall them through the links.
PROJECT_ENTRIES = ("textclf-", "__editable__.textclf-", "__editable___textclf_")


def linked_packages(world: Path, purelib: Path) -> None:
    """The job's lock is the world's, so `make setup` installs only the project (no dependency is
    replaced): each package is a symbolic link to the world's (hundreds of links, not the tens of
    thousands of hard links a copy makes and a clean-up removes again for every job)."""
    for entry in world.iterdir():
        if not entry.name.startswith(PROJECT_ENTRIES):
            (purelib / entry.name).symlink_to(entry)


def copied_packages(world: Path, purelib: Path) -> None:
    """Another lock: `make setup` installs it in full, and pip replaces files, it never writes into
    them, so hard links keep the world's environment as it is."""
    shutil.rmtree(purelib)
    linked = subprocess.run(["cp", "-al", str(world), str(purelib)], capture_output=True, text=True)
    if linked.returncode != 0:  # another file system: a plain copy
        shutil.copytree(world, purelib, symlinks=True)


def setup_node() -> None:
    """The installed Node.js, named with the version the step asked for. The real action downloads
    an asked version the runner lacks, which it cannot do offline; here the job goes on with what is
    installed (the stand-ins' `cml` is no Node program) and the step says both, plainly."""
    wanted = inputs("node-version")
    node = shutil.which("node")
    if not node:
        raise StandInError(
            f"Node.js {wanted or '(any version)'} asked for (node-version), and no `node` is on this "
            "runner's PATH: install Node.js on the machine that runs the rehearsal"
        )
    have = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    asked = wanted.removeprefix("v").removesuffix(".x")
    if wanted and not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", asked):
        print(
            f"::warning::node-version {wanted!r} is not checked offline; using the installed Node.js {have}"
        )
    elif wanted and have.lstrip("v") != asked and not have.lstrip("v").startswith(f"{asked}."):
        print(
            f"::warning::the step asks for Node.js {wanted} (node-version); this runner has Node.js "
            f"{have} ({node}). The real action would download {wanted}, which cannot be done offline: "
            f"the job goes on with {have}. Install Node.js {wanted} to run it as asked."
        )
    print(f"Node.js {have}: {node} (asked for: {wanted or 'any'})")


def setup_terraform() -> None:
    wanted = inputs("terraform_version")
    terraform = shutil.which("terraform")
    if not terraform:
        raise StandInError(f"Terraform {wanted} is not installed on this runner")
    version = json.loads(
        subprocess.run([terraform, "version", "-json"], capture_output=True, text=True).stdout or "{}"
    ).get("terraform_version", "")
    if wanted and version != wanted:
        raise StandInError(f"Terraform {wanted} asked for; this runner has {version or 'an unknown version'}")
    print(f"Terraform {version}: {terraform}")


# --- aws-actions/configure-aws-credentials -------------------------------------------------------


def configure_aws_credentials() -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    role = inputs("role-to-assume")
    region = inputs("aws-region")
    if not role:
        raise StandInError("Input required and not supplied: role-to-assume")
    if not region:
        raise StandInError("Input required and not supplied: aws-region")
    request_url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not request_url or not request_token:
        raise StandInError(
            "It looks like you might be trying to authenticate with OIDC. Did you mean to set the "
            "`id-token` permission? Credentials could not be loaded"
        )
    audience = inputs("audience", "sts.amazonaws.com")
    token_request = urllib.request.Request(
        f"{request_url}&audience={audience}", headers={"Authorization": f"Bearer {request_token}"}
    )
    with urllib.request.urlopen(token_request, timeout=30) as answer:
        token = json.loads(answer.read())["value"]
    duration = int(inputs("role-duration-seconds", "3600"))
    sts = boto3.client("sts", region_name=region, config=Config(signature_version=UNSIGNED))
    try:
        credentials = sts.assume_role_with_web_identity(
            RoleArn=role,
            RoleSessionName=inputs("role-session-name", "GitHubActions"),
            WebIdentityToken=token,
            DurationSeconds=duration,
        )["Credentials"]
    except (BotoCoreError, ClientError) as error:
        raise StandInError(f"Could not assume role with OIDC: {error}") from None
    for name, value in (
        ("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", credentials["SessionToken"]),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
    ):
        print(f"::add-mask::{value}" if name.endswith(("KEY", "TOKEN")) else "", end="")
        write_env(name, value)
    print(f"Authenticated as assumedRoleId {role} for {duration} s")


# --- actions/cache, actions/upload-artifact --------------------------------------------------------


def _cache_dir() -> Path:
    path = Path(world()["root"], "caches")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_file(key: str) -> Path:
    return _cache_dir() / (hashlib.sha256(key.encode()).hexdigest() + ".tar")


def cache_restore() -> None:
    key = inputs("key")
    paths = [p for p in inputs("path").splitlines() if p.strip()]
    index_file = _cache_dir() / "index.json"
    index = json.loads(index_file.read_text(encoding="utf-8")) if index_file.is_file() else {}
    hit = key if key in index else None
    if not hit:
        for prefix in [p.strip() for p in inputs("restore-keys").splitlines() if p.strip()]:
            candidates = sorted((saved, k) for k, saved in index.items() if k.startswith(prefix))
            if candidates:
                hit = candidates[-1][1]
                break
    if hit:
        with tarfile.open(_cache_file(hit)) as archive:
            archive.extractall(os.environ["GITHUB_WORKSPACE"], filter="data")
        print(f"Cache restored from key: {hit}")
    else:
        print(f"Cache not found for input keys: {key}")
    set_output("cache-hit", "true" if hit == key else "false")
    # The post step saves unless the exact key was restored.
    with open(os.environ["GITHUB_STATE"], "a", encoding="utf-8") as state:
        state.write(f"PATHS={json.dumps(paths)}\nKEY={key}\nHIT={'true' if hit == key else 'false'}\n")


def cache_save() -> None:
    key = os.environ.get("STATE_KEY", "")
    if not key or os.environ.get("STATE_HIT") == "true":
        return
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    paths = [p for p in json.loads(os.environ.get("STATE_PATHS", "[]")) if (workspace / p).exists()]
    if not paths:
        print("Path Validation Error: no files at the cache paths; not saved")
        return
    with tarfile.open(_cache_file(key), "w") as archive:
        for path in paths:
            archive.add(workspace / path, arcname=path)
    index_file = _cache_dir() / "index.json"
    index = json.loads(index_file.read_text(encoding="utf-8")) if index_file.is_file() else {}
    index[key] = time.time()
    index_file.write_text(json.dumps(index), encoding="utf-8")
    print(f"Cache saved with key: {key}")


def upload_artifact() -> None:
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    name = inputs("name", "artifact")
    found = [workspace / p.strip() for p in inputs("path").splitlines() if (workspace / p.strip()).exists()]
    if not found:
        policy = inputs("if-no-files-found", "warn")
        message = (
            f"No files were found with the provided path: {inputs('path')}. No artifacts will be uploaded."
        )
        if policy == "error":
            raise StandInError(message)
        print(f"::warning::{message}" if policy == "warn" else message)
        return
    target = Path(world()["root"], "artifacts", os.environ.get("GITHUB_RUN_ID", "1"), name)
    target.mkdir(parents=True, exist_ok=True)
    for path in found:
        copy = shutil.copytree if path.is_dir() else shutil.copy2
        copy(path, target / path.name)
    print(f"Artifact {name} uploaded: {', '.join(p.name for p in found)}")


def download_artifact() -> None:
    """An artifact of this run, by name, into `path` (the files at its root land in `path`)."""
    name = inputs("name")
    if not name:
        raise StandInError("download-artifact (stand-in): only downloads by name (input `name`)")
    stored = Path(world()["root"], "artifacts", os.environ.get("GITHUB_RUN_ID", "1"), name)
    if not stored.is_dir():
        raise StandInError(f"Unable to download artifact(s): Artifact not found for name: {name}")
    target = Path(os.environ["GITHUB_WORKSPACE"], inputs("path", "."))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(stored, target, dirs_exist_ok=True)
    print(f"Artifact {name} downloaded: {', '.join(sorted(p.name for p in stored.iterdir()))}")


# --- the runner's CLIs: gh, cml, docker --------------------------------------------------------------


def jq(data: Any, expression: str) -> str:
    done = subprocess.run(
        ["jq", "-r", expression], input=json.dumps(data), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StandInError(f"jq {expression}: {done.stderr.strip()}")
    return done.stdout


def gh(argv: list[str]) -> int:
    """`gh api`, `gh pr list` and `gh pr create`, as the project calls them."""
    repository = os.environ.get("GH_REPO") or os.environ.get("GITHUB_REPOSITORY") or world()["repository"]
    try:
        match argv:
            case ["api", *rest]:
                return _gh_api(rest)
            case ["pr", "list", *rest]:
                options = _options(rest)
                state = options.get("--state", "open")
                head = options.get("--head", "")
                pulls = github_api("GET", f"repos/{repository}/pulls?state={state}&head={head}")
                print(jq(pulls, options["--jq"]) if "--jq" in options else json.dumps(pulls), end="")
                return 0
            case ["pr", "create", *rest]:
                options = _options(rest)
                pull = github_api(
                    "POST",
                    f"repos/{repository}/pulls",
                    {
                        "base": options.get("--base", "main"),
                        "head": options["--head"],
                        "title": options["--title"],
                        "body": options.get("--body", ""),
                    },
                )
                print(pull["html_url"])
                return 0
    except GitHubCallError as error:
        print(f"{error}", file=sys.stderr)
        return 1
    print(f"gh (stand-in): {' '.join(argv)} is not supported", file=sys.stderr)
    return 2


# Options of the CLIs above that take no value.
FLAGS = {"--no-publish", "--password-stdin", "--quiet", "-q", "--draft", "--fill"}


def _options(args: list[str]) -> dict[str, str]:
    """--name value, --name=value and flags; the first positional argument under ""."""
    options: dict[str, str] = {}
    key = None
    for arg in args:
        if key:
            options[key], key = arg, None
        elif arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            options[name] = value
        elif arg in FLAGS:
            options[arg] = "true"
        elif arg.startswith("-"):
            key = arg
        else:
            options.setdefault("", arg)
    return options


def _gh_api(args: list[str]) -> int:
    method, path, expression, fields, raw_input = "GET", "", "", {}, None
    iterator = iter(args)
    for arg in iterator:
        if arg in ("--method", "-X"):
            method = next(iterator)
        elif arg in ("--jq", "-q"):
            expression = next(iterator)
        elif arg in ("-f", "--raw-field", "-F", "--field"):
            name, value = next(iterator).split("=", 1)
            fields[name] = (
                json.loads(value) if arg in ("-F", "--field") and value in ("true", "false") else value
            )
        elif arg == "--input":
            source = next(iterator)
            raw_input = json.loads(sys.stdin.read() if source == "-" else Path(source).read_text())
        elif arg.startswith("-"):
            raise StandInError(f"gh api (stand-in): option {arg} is not supported")
        else:
            path = arg
    body = raw_input if raw_input is not None else (fields or None)
    if body is not None and method == "GET":
        method = "POST"
    answer = github_api(method, path, body)
    if answer is not None:  # gh prints nothing for a 204 No Content
        print(jq(answer, expression) if expression else json.dumps(answer), end="")
    return 0


def cml(argv: list[str]) -> int:
    """`cml comment update --target=pr[/N] --watermark-title=T [--no-publish] FILE` and --version."""
    if argv in (["--version"], ["-V"]):
        print(CML_VERSION)
        return 0
    if argv[:2] != ["comment", "update"]:
        print(f"cml (stand-in): {' '.join(argv)} is not supported", file=sys.stderr)
        return 2
    options = _options(argv[2:])
    target = options.get("--target", "pr")
    title = options.get("--watermark-title", "")
    report = Path(options[""]).read_text(encoding="utf-8")
    repository = os.environ["GITHUB_REPOSITORY"]
    token = os.environ.get("REPO_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if target.startswith("pr/"):
        number = int(target.split("/", 1)[1])
    else:
        event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        number = int((event.get("pull_request") or {}).get("number") or 0)
        if not number:
            print("cml: no pull request for this commit", file=sys.stderr)
            return 1
    watermark = f'![](https://cml.dev/watermark.png "CML watermark {title}")'
    body = f"{report}\n\n{watermark}"
    try:
        comments = github_api("GET", f"repos/{repository}/issues/{number}/comments", token=token)
        mine = [c for c in comments if watermark in c["body"]]
        if mine:
            github_api("PATCH", f"repos/{repository}/issues/comments/{mine[-1]['id']}", {"body": body}, token)
        else:
            github_api("POST", f"repos/{repository}/issues/{number}/comments", {"body": body}, token)
    except GitHubCallError as error:
        print(f"cml: {error}", file=sys.stderr)
        return 1
    print(f"https://github.com/{repository}/pull/{number}#comment")
    return 0


def docker(argv: list[str]) -> int:
    """`docker build`, `login --password-stdin` and `push`, with no engine."""
    store = Path(world()["root"], "docker")
    (store / "images").mkdir(parents=True, exist_ok=True)
    # One record file per image: jobs of two environments build side by side.
    images = {
        record["tag"]: record
        for record in (json.loads(f.read_text(encoding="utf-8")) for f in (store / "images").glob("*.json"))
    }
    match argv:
        case ["--version"]:
            print("Docker version 28.2.2 (stand-in: no engine; builds are recorded, pushes go to ECR)")
            return 0
        case ["info", *_]:  # `make setup-cloud` asks whether an engine answers before building
            print("Server: stand-in (builds are recorded, pushes go to the local cloud's ECR)")
            return 0
        case ["build", *rest]:
            options = _options(rest)
            dockerfile = Path(options.get("--file") or options.get("-f") or "Dockerfile")
            if not dockerfile.is_file():
                print(f"ERROR: failed to read dockerfile: open {dockerfile}: no such file", file=sys.stderr)
                return 1
            tag = options.get("--tag") or options.get("-t")
            record = {
                "tag": tag,
                "dockerfile": str(dockerfile),
                "platform": options.get("--platform", ""),
                "digest": "sha256:" + hashlib.sha256(dockerfile.read_bytes() + tag.encode()).hexdigest(),
            }
            name = hashlib.sha256(tag.encode()).hexdigest()
            (store / "images" / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
            print(f"built {tag} from {dockerfile} (recorded; no engine)")
            return 0
        case ["login", *rest]:
            flags_with_values = {"--username", "-u", "--password", "-p"}
            registry = [
                arg
                for i, arg in enumerate(rest)
                if not arg.startswith("-") and (i == 0 or rest[i - 1] not in flags_with_values)
            ]
            password = sys.stdin.read().strip() if "--password-stdin" in rest else ""
            if not password or len(registry) != 1:
                print("Error: Cannot perform an interactive login from a non TTY device", file=sys.stderr)
                return 1
            (store / "logins").mkdir(exist_ok=True)
            (store / "logins" / registry[0]).write_text(password, encoding="utf-8")
            print("Login Succeeded")
            return 0
        case ["push", uri]:
            return _docker_push(uri, images, store)
    print(f"docker (stand-in): {' '.join(argv)} is not supported", file=sys.stderr)
    return 2


def _docker_push(uri: str, images: dict[str, Any], store: Path) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from textclf.localcloud import put_image_manifest

    registry, _, rest = uri.partition("/")
    repository, _, tag = rest.rpartition(":")
    if uri not in images:
        print(f"An image does not exist locally with the tag: {uri}", file=sys.stderr)
        return 1
    if not (store / "logins" / registry).is_file():
        print(f"denied: no basic auth credentials for {registry} (docker login first)", file=sys.stderr)
        return 1
    ecr = boto3.client("ecr")
    try:
        put_image_manifest(ecr, repository, tag)
    except (BotoCoreError, ClientError) as error:
        print(f"denied: {error}", file=sys.stderr)
        return 1
    print(f"{tag}: digest: {images[uri]['digest']} pushed to {registry}/{repository}")
    return 0


ACTIONS = {
    "checkout": checkout,
    "setup-python": setup_python,
    "setup-node": setup_node,
    "setup-terraform": setup_terraform,
    "configure-aws-credentials": configure_aws_credentials,
    "cache-restore": cache_restore,
    "cache-save": cache_save,
    "upload-artifact": upload_artifact,
    "download-artifact": download_artifact,
}
COMMANDS = {"gh": gh, "cml": cml, "docker": docker}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ACTIONS:
        ACTIONS[argv[0]]()
        return 0
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
