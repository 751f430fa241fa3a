"""`make github-settings`: the repository settings the template's security relies on, applied and
read back through the GitHub API (`gh api`; the token needs the repository's administration rights).

Review cannot be skipped: merged code runs as the release roles, so one writer alone must not be
able to get code onto the release branch.

1. The OIDC subject includes the ref (`include_claim_keys: repo, context, ref`): a job bound to
   `production` on any other branch gets a subject no release trust policy accepts (terraform/iam.tf).
   REST: PUT /repos/{repo}/actions/oidc/customization/sub.
2. The release branch is protected: pull requests only, one approval that is not the last pusher's
   own (`require_last_push_approval`), stale approvals dismissed, a code owner's approval for what
   `.github/CODEOWNERS` lists (workflows, Makefile, mk/, terraform/, deploy/, the release and
   training code), the PR checks green *as reported by the GitHub Actions app* (app_id 15368: a
   commit status of the same name that anyone with write access can post does not count) on a head
   that is up to date with the branch (`strict`, "Require branches to be up to date before
   merging": what was checked and trained is what the merge produces), no force pushes or
   deletion, administrators included. REST: PUT /repos/{repo}/branches/{branch}/protection.
   The CODEOWNERS file must exist on the branch and parse (GET /repos/{repo}/codeowners/errors).
3. Workflows' GITHUB_TOKEN is read-only by default and GitHub Actions may never approve (or create)
   pull requests (OpenSSF Scorecard, Token-Permissions): the retraining and promotion pull
   requests are opened with the RETRAIN_TOKEN secret (a GitHub App or fine-grained token), whose
   pull requests run their checks and still need a human's approval.
   REST: PUT /repos/{repo}/actions/permissions/workflow.
4. Fork pull requests get no write token, secrets or variables, and need an approval to run
   (private and internal repositories; public ones give forks a read-only token and no secrets
   anyway). REST: PUT /repos/{repo}/actions/permissions/fork-pr-workflows-private-repos.
5. Environments `production`, `production-infra`, `staging` and `batch`: deployments from the
   release branch only; production's required reviewers (no self-review) where the plan offers them.
   release.yml's production-infra job (production's Terraform apply and main's images, on every
   push) has an environment of its own that never has reviewers: bound to `production`, it would
   wait for an approval on every push where production has reviewers, and pull requests would find
   no training image meanwhile. Production's release role trusts its subject, the promote role does
   not (terraform/iam.tf, github_infra_environments); one that reads back with reviewers or a wait
   timer is refused. batch.yml's job has an environment of its own (no reviewers): a batch run
   scores with the production model but changes nothing, and the batch role trusts only that
   environment's subject (terraform/batch.tf).
   Environment `retrain`: retrain.yml's job that opens the retraining pull request (main only, no
   reviewers). REST: PUT /repos/{repo}/environments/{name} and its deployment-branch-policies.
6. The bot token RETRAIN_TOKEN is an environment secret of `retrain`, `staging` and `production`
   (the jobs that open pull requests), never a repository secret: GitHub gives a repository secret
   to every workflow a writer's branch runs, pull requests' included, while an environment's
   secrets reach only jobs that reference the environment and pass its deployment branch policy
   (GitHub Docs, "Using environments for deployment"). A repository secret of that name is refused
   (delete it); a missing environment secret is reported as a step left to do.
   REST: GET /repos/{repo}/actions/secrets/{name}, .../environments/{env}/secrets/{name}.

What the repository's plan offers (GitHub Docs, "Using environments for deployment" and "About
protected branches"): public repositories get everything on every plan. Private and internal ones
get branch protection (with code owners) and environments with deployment branch policies on Pro,
Team and Enterprise, and environment protection rules such as required reviewers on Enterprise
only. The plan is read from the API (the organisation's, or the owner's own account); a setting the
plan does not offer is reported, not failed: production then moves only by a reviewed pull request
to deploy/production.yaml, which branch protection and code owners guard on Pro and Team.

Every setting that is applied is read back and compared; a difference is an error naming it.

Before any call, the inputs are checked: the repository as OWNER/NAME, the branch and environment
names, the reviewers' logins (each in the characters GitHub allows, so none can change the API path
it is put into), and the local CODEOWNERS file (`.github/CODEOWNERS` from the repository root: a
readable UTF-8 file under GitHub's 3 MB limit, each rule a pattern and owners, an owner for each
path above). A refusal names the input and what to do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from textclf import atomic

CLAIM_KEYS = ["repo", "context", "ref"]
# The bot token the retraining and production pull requests are opened with (docs/workflows.md).
BOT_SECRET = "RETRAIN_TOKEN"
# The PR workflow's checks that must pass before a merge (the jobs' names in .github/workflows/pr.yml).
# "what the PR changes" too: if it failed, the train job would be skipped, and a skipped required
# job counts as passed, so an untrained PR could merge.
REQUIRED_CHECKS = ["what the PR changes", "lint and fast tests", "slow tests", "train, report and gate"]
# The GitHub Actions app: a required check bound to it is satisfied only by a check run that a
# workflow reported (REST, branch protection: required_status_checks.checks[].app_id).
GITHUB_ACTIONS_APP_ID = 15368
# The environment of release.yml's production-infra job: production's Terraform apply and main's
# images on every push, never held by production's approvals (terraform github_infra_environments).
INFRA_ENVIRONMENT = "production-infra"
PAID_PLANS = {"pro", "team", "enterprise", "business"}  # business: GitHub Enterprise Cloud's older name
ENTERPRISE_PLANS = {"enterprise", "business"}


# GitHub account and organisation names: letters, digits and single hyphens, not at either end, at
# most 39 characters; repository names: letters, digits, `.`, `_`, `-`, at most 100.
LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
REPOSITORY = re.compile(rf"{LOGIN.pattern}/[A-Za-z0-9._-]{{1,100}}")
# A branch name git accepts (`git check-ref-format --branch`), in the characters a branch of a
# release is written in: no `..`, `//`, `@{`, leading `-` or `/`, trailing `/`, `.` or `.lock`.
BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}")
# Environment names: at most 255 characters (GitHub Docs, "Managing environments for deployment").
ENVIRONMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 ._-]{0,254}")
CODEOWNERS = ".github/CODEOWNERS"
# "CODEOWNERS files must be under 3 MB in size. A CODEOWNERS file over this limit will not be
# loaded" (GitHub Docs, "About code owners", https://docs.github.com/en/repositories/
# managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners).
CODEOWNERS_MAX_BYTES = 3 * 1024 * 1024
# What merged code runs with the release roles from (issue 25): each needs a code owner.
OWNED_PATHS = (
    ".github/workflows/release.yml",
    "Makefile",
    "mk/ci.mk",
    "terraform/main.tf",
    "deploy/production.yaml",
    "src/textclf/release/promote.py",
    "src/textclf/training/sagemaker.py",
)
# An owner: @user, @org/team or an email address.
OWNER = re.compile(r"@[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+")


class SettingsError(RuntimeError):
    """A setting could not be applied or reads back differently; the message names it."""


@dataclass
class Settings:
    repository: str  # owner/name
    reviewers: list[str]  # GitHub user logins who approve production deployments (where offered)
    environment: str = "production"
    branch: str = "main"
    # release.yml's production-infra job (terraform github_infra_environments): never reviewers.
    infra_environment: str = INFRA_ENVIRONMENT
    staging_environment: str = "staging"
    batch_environment: str = "batch"  # batch.yml's job (terraform github_batch_environment)
    retrain_environment: str = "retrain"  # retrain.yml's pull request job: the bot token's only
    # Kept so that an old invocation fails with a reason: Actions never approve pull requests.
    allow_actions_prs: bool = False
    required_checks: list[str] = field(default_factory=lambda: list(REQUIRED_CHECKS))
    # The CODEOWNERS file the branch protection relies on, read before anything is set.
    codeowners: Path = Path(CODEOWNERS)


@dataclass(frozen=True)
class Plan:
    """What the repository's visibility and its owner's plan offer."""

    visibility: str  # public, private, internal
    name: str | None  # free, pro, team, enterprise; None when the API does not say

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    @property
    def branch_protection(self) -> bool:
        # An unknown plan is tried: GitHub refuses the call if the plan does not offer it.
        return self.public or self.name in PAID_PLANS or self.name is None

    @property
    def environments(self) -> bool:
        return self.public or self.name in PAID_PLANS or self.name is None

    @property
    def environment_reviewers(self) -> bool:
        return self.public or self.name in ENTERPRISE_PLANS

    def __str__(self) -> str:
        return f"{self.visibility} repository on {self.name or 'an unknown plan'}"


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)  # set and read back, one line each
    unavailable: list[str] = field(default_factory=list)  # not offered by the plan, one line each
    todo: list[str] = field(default_factory=list)  # what only a person can do (a secret's value)


Gh = Callable[..., Any]


def gh_api(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Gh:
    """`gh api` as a function: (method, path, body or None) -> parsed JSON."""

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        command = ["gh", "api", "--method", method, path]
        if body is not None:
            command += ["--input", "-"]
        try:
            done = run(
                command,
                input=json.dumps(body) if body is not None else None,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except FileNotFoundError:
            raise SettingsError(
                "the GitHub CLI (gh) is not installed; install it and `gh auth login`"
            ) from None
        except subprocess.TimeoutExpired:
            raise SettingsError(f"gh api {method} {path}: no answer within 60 s; retry") from None
        if done.returncode != 0:
            raise SettingsError(f"gh api {method} {path}: {done.stderr.strip()[:500] or 'failed'}")
        try:
            return json.loads(done.stdout) if done.stdout.strip() else {}
        except ValueError:
            raise SettingsError(
                f"gh api {method} {path}: the answer is not JSON ({done.stdout.strip()[:100]!r}); "
                "check `gh api` works with this token"
            ) from None

    return call


def apply(settings: Settings, gh: Gh, report: Callable[[str], None] | None = None) -> list[str]:
    """Apply every setting the plan offers and read each back; returns what was set, one line
    each. What the plan does not offer goes to `report` (stderr by default), prefixed "not offered"."""
    outcome = apply_settings(settings, gh)
    say = report or (lambda line: print(line, file=sys.stderr))
    for line in outcome.unavailable:
        say(f"not offered by the plan: {line}")
    for line in outcome.todo:
        say(f"to do: {line}")
    return outcome.applied


def _objects(gh: Gh) -> Gh:
    """`gh`, refusing an answer that is not a JSON object where the settings read one."""

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = gh(method, path, body)
        if not isinstance(answer, dict):
            raise SettingsError(
                f"gh api {method} {path}: expected a JSON object, got {type(answer).__name__} "
                f"({json.dumps(answer)[:100]}); check the repository and the token"
            )
        return answer

    return call


def check_repository(repository: str, how: str = "pass --repository or set GITHUB_REPOSITORY") -> None:
    """OWNER/NAME in the characters GitHub allows (so it cannot change an API path it is put into)."""
    name = repository.partition("/")[2]
    if not REPOSITORY.fullmatch(repository) or name in (".", ".."):
        raise SettingsError(
            f"repository {repository[:120]!r} must be OWNER/NAME (letters, digits and hyphens "
            "for the owner; letters, digits, '.', '_' and '-' for the name), such as acme/text-classifier: "
            + how
        )


def check_inputs(settings: Settings) -> None:
    """The names the settings put into API paths, in the characters GitHub allows for them."""
    check_repository(settings.repository)
    branch = settings.branch
    if (
        not BRANCH.fullmatch(branch)
        or ".." in branch
        or "//" in branch
        or branch.endswith(("/", ".", ".lock"))
        or "/." in branch
    ):
        raise SettingsError(
            f"branch {branch[:120]!r} is not a branch name git accepts (letters, digits, '.', '_', '-' "
            "and '/' between parts; no '..'): pass --branch main or your release branch"
        )
    for flag, environment in (
        ("--environment", settings.environment),
        ("production-infra", settings.infra_environment),
        ("staging", settings.staging_environment),
        ("batch", settings.batch_environment),
        ("retrain", settings.retrain_environment),
    ):
        if not ENVIRONMENT.fullmatch(environment) or environment.strip() != environment:
            raise SettingsError(
                f"environment {environment[:120]!r} ({flag}) must be 1-255 letters, digits, spaces, '.', "
                "'_' or '-'"
            )
    names = environment_names(settings)
    if len({name.lower() for name in names}) < len(names):
        raise SettingsError(
            f"environments {', '.join(map(repr, names))} (production, production-infra, staging, batch, "
            "retrain) must "
            "differ: each needs its own (environment names are not case-sensitive)"
        )
    for login in settings.reviewers:
        if not LOGIN.fullmatch(login):
            raise SettingsError(
                f"reviewer {login[:120]!r} is not a GitHub login (letters, digits and single hyphens): "
                "pass --reviewers alice,bob"
            )


def check_codeowners(path: Path) -> None:
    """The local CODEOWNERS file: readable, a file, under GitHub's size limit, UTF-8, each rule a
    pattern and owners, and an owner for each of OWNED_PATHS (the last matching rule decides)."""
    where = f"{path} (CODEOWNERS)"
    commit = f"commit the template's {CODEOWNERS} with your owners, and run from the repository root"
    try:
        if not path.exists():
            raise SettingsError(f"{where}: not found; {commit}")
        if not path.is_file():
            raise SettingsError(f"{where}: not a file; {commit}")
        size = path.stat().st_size
        if size >= CODEOWNERS_MAX_BYTES:
            raise SettingsError(
                f"{where}: {size:,} bytes; GitHub does not load a CODEOWNERS file of 3 MB or more: "
                "use directory patterns and teams to shorten it"
            )
        data = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{where}: cannot be read ({error.strerror})") from None
    text = atomic.decode_utf8(data, where, SettingsError)
    rules: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not parts:
            continue
        pattern, owners = parts[0], parts[1:]
        unsupported = _unsupported_pattern(pattern)
        if unsupported:
            raise SettingsError(
                f"{where}: line {number}: the pattern {pattern[:60]!r} uses {unsupported} (GitHub "
                'Docs, "About code owners"): write it with /, * and ** only'
            )
        bad = [owner for owner in owners if not OWNER.fullmatch(owner)]
        if bad or "\0" in line:
            raise SettingsError(
                f"{where}: line {number}: {bad[0][:60] if bad else 'a NUL byte'!r} is not an owner "
                "(@user, @org/team or an email address); GitHub skips such a line"
            )
        rules.append((pattern, owners))
    unowned = [target for target in OWNED_PATHS if not owners_of(rules, target)]
    if unowned:
        raise SettingsError(
            f"{where}: no owner for {', '.join(unowned)}: code-owner review would require nobody there; "
            "keep the template's rules for /.github/, /Makefile, /mk/, /terraform/, /deploy/, "
            "/src/textclf/release/ and /src/textclf/training/"
        )


def owners_of(rules: list[tuple[str, list[str]]], target: str) -> list[str]:
    """The owners of `target` by the last rule whose pattern matches it (GitHub's order)."""
    found: list[str] = []
    for pattern, owners in rules:
        if _matches(pattern, target):
            found = owners
    return found


def _matches(pattern: str, target: str) -> bool:
    """A CODEOWNERS pattern against a file path, as GitHub reads it (gitignore's rules with the
    exceptions "About code owners" lists, https://docs.github.com/en/repositories/
    managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
    `*` and `?` never cross `/` ("The `docs/*` pattern will match files like
    `docs/getting-started.md` but not further nested files like `docs/build-app/troubleshooting.md`");
    `**` spans folders; a pattern with a `/` at its start or middle is relative to the root, one
    without matches at any depth; a name or `name/` owns everything in the folder it names, a last
    segment that is only `*` its direct children only."""
    return _pattern_regex(pattern).fullmatch(target) is not None


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    if pattern == "/":
        return re.compile(r"(?!)")
    segments = pattern.split("/")
    if segments[0] == "":
        segments = segments[1:]  # `/x`: relative to the root
    elif (len(segments) == 1 or segments[1:] == [""]) and segments[0] != "**":
        segments = ["**", *segments]  # `x` or `x/`: at any depth
    if len(segments) > 1 and segments[-1] == "":
        segments[-1] = "**"  # `x/`: everything in the folder
    last = len(segments) - 1
    parts: list[str] = []
    slash = False  # whether the next segment needs a `/` before it
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == 0:
                parts.append(".+" if index == last else "(?:.+/)?")
                slash = False
            elif index == last:
                parts.append("/.*")
            else:
                parts.append("(?:/.+)?")
                slash = True
            continue
        if slash:
            parts.append("/")
        slash = True
        if segment == "*":
            parts.append("[^/]+")  # a whole segment: one level, nothing below it
            continue
        for character in segment:
            parts.append({"*": "[^/]*", "?": "[^/]"}.get(character) or re.escape(character))
        if index == last:
            parts.append("(?:/.*)?")  # a folder's name owns what is in it
    return re.compile("".join(parts))


# Lines GitHub does not read as gitignore would ("About code owners": "Escaping a pattern starting
# with `#` using `\` ... Using `!` to negate a pattern ... Using `[ ]` to define a character range"
# do not work; GitHub reports such a file as containing errors).
def _unsupported_pattern(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return "a `!` negation, which CODEOWNERS does not support"
    if "[" in pattern or "]" in pattern:
        return "a `[ ]` character range, which CODEOWNERS does not support"
    if "\\" in pattern:
        return "a `\\` escape, which CODEOWNERS does not support"
    if "***" in pattern:
        return "three asterisks in a row"
    return None


def apply_settings(settings: Settings, gh: Gh) -> Outcome:
    check_inputs(settings)
    if settings.allow_actions_prs:
        raise SettingsError(
            "GitHub Actions may not create or approve pull requests (a workflow's token could approve "
            "its own pull request): the retraining and promotion pull requests use the RETRAIN_TOKEN "
            "secret instead (docs/workflows.md); drop --allow-actions-prs"
        )
    check_codeowners(Path(settings.codeowners))
    try:
        return _apply(settings, _objects(gh))
    except (AttributeError, KeyError, TypeError) as error:  # an answer of another shape, deeper in
        raise SettingsError(
            f"the GitHub API answered in a shape this command does not read ({type(error).__name__}: "
            f"{str(error)[:200]}); check the repository name, the token's rights and gh's version"
        ) from None


def _apply(settings: Settings, gh: Gh) -> Outcome:
    repo = f"repos/{settings.repository}"
    plan = detect_plan(gh, settings.repository)
    if plan.environment_reviewers and not settings.reviewers:
        raise SettingsError(
            f"name at least one reviewer (--reviewers) for the {settings.environment} environment "
            f"({plan} offers environment reviewers)"
        )
    outcome = Outcome()
    _no_repository_secret(gh, repo, settings, outcome)  # before any change: a refusal leaves all as it was

    gh(
        "PUT",
        f"{repo}/actions/oidc/customization/sub",
        {"use_default": False, "include_claim_keys": CLAIM_KEYS},
    )
    sub = gh("GET", f"{repo}/actions/oidc/customization/sub")
    _expect(sub.get("include_claim_keys") == CLAIM_KEYS and not sub.get("use_default"), "OIDC subject", sub)
    outcome.applied.append(f"OIDC subject: {', '.join(CLAIM_KEYS)}")

    _protect_branch(gh, repo, settings, plan, outcome)
    _workflow_permissions(gh, repo, outcome)
    _fork_pull_requests(gh, repo, plan, outcome)
    _environments(gh, repo, settings, plan, outcome)
    _bot_secret(gh, repo, settings, plan, outcome)
    return outcome


def bot_environments(settings: Settings) -> tuple[str, ...]:
    """The environments whose jobs open pull requests with the bot token, and hold it."""
    return (settings.retrain_environment, settings.staging_environment, settings.environment)


def _no_repository_secret(gh: Gh, repo: str, settings: Settings, outcome: Outcome) -> None:
    """RETRAIN_TOKEN as a repository secret is refused (every branch's workflows could read it)."""
    where = ", ".join(bot_environments(settings))
    if _secret_exists(gh, f"{repo}/actions/secrets/{BOT_SECRET}", outcome, "repository secrets"):
        raise SettingsError(
            f"{settings.repository} has a repository secret {BOT_SECRET}: GitHub passes repository "
            "secrets to the workflows of every branch a writer pushes, pull requests' included, so any "
            "writer could read the bot token and approve their own pull request with it. Set it in the "
            f"environments {where} instead (`gh secret set {BOT_SECRET} --env <name> --repo "
            f"{settings.repository}`, each main only), then delete the repository secret "
            f"(`gh secret delete {BOT_SECRET} --repo {settings.repository}`) and run this again"
        )


def check_bot_secret(settings: Settings, gh: Gh) -> Outcome:
    """The bot token's place alone (make setup-cloud's dry run): a repository secret refused, each
    bot environment's secret found or left to do."""
    check_repository(settings.repository)
    outcome, repo = Outcome(), f"repos/{settings.repository}"
    _no_repository_secret(gh, repo, settings, outcome)
    _bot_secret(gh, repo, settings, Plan("private", None), outcome)
    return outcome


def _bot_secret(gh: Gh, repo: str, settings: Settings, plan: Plan, outcome: Outcome) -> None:
    """RETRAIN_TOKEN in each bot environment, or a step to do."""
    where = ", ".join(bot_environments(settings))
    if not plan.environments:
        return  # no environments: reported above; the token then has no safe place in this plan
    missing = [
        name
        for name in bot_environments(settings)
        if not _secret_exists(
            gh,
            f"{repo}/environments/{quote(name, safe='')}/secrets/{BOT_SECRET}",
            outcome,
            f"{name}'s secrets",
        )
    ]
    if missing:
        outcome.todo.append(
            f"set the bot token {BOT_SECRET} as a secret of the environment(s) {', '.join(missing)} "
            f"(`gh secret set {BOT_SECRET} --env <name> --repo {settings.repository}`), not as a repository "
            "secret: only jobs of those environments, on main, may read it (docs/workflows.md, "
            "'The bot token')"
        )
    else:
        outcome.applied.append(f"secret {BOT_SECRET}: in environments {where} only, no repository secret")


def _secret_exists(gh: Gh, path: str, outcome: Outcome, what: str) -> bool:
    """Whether GET `path` finds the secret (its name only: values are never readable). 404: no. A
    token that may not read secrets cannot tell: said as a step to check by hand."""
    try:
        gh("GET", path)
    except SettingsError as error:
        if "404" in str(error) or "Not Found" in str(error):
            return False
        outcome.todo.append(
            f"check {what} by hand (this token cannot read them: {str(error)[:160]}): {BOT_SECRET} must be "
            "an environment secret only"
        )
        return False
    return True


def detect_plan(gh: Gh, repository: str) -> Plan:
    """The repository's visibility and its owner's plan: an organisation's plan (GET /orgs/{org},
    shown to its owners), or the account's own (GET /user, when the token is the owner's)."""
    found = gh("GET", f"repos/{repository}")
    visibility = str(found.get("visibility") or ("private" if found.get("private") else "public"))
    owner = found.get("owner") or {}
    plan = None
    if owner.get("type") == "Organization":
        plan = (gh("GET", f"orgs/{owner.get('login')}").get("plan") or {}).get("name")
    else:
        user = gh("GET", "user")
        if user.get("login") == owner.get("login"):
            plan = (user.get("plan") or {}).get("name")
    return Plan(visibility, str(plan).lower() if plan else None)


def _protect_branch(gh: Gh, repo: str, settings: Settings, plan: Plan, outcome: Outcome) -> None:
    if not plan.branch_protection:
        raise SettingsError(
            f"branch protection is not offered for a {plan} (GitHub Pro, Team or Enterprise, or a "
            "public repository): without it one writer can merge unreviewed code that then runs as the "
            "release roles; upgrade the plan or make the repository public"
        )
    try:
        codeowners = gh("GET", f"{repo}/codeowners/errors?ref={quote(settings.branch, safe='')}")
    except SettingsError as error:
        if "404" not in str(error):
            raise
        raise SettingsError(
            f"no CODEOWNERS file on {settings.branch} (.github/CODEOWNERS): a code owner's review would "
            "require nobody; commit the template's file first"
        ) from None
    if not isinstance(codeowners.get("errors", []), list):
        raise SettingsError(f"CODEOWNERS on {settings.branch}: the API's errors are not a list")
    if codeowners.get("errors"):
        raise SettingsError(
            f"CODEOWNERS on {settings.branch} has errors: {json.dumps(codeowners['errors'])[:500]}"
        )
    protection = f"{repo}/branches/{settings.branch}/protection"
    checks = [{"context": name, "app_id": GITHUB_ACTIONS_APP_ID} for name in settings.required_checks]
    gh(
        "PUT",
        protection,
        {
            "required_status_checks": {"strict": True, "checks": checks},
            "enforce_admins": True,
            "required_pull_request_reviews": {
                "required_approving_review_count": 1,
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "require_last_push_approval": True,
            },
            "restrictions": None,
            "allow_force_pushes": False,
            "allow_deletions": False,
        },
    )
    read = gh("GET", protection)
    bound = {
        (c.get("context"), c.get("app_id"))
        for c in (read.get("required_status_checks") or {}).get("checks") or []
    }
    reviews = read.get("required_pull_request_reviews") or {}
    _expect(
        {(c["context"], c["app_id"]) for c in checks} <= bound
        and (read.get("required_status_checks") or {}).get("strict") is True
        and reviews.get("required_approving_review_count", 0) >= 1
        and reviews.get("dismiss_stale_reviews") is True
        and reviews.get("require_code_owner_reviews") is True
        and reviews.get("require_last_push_approval") is True
        and (read.get("enforce_admins") or {}).get("enabled") is True,
        f"protection of {settings.branch}",
        read,
    )
    outcome.applied.append(
        f"branch {settings.branch}: pull requests with 1 approval other than the last pusher's, code "
        f"owners' review, checks {settings.required_checks} from GitHub Actions (app "
        f"{GITHUB_ACTIONS_APP_ID}) on a head up to date with {settings.branch}, admins included"
    )


def _workflow_permissions(gh: Gh, repo: str, outcome: Outcome) -> None:
    gh(
        "PUT",
        f"{repo}/actions/permissions/workflow",
        {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
    )
    permissions = gh("GET", f"{repo}/actions/permissions/workflow")
    _expect(
        permissions.get("default_workflow_permissions") == "read"
        and permissions.get("can_approve_pull_request_reviews") is False,
        "workflow permissions",
        permissions,
    )
    outcome.applied.append("workflow token read-only; GitHub Actions may not create or approve pull requests")


def _fork_pull_requests(gh: Gh, repo: str, plan: Plan, outcome: Outcome) -> None:
    if plan.public:  # GitHub gives fork pull requests a read-only token and no secrets
        outcome.applied.append(
            "fork pull requests: read-only token and no secrets (GitHub's rule for public repositories)"
        )
        return
    wanted = {
        "run_workflows_from_fork_pull_requests": True,
        "send_write_tokens_to_workflows": False,
        "send_secrets_and_variables": False,
        "require_approval_for_fork_pr_workflows": True,
    }
    path = f"{repo}/actions/permissions/fork-pr-workflows-private-repos"
    gh("PUT", path, wanted)
    read = gh("GET", path)
    _expect(all(read.get(key) == value for key, value in wanted.items()), "fork pull request workflows", read)
    outcome.applied.append("fork pull requests: no write token, no secrets or variables, approval to run")


def environment_names(settings: Settings) -> list[str]:
    """Every environment the settings create, production's first."""
    return [
        settings.environment,
        settings.infra_environment,
        settings.staging_environment,
        settings.batch_environment,
        settings.retrain_environment,
    ]


def _environments(gh: Gh, repo: str, settings: Settings, plan: Plan, outcome: Outcome) -> None:
    names = environment_names(settings)
    if not plan.environments:
        outcome.unavailable.append(
            f"environments {', '.join(names)} (a {plan}: GitHub Pro, Team or Enterprise): jobs bound to "
            "them run without deployment branch policies; the release trust policies still require main"
        )
        return
    reviewers = settings.reviewers if plan.environment_reviewers else []
    ids = [_user_id(gh, login) for login in reviewers]
    _set_environment(gh, repo, settings.environment, settings.branch, ids)
    if ids:
        outcome.applied.append(
            f"environment {settings.environment}: branch {settings.branch} only, reviewers {reviewers}, "
            "no self-review"
        )
    else:
        outcome.applied.append(f"environment {settings.environment}: branch {settings.branch} only")
        why = "GitHub Enterprise for private and internal repositories"
        if plan.name is None:
            why += "; the token cannot read the plan, so none were set"
        outcome.unavailable.append(
            f"required reviewers of environment {settings.environment} (a {plan}: {why}): production "
            f"moves by a reviewed pull request to deploy/{settings.environment}.yaml, guarded by branch "
            "protection and code owners"
        )
    _set_environment(gh, repo, settings.infra_environment, settings.branch, [])
    _no_protection_rules(gh, repo, settings)
    outcome.applied.append(
        f"environment {settings.infra_environment}: branch {settings.branch} only, no reviewers "
        f"(release.yml's production-infra job: {settings.environment}'s Terraform apply and images on "
        f"every push, never waiting for {settings.environment}'s approval; its subject opens the release "
        "role only)"
    )
    for name in (settings.staging_environment, settings.batch_environment, settings.retrain_environment):
        _set_environment(gh, repo, name, settings.branch, [])
        outcome.applied.append(f"environment {name}: branch {settings.branch} only, no reviewers")


def _no_protection_rules(gh: Gh, repo: str, settings: Settings) -> None:
    """The infra environment holds no job: required reviewers or a wait timer someone added there
    would hold every push's images, so pull requests would find no training image (GitHub Docs,
    "Using environments for deployment": a job referencing an environment is sent to a runner only
    after its protection rules pass). Refused, naming where to remove them."""
    name = settings.infra_environment
    read = gh("GET", f"{repo}/environments/{quote(name, safe='')}")
    held = sorted(
        str(rule.get("type"))
        for rule in read.get("protection_rules") or []
        if rule.get("type") not in ("branch_policy", None)
        and (rule.get("type") != "wait_timer" or rule.get("wait_timer"))
    )
    if held:
        raise SettingsError(
            f"environment {name} has protection rules ({', '.join(held)}): release.yml's production-infra "
            f"job would wait on every push to {settings.branch} and pull requests would fail 'not in ECR' "
            f"meanwhile; remove them (Settings > Environments > {name}; {settings.environment}'s reviewers "
            "stay on the production job) and run this again"
        )


def _user_id(gh: Gh, login: str) -> int:
    user = gh("GET", f"users/{login}")
    if not isinstance(user.get("id"), int):
        raise SettingsError(f"reviewer {login!r}: no such GitHub user")
    return user["id"]


def _set_environment(gh: Gh, repo: str, name: str, branch: str, ids: list[int]) -> None:
    """Environment `name`: deployments from `branch` only, the reviewers `ids` (none: no review)."""
    environment = f"{repo}/environments/{quote(name, safe='')}"
    body: dict[str, Any] = {
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    if ids:  # a protection rule: only sent where the plan offers it
        body |= {
            "reviewers": [{"type": "User", "id": user_id} for user_id in ids],
            "prevent_self_review": True,
        }
    gh("PUT", environment, body)
    policies = gh("GET", f"{environment}/deployment-branch-policies").get("branch_policies", [])
    for policy in policies:  # only the release branch may deploy
        if policy.get("name") != branch:
            gh("DELETE", f"{environment}/deployment-branch-policies/{policy['id']}")
    if not any(p.get("name") == branch for p in policies):
        gh("POST", f"{environment}/deployment-branch-policies", {"name": branch, "type": "branch"})
    _check_environment(gh, environment, name, branch, ids)


def _check_environment(gh: Gh, environment: str, name: str, branch: str, ids: list[int]) -> None:
    read = gh("GET", environment)
    rules = {rule.get("type"): rule for rule in read.get("protection_rules", [])}
    reviewers = {
        r.get("reviewer", {}).get("id") for r in rules.get("required_reviewers", {}).get("reviewers", [])
    }
    policy = read.get("deployment_branch_policy") or {}
    branches = [
        p.get("name")
        for p in gh("GET", f"{environment}/deployment-branch-policies").get("branch_policies", [])
    ]
    self_review = rules.get("required_reviewers", {}).get("prevent_self_review")
    _expect(
        set(ids) <= reviewers
        and (not ids or self_review is True)
        and policy.get("custom_branch_policies")
        and branches == [branch],
        f"environment {name}",
        {"reviewers": sorted(reviewers), "deployment_branch_policy": policy, "branches": branches},
    )


def _expect(ok: Any, what: str, found: Any) -> None:
    if not ok:
        raise SettingsError(f"{what} reads back differently from what was set: {json.dumps(found)[:500]}")
