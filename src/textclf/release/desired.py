"""Production's declared state in git: `deploy/production.yaml` names the model production serves
(the commit it was published under and the sha256 of its archive). A reviewed pull request that
moves the file is the release; a pull request that moves it back is the rollback (GitOps: works on
every GitHub plan, with branch protection and code owners on deploy/).

    python -m textclf.release.desired show               print the declared commit (empty: none yet)
    python -m textclf.release.desired changed BEFORE     print true if the file changed since BEFORE
    python -m textclf.release.desired check              the declared model is published, with that sha256
    python -m textclf.release.desired propose COMMIT     open the pull request that moves production
                                                         to COMMIT's published model (replacing an
                                                         earlier one)
    python -m textclf.release.desired rolled-back PREVIOUS  after a bake rolled production back to
                                                         PREVIOUS: the pull request that moves the
                                                         file there, so git and the endpoint agree
    python -m textclf.release.desired compare            the scheduled check: exit 1, and one open issue,
                                                         when $TEXTCLF_ENDPOINT_NAME serves another model
    python -m textclf.release.desired published          print true if $COMMIT has a published model,
                                                         false if none (its PR did not train)

An error (the file, params.yaml, an AWS setting, a GitHub answer) is one line `error: ...` naming
it, exit 1; a usage error prints this text, exit 2.

`propose` runs in the release workflow once staging checked COMMIT: it writes the file on branch
`release/production` (re-created at main's tip, through GitHub's API, which closes an earlier
proposal's pull request) and opens one pull request whose body carries staging's results
(TEXTCLF_STAGING_SUMMARY, a file). It needs a token
that may write contents and pull requests and whose pull requests start workflows (secret
RETRAIN_TOKEN, docs/workflows.md).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Who may have opened an issue the scheduled check comments on: one rule for the drift issue and
# the mismatch issue (the workflow's account or someone with write access).
from textclf.monitoring.issue import (
    MAX_PAGES,
    meets,
    opened_by_us,
    search_query,
)
from textclf.monitoring.issue import author_may_write as may_write
from textclf.monitoring.issue import searches as issue_searches
from textclf.release.github_settings import SettingsError, check_repository

DESIRED_FILE = Path("deploy/production.yaml")
BRANCH = "release/production"
# Whole values only (fullmatch): `$` would also accept a trailing newline.
SHA = re.compile(r"[0-9a-f]{40}")
DIGEST = re.compile(r"[0-9a-f]{64}")
HEADER = (
    "# Production's declared state: the model production serves. Merging a pull request that\n"
    "# changes this file releases production (the release workflow opens one after staging checked\n"
    '# a model); a pull request that moves it back is a rollback. docs/workflows.md, "Production".\n'
)


class DesiredStateError(RuntimeError):
    """The declared state is malformed or does not match what was published."""


@dataclass(frozen=True)
class Desired:
    commit: str | None
    sha256: str | None


def parse(text: str, source: str = str(DESIRED_FILE)) -> Desired:
    # A key given twice is refused, not settled by its last value: a reviewer reading the first
    # `commit:` line would approve another model than the one released.
    from textclf.config import _StrictLoader

    try:
        plain_values_only(text, source)
        loaded = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except yaml.YAMLError as error:
        raise DesiredStateError(f"{source}: not YAML ({error})") from None
    except ValueError as error:  # a key given twice, named with its lines
        raise DesiredStateError(f"{source}: {error}") from None
    except RecursionError:
        raise DesiredStateError(f"{source}: nested too deeply to be the declared state") from None
    if not isinstance(loaded, dict) or set(loaded) - {"commit", "sha256"}:
        raise DesiredStateError(f"{source}: expected the keys commit and sha256 only")
    commit, digest = loaded.get("commit"), loaded.get("sha256")
    if commit is None and digest is None:
        as_written(text, source)
        return Desired(None, None)
    if not (isinstance(commit, str) and SHA.fullmatch(commit)):
        raise DesiredStateError(f"{source}: commit must be a full 40-character commit sha, got {commit!r}")
    if not (isinstance(digest, str) and DIGEST.fullmatch(digest)):
        raise DesiredStateError(f"{source}: sha256 must be the model archive's 64-hex digest, got {digest!r}")
    as_written(text, source)
    return Desired(commit, digest)


# Line breaks of YAML (1.1, 5.4: CR, NEL, U+2028, U+2029) at which git, its diffs and GitHub do not
# break the line: a CR followed by LF is the CRLF line end both read alike.
HIDDEN_BREAK = re.compile("[\x85\u2028\u2029]|\r(?!\n)")


def plain_values_only(text: str, source: str) -> None:
    """Refuse what would let the file say one thing and load as another: a merge key (`<<`, which
    the strict loader allows for params.yaml, and which escapes its duplicate-key check), an anchor,
    an alias or a tag. The declared state is two plain values a reviewer reads as written. A line
    break YAML reads and git and GitHub do not (NEL, U+2028, U+2029) is refused too: a line reviewers
    see as one comment would declare a commit after it (issue 27, round 10, F-r). So is a carriage
    return not followed by a line feed: YAML breaks the line there, git and GitHub do not, and a
    terminal returns the cursor so that the text after it hides the line's start."""
    hidden = HIDDEN_BREAK.search(text)
    if hidden is not None:
        line = text.count("\n", 0, hidden.start()) + 1
        raise DesiredStateError(
            f"{source}: line {line}: a line break YAML reads and git and GitHub do not show "
            f"(U+{ord(hidden.group()):04X}); delete it: the declared state is two plain lines"
        )
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            found = f"an alias (*{event.anchor})"
        elif getattr(event, "anchor", None) is not None:
            found = f"an anchor (&{event.anchor})"
        elif getattr(event, "tag", None) is not None:
            found = f"a tag ({event.tag})"
        elif isinstance(event, yaml.ScalarEvent) and event.implicit[0] and event.value == "<<":
            found = "a merge key (<<)"
        else:
            continue
        raise DesiredStateError(
            f"{source}: line {line}: {found} is not allowed here: the declared state is written out "
            "as two plain values, `commit: <40-hex sha>` and `sha256: <64-hex digest>`"
        )


def as_written(text: str, source: str) -> None:
    """Refuse a key or value that loads as other text than the file shows: escapes such as "\\x62",
    a folded or continued line, a block scalar (issue 27, round 9, F-j). Run once the values are
    known to be a sha and a digest, so a malformed value is named for what it should be first."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        written = text[event.start_mark.index : event.end_mark.index]
        if isinstance(event, yaml.ScalarEvent) and written not in (
            event.value,
            f"'{event.value}'",
            f'"{event.value}"',
        ):
            raise DesiredStateError(
                f"{source}: line {line}: {written[:80]!r} is read as {event.value[:80]!r}: write it as it "
                "is read, plain, on one line (no escapes, continued lines or block scalars), so a "
                "reviewer approves what is released"
            )


# The file holds two lines and a comment; anything far larger is not the declared state.
MAX_DESIRED_BYTES = 64 * 1024


def read(path: Path = DESIRED_FILE) -> Desired:
    from textclf import atomic

    try:
        data = atomic.read_regular(path, MAX_DESIRED_BYTES)
    except FileNotFoundError:  # a dangling link too; a FIFO or device is named as what it is below
        raise DesiredStateError(f"{path} is missing: it declares the model production serves") from None
    except OSError as error:
        raise DesiredStateError(
            f"{path}: cannot be read ({error.strerror}); it declares the model production serves: "
            "restore it from main (git checkout origin/main -- deploy/production.yaml)"
        ) from None
    return parse(atomic.decode_utf8(data, path, DesiredStateError), str(path))


def render(desired: Desired) -> str:
    if desired.commit is None:
        return HEADER + "commit: null\nsha256: null\n"
    return HEADER + f"commit: {desired.commit}\nsha256: {desired.sha256}\n"


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # git echoes its arguments in its errors: bytes that are not UTF-8 are shown replaced, not a
    # UnicodeDecodeError.
    done = subprocess.run(["git", *args], capture_output=True, text=True, encoding="utf-8", errors="replace")
    if check and done.returncode != 0:
        raise DesiredStateError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done


def changed(before: str) -> bool:
    """Did this push change the declared state? A new branch's push (before = zeros) or an unknown
    `before` counts as changed: the production job then converges to the file. Only a commit sha
    (GitHub's `before` is one) is handed to git: a branch name, an option or bytes that are not text
    are unknown."""
    if (
        not SHA.fullmatch(before)
        or set(before) == {"0"}
        or git("cat-file", "-e", f"{before}^{{commit}}", check=False).returncode
    ):
        return True
    return bool(git("diff", "--name-only", before, "HEAD", "--", str(DESIRED_FILE)).stdout.strip())


def check() -> Desired:
    """The declared model exists, is on main, and its published archive has the declared sha256."""
    from textclf.config import load_params
    from textclf.release import promote

    desired = read()
    if desired.commit is None:
        return desired
    aws = load_params(needs=("aws",)).aws.resolved()
    commit = promote.check_merged(desired.commit)
    manifest = promote.find_artifact(commit, aws)
    if manifest.get("sha256") != desired.sha256:
        raise DesiredStateError(
            f"{DESIRED_FILE} declares sha256 {desired.sha256} for {commit}, but its published model has "
            f"{manifest.get('sha256')}: nothing released; the file must name the published bytes"
        )
    promote.verify_archive(commit, manifest, aws)
    return desired


def published(commit: str) -> bool:
    """Whether `commit` (the merged PR's head) has a published model: a PR that changed only
    documentation did not train, and its merge releases nothing new (it says so)."""
    from textclf.config import load_params
    from textclf.release import promote

    try:
        promote.find_artifact(commit, load_params(needs=("aws",)).aws.resolved())
    except promote.ReleaseError as error:
        if "no trained model" not in str(error):
            raise
        print(f"nothing to release: {error}", file=sys.stderr)
        return False
    return True


def propose(commit: str, reason: str = "") -> str:
    """Open the pull request that moves production to `commit`'s published model; a previous
    proposal's pull request closes with its branch, which is re-created at main's tip.
    `reason` replaces staging's results in the body (a bake that rolled back says why).

    The branch and its one commit are written through GitHub's API (git refs and contents) with
    GH_TOKEN: the job's checkout keeps no credentials, and nothing of the workspace is pushed."""
    from textclf.config import load_params
    from textclf.release import promote

    aws = load_params(needs=("aws",)).aws.resolved()
    commit = promote.check_merged(commit)
    manifest = promote.find_artifact(commit, aws)
    target = Desired(commit, str(manifest["sha256"]))
    if read() == target:
        print(f"{DESIRED_FILE} already declares {commit}: no pull request", file=sys.stderr)
        return ""
    repo = repository()
    title = f"release: production to {commit[:12]}"
    # Everything is read and checked before the first write: a failure leaves the branch as it was.
    body = pr_body(commit, target.sha256 or "", reason)
    main = gh_answer(["api", f"repos/{repo}/git/ref/heads/main"], "object", "sha")
    if not SHA.fullmatch(main):
        raise DesiredStateError(f"gh api repos/{repo}/git/ref/heads/main: {main!r} is not a commit sha")
    # The file's blob at the commit the branch will be created at (PUT contents needs it; GET contents
    # takes a commit sha as ref: docs.github.com/en/rest/repos/contents#get-repository-content).
    blob = gh_answer(["api", f"repos/{repo}/contents/{DESIRED_FILE}?ref={main}"], "sha")
    existing = gh_list(["api", f"repos/{repo}/git/matching-refs/heads/{BRANCH}"])
    if any(ref.get("ref") == f"refs/heads/{BRANCH}" for ref in existing):
        # Re-created at main's tip, not moved there: moving a branch over main's changes to workflow
        # files needs the Workflows permission RETRAIN_TOKEN does not have (docs/workflows.md), and
        # GitHub closes the open pull request of a deleted branch, so a new proposal is a new review.
        run_gh(["api", "--method", "DELETE", f"repos/{repo}/git/refs/heads/{BRANCH}"])
    run_gh(
        [
            "api",
            "--method",
            "POST",
            f"repos/{repo}/git/refs",
            "-f",
            f"ref=refs/heads/{BRANCH}",
            "-f",
            f"sha={main}",
        ]
    )
    content = base64.b64encode(render(target).encode()).decode()
    run_gh(
        [
            "api",
            "--method",
            "PUT",
            f"repos/{repo}/contents/{DESIRED_FILE}",
            "-f",
            f"message={title}",
            "-f",
            f"content={content}",
            "-f",
            f"branch={BRANCH}",
            "-f",
            f"sha={blob}",
        ]
    )
    url = run_gh(["pr", "create", "--base", "main", "--head", BRANCH, "--title", title, "--body", body])
    print(f"opened {url.strip()}: {title}", file=sys.stderr)
    return url.strip()


def gh_json(args: list[str]) -> Any:
    try:
        return json.loads(run_gh(args) or "null")
    except (ValueError, RecursionError):
        raise DesiredStateError(f"gh {' '.join(args[:2])}: the answer is not JSON") from None


def gh_list(args: list[str]) -> list[dict[str, Any]]:
    """A JSON list of objects from `gh`, or DesiredStateError naming the call."""
    answer = gh_json(args)
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise DesiredStateError(f"{unexpected(args, answer)}: expected a list of objects")
    return answer


def gh_answer(args: list[str], *keys: str) -> str:
    """The string at `keys` in `gh`'s JSON answer (e.g. "object", "sha"), or DesiredStateError naming
    the call and the field: an answer of another shape ("Not Found", null) is not read further."""
    answer = value = gh_json(args)
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise DesiredStateError(f"{unexpected(args, answer)}: expected a string at {'.'.join(keys)}")
    return value


def unexpected(args: list[str], answer: Any) -> str:
    shown = json.dumps(answer)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    return (
        f"gh {' '.join(args)}: GitHub answered {shown}, not what its REST API sends; "
        "check GITHUB_REPOSITORY, GH_TOKEN and GH_HOST"
    )


def live_commit(endpoint: str) -> str | None:
    """The commit whose model `endpoint` serves (its live config's model data URL), or None."""
    from botocore.exceptions import ClientError

    from textclf.config import load_params
    from textclf.release import promote

    # The shared guard: a setting boto3 cannot use (a profile that is not there, an endpoint that is
    # no URL) is one line naming it, and the region is the release steps' (TEXTCLF_AWS_REGION).
    sagemaker = promote.aws_client("sagemaker", load_params(needs=("aws",)).aws.resolved())
    with promote.aws_errors(f"reading what the endpoint {endpoint} serves"):
        try:
            config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        except ClientError as error:
            if "Could not find endpoint" in str(error) or "ValidationException" in str(error):
                return None
            raise
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    url = model["PrimaryContainer"].get("ModelDataUrl", "")
    found = re.search(r"/models/([0-9a-f]{40})/", url)
    return found.group(1) if found else None


MISMATCH_TITLE = "Production's endpoint {endpoint} does not serve what deploy/production.yaml declares"


def compare(endpoint: str) -> bool:
    """The scheduled check: does `endpoint` serve the declared model? On a mismatch, one open issue
    says so (a comment on it when it is open already); returns whether they agree."""
    declared, live = read().commit, live_commit(endpoint)
    if declared == live:
        print(f"{endpoint} serves {live or 'nothing'}, as {DESIRED_FILE} declares", file=sys.stderr)
        return True
    title = MISMATCH_TITLE.format(endpoint=endpoint)
    body = (
        f"`{DESIRED_FILE}` on main declares `{declared}`; the endpoint `{endpoint}` serves "
        f"`{live}`. Something changed the endpoint outside the release workflow, or a release did "
        "not finish. Re-run the release workflow (it converges the endpoint to the file), or open a "
        "pull request that moves the file to what should be served."
    )
    repo = repository()
    number = open_issue_titled(repo, title)
    if number is not None:
        run_gh(["api", "--method", "POST", f"repos/{repo}/issues/{number}/comments", "-f", f"body={body}"])
        print(f"{title}: commented on issue #{number}", file=sys.stderr)
    else:
        run_gh(
            ["api", "--method", "POST", f"repos/{repo}/issues", "-f", f"title={title}", "-f", f"body={body}"]
        )
        print(f"{title}: opened an issue", file=sys.stderr)
    return False


# The mismatch issue is found as the drift issue is (textclf.monitoring.issue, issue 27 round 10,
# F-k and F-n): among the open issues the workflow opened (`creator`) and those a writer labelled
# MISMATCH_LABEL, ten pages of 100 each at most, every answer checked against its filter; not the
# first 1,000 open issues and pull requests, behind which an older mismatch issue was missed.
MISMATCH_LABEL = "production-mismatch"


def open_issue_titled(repo: str, title: str) -> int | None:
    """The number of an open issue (not a pull request: the issues API lists both) titled `title`,
    opened by the workflow or by someone with write access to the repository.
    (docs.github.com/en/rest/issues/issues#list-repository-issues)"""
    for name, value in issue_searches(MISMATCH_LABEL):
        for page in range(1, MAX_PAGES + 1):
            path = f"repos/{repo}/issues?{search_query(name, value, page)}"
            issues = gh_list(["api", path])
            for issue in issues:
                if (
                    issue.get("title") == title
                    and "pull_request" not in issue
                    and meets(issue, name, value)
                    and opened_by_us(issue)
                    and author_may_write(repo, issue)
                ):
                    number = issue.get("number")
                    if isinstance(number, bool) or not isinstance(number, int):
                        raise DesiredStateError(f"{unexpected(['api', path], issue)}: no issue number")
                    return number
            if len(issues) < 100:
                break
    return None


def author_may_write(repo: str, issue: dict[str, Any]) -> bool:
    """The workflow's account, or an author GitHub's permission API says may write (admin or write),
    asked through `gh` (textclf.monitoring.issue.author_may_write)."""
    return may_write(issue, lambda path: gh_json(["api", f"repos/{repo}{path}"]), DesiredStateError)


def pr_body(commit: str, digest: str, reason: str = "") -> str:
    if reason:
        return (
            f"{reason}\n\nThis pull request moves `{DESIRED_FILE}` to {commit} (archive sha256 `{digest}`), "
            "the model production serves again, so git and the endpoint agree. Merging it releases "
            "that model again (a no-op on the endpoint)."
        )
    staged = staging_summary()
    return (
        f"Moves production to the model of {commit} (archive sha256 `{digest}`), which staging has "
        "released and checked.\n\nMerging this pull request releases production (then a bake window "
        "that rolls back on alarms). A later pull request that moves the file back is a rollback.\n\n"
        f"### Staging's checks\n\n{staged or '(no summary)'}\n"
    )


# Staging's summary is a page of Markdown; the body shows its first 20,000 characters.
MAX_SUMMARY_BYTES = 1024 * 1024
SUMMARY_CHARS = 20000


def staging_summary() -> str:
    """The text of $TEXTCLF_STAGING_SUMMARY ("" when unset or not there), or DesiredStateError naming
    the setting: a summary that cannot be shown is said before anything is written."""
    from textclf import atomic

    summary_file = os.environ.get("TEXTCLF_STAGING_SUMMARY", "")
    if not summary_file or not Path(summary_file).exists():
        return ""
    where = f"TEXTCLF_STAGING_SUMMARY={summary_file}"
    try:
        data = atomic.read_regular(summary_file, MAX_SUMMARY_BYTES)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise DesiredStateError(
            f"{where}: cannot be read ({reason}); name staging's summary (a Markdown file) or unset it"
        ) from None
    return atomic.decode_utf8(data, where, DesiredStateError)[:SUMMARY_CHARS]


def repository() -> str:
    """GITHUB_REPOSITORY, checked with github-settings' rule (github_settings.check_repository:
    GitHub's owner and name characters, whole string): it goes into gh api paths, so '../..',
    'o/r\n' or '-o/r' must never reach them."""
    name = os.environ.get("GITHUB_REPOSITORY", "")
    try:
        check_repository(name, "set GITHUB_REPOSITORY (GitHub Actions sets it)")
    except SettingsError as error:
        raise DesiredStateError(f"GITHUB_REPOSITORY: {error}") from None
    return name


def run_gh(args: list[str]) -> str:
    try:
        done = subprocess.run(["gh", *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise DesiredStateError("the GitHub CLI (gh) is not installed") from None
    if done.returncode != 0:
        raise DesiredStateError(f"gh {args[0]} {args[1]}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def main(argv: list[str]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from textclf.awsclient import AwsSettingError
    from textclf.config import ParamsError
    from textclf.release.promote import ReleaseError

    try:
        match argv:
            case ["show"]:
                print(read().commit or "")
            case ["changed", before]:
                print("true" if changed(before) else "false")
            case ["check"]:
                desired = check()
                print(f"{DESIRED_FILE}: {desired.commit or 'nothing declared yet'}", file=sys.stderr)
            case ["propose", commit]:
                propose(commit)
            case ["rolled-back", previous]:
                failed = read().commit or "the declared model"
                propose(
                    previous,
                    f"The bake of {failed} in production fired an alarm, and production was rolled back "
                    f"to {previous}.",
                )
            case ["compare"]:
                endpoint = os.environ.get("TEXTCLF_ENDPOINT_NAME", "")
                if not endpoint:
                    raise DesiredStateError("TEXTCLF_ENDPOINT_NAME is not set: name production's endpoint")
                return 0 if compare(endpoint) else 1
            case ["published"]:
                print("true" if published(os.environ.get("COMMIT", "")) else "false")
            case _:
                print(__doc__, file=sys.stderr)
                return 2
    except (DesiredStateError, ParamsError, ReleaseError, AwsSettingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:  # and their subclasses (NoRegionError, ...)
        print(f"error: AWS: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # git missing, a file that cannot be read
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
