"""The drift alarm's repository_dispatch turned into one GitHub issue (.github/workflows/drift.yml).

EventBridge sends `{"event_type": "model-drift", "client_payload": {"alarm", "reason", "time",
"endpoint", "log_group"}}` when the drift alarm goes to ALARM (terraform/drift.tf). Anyone who
can send a repository_dispatch to the repository (a token with write access) can send that
payload, so it is untrusted input: every field is checked against what the alarm can send (names
of AWS resources, an ISO 8601 time, a bounded reason in a code block), unknown fields are refused,
and nothing of it reaches a shell: the workflow passes it in an environment variable and this
module talks to GitHub's REST API itself.

There is one open drift issue per endpoint: a new alarm comments on the open issue (found by a
marker in its body, among the open issues the workflow opened and those labelled model-drift: two
bounded searches, however many issues and pull requests are open) instead of opening another.
Standard library only, so the workflow runs it from a checkout without installing the project:

    PYTHONPATH=src python -m textclf.monitoring.issue            # DRIFT_PAYLOAD, GITHUB_* from the job
    PYTHONPATH=src python -m textclf.monitoring.issue --dry-run  # print the title and body only
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_PAYLOAD_BYTES = 4096
# A page of 100 issues whose bodies hold GitHub's maximum of 65,536 characters (4 bytes each in
# UTF-8) is about 26 MB: an answer longer than this is no answer of GitHub's.
MAX_ANSWER_BYTES = 64 * 1024**2
MAX_REASON_CHARS = 1024
# What each field may hold: CloudWatch alarm names as Terraform makes them, SageMaker endpoint names
# (CreateEndpoint: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$), the check's Lambda log group, the event time.
FIELDS = {
    "alarm": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}"),
    "endpoint": re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"),
    "log_group": re.compile(r"/aws/lambda/[A-Za-z0-9_-]{1,64}"),
    # [0-9], not \d: \d also matches other scripts' digits ("٢٠٢٦"); the date is checked too (parse).
    "time": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z"),
}
# The reason is CloudWatch's prose ("Threshold Crossed: 1 datapoint [1.0 (01/12/26 10:00:00)] was
# greater than or equal to the threshold (1.0)."): printable characters and spaces only.
REASON = re.compile(rf"[\x20-\x7E]{{1,{MAX_REASON_CHARS}}}")
MAX_PAGES = 10  # pages of each search below, 100 issues a page
# Who may have opened an issue the scheduled workflows add to: the workflow's own account (they run
# with github.token, whose issues are github-actions[bot]'s) or someone with write access to the
# repository (`author_association` first, docs.github.com/en/rest/issues/issues#get-an-issue; the drift
# issue then asks GitHub for the author's permission: GitHub.author_may_write). In a public
# repository anyone may open an issue holding the marker or the title: a stranger's issue must not
# take the alarms (its author can edit it to say "known false alarm") while none of ours is opened.
WORKFLOW_LOGIN = "github-actions[bot]"
ISSUE_ACCOUNTS = frozenset({WORKFLOW_LOGIN})
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# What GitHub.author_may_write takes as write access (the permission API's legacy base roles).
WRITE_PERMISSIONS = frozenset({"admin", "write"})
# An issue someone with write access opens by hand is found by this label (a stranger cannot label
# an issue: "Create an issue", docs.github.com/en/rest/issues/issues#create-an-issue, drops the
# labels of a user without push access; and opened_by_us still refuses a stranger's issue).
TRUSTED_LABEL = "model-drift"
# The open issues searched, not every open issue and pull request (1,000 of them, ten pages, hid an
# older drift issue, and each alarm opened another): GitHub's "List repository issues"
# (docs.github.com/en/rest/issues/issues#list-repository-issues) filters by `creator`, "the user that
# created the issue", given as the login its issue objects show (`user.login`: github-actions[bot]
# for issues the workflow's GITHUB_TOKEN opened; `app/github-actions` is the search syntax's name,
# `author:app/github-actions`, not a login: cli/cli#5888), and by `labels`. Each answer is checked
# again here (opened_by_us, and the filter's own condition), so a server that ignores a filter
# cannot widen the search.


def searches(label: str) -> tuple[tuple[str, str], ...]:
    """The two searches for a scheduled check's issue: the workflow's own, and writers' labelled `label`."""
    return (("creator", WORKFLOW_LOGIN), ("labels", label))


SEARCHES = searches(TRUSTED_LABEL)


def search_query(name: str, value: str, page: int) -> str:
    """The query string of one page of a search of SEARCHES (open issues, 100 a page)."""
    return urllib.parse.urlencode({"state": "open", name: value, "per_page": 100, "page": page})


def meets(issue: dict[str, Any], name: str, value: str) -> bool:
    """Whether an issue object meets the search's filter (GitHub's labels are objects with a name)."""
    if name == "creator":
        user = issue.get("user")
        return isinstance(user, dict) and user.get("login") == value
    labels = issue.get("labels")
    return isinstance(labels, list) and any(
        (label.get("name") if isinstance(label, dict) else label) == value for label in labels
    )


class PayloadError(ValueError):
    """The dispatch payload is not what the drift alarm sends; the message names the field."""


class GitHubError(RuntimeError):
    """GitHub could not be reached or answered something that is not what its API sends."""


@dataclass(frozen=True)
class DriftAlarm:
    alarm: str
    reason: str
    time: str
    endpoint: str
    log_group: str


def parse(raw: str) -> DriftAlarm:
    """The validated payload, or PayloadError naming what is wrong."""
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError as error:  # the environment held bytes that are not UTF-8 (or a lone surrogate)
        raise PayloadError(
            f"client_payload: not UTF-8 text ({_character(raw, error.start)}); the drift alarm sends "
            "UTF-8 JSON"
        ) from None
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"client_payload: more than {MAX_PAYLOAD_BYTES} bytes")
    try:
        payload = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_not_json)
    except RecursionError:
        raise PayloadError("client_payload: nested too deeply") from None
    except PayloadError:
        raise
    except ValueError as error:
        raise PayloadError(f"client_payload: not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise PayloadError("client_payload: expected a JSON object")
    expected = {*FIELDS, "reason"}
    unknown, missing = sorted(set(payload) - expected), sorted(expected - set(payload))
    if unknown:
        raise PayloadError(
            f"client_payload: unknown fields {unknown}; the drift alarm sends {sorted(expected)}"
        )
    # Every bad value given is named, also when fields are missing besides.
    problems = [problem for name in sorted(set(payload)) if (problem := _problem(name, payload[name]))]
    if missing:
        sent = sorted(expected)
        problems.append(f"client_payload: missing fields {missing}; the drift alarm sends all of {sent}")
    if problems:
        raise PayloadError("; ".join(problems))
    return DriftAlarm(**{name: payload[name] for name in expected})


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with the field `name` holding `value`, or None."""
    if name == "reason":
        got = _reason_problem(value)
        expected = f"expected 1 to {MAX_REASON_CHARS} printable ASCII characters"
        return got and f"client_payload.reason: {expected}, got {got}"
    if not isinstance(value, str) or not FIELDS[name].fullmatch(value):
        return f"client_payload.{name}: {_shown(value)} is not a valid {name}"
    if name == "time":
        try:  # the pattern passes 2026-13-45T99:99:99Z; EventBridge sends a real UTC time
            datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return f"client_payload.time: {_shown(value)} is not a valid time"
    return None


def _reason_problem(reason: Any) -> str | None:
    if not isinstance(reason, str):
        return f"{_shown(reason)}, not a string"
    if not reason:
        return "an empty string"
    if len(reason) > MAX_REASON_CHARS:
        return f"{len(reason)} characters"
    bad = re.search(r"[^\x20-\x7E]", reason)
    return bad and _character(reason, bad.start())


def _character(text: str, index: int) -> str:
    """The character at `index` of `text`, shown as `'\\ud800' (U+D800) at character 3`."""
    return f"{text[index]!r} (U+{ord(text[index]):04X}) at character {index + 1}"


def _not_json(constant: str) -> Any:
    raise PayloadError(
        f"client_payload: {constant} is not a JSON value (RFC 8259 has no NaN or Infinity); the drift "
        "alarm sends strings"
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # This module ships without the package's ground (monitoring imports nothing of textclf).
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise PayloadError(f"client_payload: field {_shown(key)} is given twice; send it once")
        seen.add(key)
    return dict(pairs)


def _shown(value: Any) -> str:
    """A bad value as the error shows it: bounded, repr'd (never rendered)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def marker(endpoint: str) -> str:
    return f"<!-- textclf-drift-issue: {endpoint} -->"


def _fenced(text: str) -> str:
    """A code block that no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render(alarm: DriftAlarm) -> tuple[str, str]:
    """The issue's title and body (also the comment on an open issue)."""
    title = f"Model drift on {alarm.endpoint}"
    body = "\n".join(
        [
            marker(alarm.endpoint),
            f"The drift alarm `{alarm.alarm}` of the endpoint `{alarm.endpoint}` went to ALARM at "
            f"{alarm.time}: the live traffic no longer looks like the live model's test split.",
            "",
            "CloudWatch's reason:",
            "",
            _fenced(alarm.reason),
            "",
            "What to do (docs/monitoring.md):",
            "",
            f"1. Read the check's summary (which signals drifted, their PSI, the window's prediction mix) "
            f"in the log group `{alarm.log_group}`, and the dashboard's prediction and drift widgets.",
            "2. Decide whether the change is real (new kinds of messages, another class mix) or a "
            "problem upstream (truncated or empty texts).",
            "3. If it is real: collect and label recent examples (the sampled capture under `captured/`, "
            "when enabled) and drop them into the data bucket's `incoming/`: the retrain workflow opens "
            "the retraining pull request.",
            "",
            "This issue stays open until someone closes it; further alarms add a comment here.",
        ]
    )
    return title, body


# ---------------------------------------------------------------------------------------------
# GitHub


class GitHub:
    """The few REST calls the workflow needs, with the job's token."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository) or {".", ".."} & set(
            repository.split("/")
        ):  # `..` would move the request to another path of the API
            raise PayloadError(f"GITHUB_REPOSITORY={_shown(repository)}: expected owner/name")
        problem = url_problem(api_url)
        if problem:
            raise PayloadError(f"GITHUB_API_URL={_shown(api_url)}: {problem}")
        # The token goes into the Authorization header: a header value is visible ASCII (RFC 9110
        # section 5.5); http.client refuses a line break only when sending, and its message holds the
        # header, token included. Refused here, the token never shown.
        bad = re.search(r"[^\x21-\x7E]", token)
        if bad:
            raise PayloadError(
                f"GITHUB_TOKEN holds a space, a line break or a character an HTTP header cannot carry (at "
                f"character {bad.start() + 1}): set it to the token alone (GitHub Actions' github.token)"
            )
        self.base = f"{api_url.rstrip('/')}/repos/{repository}"
        self.token = token

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read(MAX_ANSWER_BYTES + 1)
                # read(n) returns what came before the connection closed, where read() raised
                # IncompleteRead: `length` is what the Content-Length said is still to come.
                missing = getattr(response, "length", None)
        except urllib.error.HTTPError as error:
            raise GitHubError(f"GitHub answered {error.code} to {method} {self.base}{path}") from None
        # Unreachable, refused, timed out, a bad URL; http.client's own errors (InvalidURL, a body cut
        # short: IncompleteRead) are HTTPException, which is not an OSError.
        except (OSError, ValueError, http.client.HTTPException) as error:
            reason = str(getattr(error, "reason", error))
            # Never the token (a real one is 40 characters or more; masking a short one would mask
            # words: "t" made "Connection refused" "Connec***ion refused").
            reason = reason.replace(self.token, "***") if len(self.token) >= 8 else reason
            raise GitHubError(
                f"could not reach GitHub at {self.base}{path} ({reason}): check GITHUB_API_URL, network"
            ) from None
        if len(body) > MAX_ANSWER_BYTES:
            raise GitHubError(
                f"{method} {self.base}{path}: the answer is longer than {MAX_ANSWER_BYTES} bytes"
            )
        if missing:
            raise GitHubError(
                f"{method} {self.base}{path}: the answer was cut short ({missing} bytes of its "
                "Content-Length never came); run the workflow again"
            )
        try:
            return json.loads(body) if body else None
        except (ValueError, RecursionError):
            raise GitHubError(f"{method} {self.base}{path}: the answer is not JSON") from None

    def open_issue_with(self, text: str) -> int | None:
        """The number of an open issue (not a pull request) whose body holds `text`, opened by the
        workflow or by someone with write access (author_may_write) who labelled it TRUSTED_LABEL
        (SEARCHES)."""
        for name, value in SEARCHES:
            for page in range(1, MAX_PAGES + 1):
                issues = self.call("GET", f"/issues?{search_query(name, value, page)}")
                if not isinstance(issues, list) or not all(isinstance(issue, dict) for issue in issues):
                    raise GitHubError(f"{self.base}/issues: the answer is not a list of issues")
                for issue in issues:
                    body = issue.get("body")
                    if (
                        "pull_request" not in issue
                        and isinstance(body, str)
                        and text in body
                        and meets(issue, name, value)
                        and opened_by_us(issue)
                        and self.author_may_write(issue)
                    ):
                        return _number(issue, f"{self.base}/issues")
                if len(issues) < 100:
                    break
        return None

    def author_may_write(self, issue: dict[str, Any]) -> bool:
        """Whether the issue's author is the workflow's account, or has write access to the repository
        (admin, maintain or write): `author_association` does not say it (MEMBER is any member of the
        owning organization, COLLABORATOR any invited collaborator, read or triage ones included), so
        it is asked of "Get repository permissions for a user"
        (docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user:
        `permission` is admin, write, read or none, maintain given as write and triage as read).
        An answer that is not one of those, or none (not a collaborator: 404), is no."""
        return author_may_write(issue, lambda path: self.call("GET", path), GitHubError)


def url_problem(url: str) -> str | None:
    """What makes `url` no http(s) URL of an API to send the token to, or None."""
    bad = re.search(r"[^\x21-\x7E]", url)
    if bad:  # http.client refuses these only when it sends (InvalidURL), after the URL was taken
        return f"{_character(url, bad.start())} is not allowed in a URL; expected an https:// URL"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises ValueError here
    except ValueError as error:  # "Invalid IPv6 URL", "Port could not be cast to integer value"
        return f"is not a URL ({error}); expected an https:// URL (GitHub's API)"
    if parts.scheme not in ("https", "http"):
        # urllib would also open file: and ftp: URLs, and send them the token.
        return "expected an https:// URL (GitHub's API)"
    if not parts.hostname:
        return "has no host; expected an https:// URL (GitHub's API)"
    if parts.query or parts.fragment:  # the API's paths are appended: they would land in the query
        return "has a query or fragment; expected the API's base URL (https://api.github.com)"
    return None


def author_may_write(issue: dict[str, Any], get: Callable[[str], Any], refused: type[Exception]) -> bool:
    """GitHub.author_may_write with `get` calling GitHub's API for a path under the repository
    (`/collaborators/<login>/permission`) and raising `refused` for an error answer (404: not a
    collaborator): the release's state check asks it through `gh` (textclf.release.desired)."""
    login = _login(issue)
    if login in ISSUE_ACCOUNTS:
        return True
    if not login:
        return False
    try:
        found = get(f"/collaborators/{urllib.parse.quote(login, safe='')}/permission")
    except refused:
        return False
    return _text(found.get("permission") if isinstance(found, dict) else None) in WRITE_PERMISSIONS


def opened_by_us(issue: dict[str, Any]) -> bool:
    """Whether `issue` (an issues API object) was opened by the workflow or a collaborator. GitHub's
    issue objects always carry `user`; one without it is not taken as ours."""
    return _login(issue) in ISSUE_ACCOUNTS or _text(issue.get("author_association")) in TRUSTED_ASSOCIATIONS


def _text(value: Any) -> str:
    """A field GitHub sends as a string, or "" for any other shape (a list is unhashable: `in` a set
    of names raised TypeError; a shape GitHub never sends is no match)."""
    return value if isinstance(value, str) else ""


def _login(issue: dict[str, Any]) -> str:
    user = issue.get("user")
    return _text(user.get("login") if isinstance(user, dict) else None)


def publish(github: GitHub, alarm: DriftAlarm) -> tuple[str, int]:
    """Comment on the endpoint's open drift issue, or open one: ("commented"|"opened", number)."""
    title, body = render(alarm)
    number = github.open_issue_with(marker(alarm.endpoint))
    if number is not None:
        github.call("POST", f"/issues/{number}/comments", {"body": body})
        return "commented", number
    created = github.call("POST", "/issues", {"title": title, "body": body})
    return "opened", _number(created, f"{github.base}/issues")


def _number(issue: Any, url: str) -> int:
    number = issue.get("number") if isinstance(issue, dict) else None
    if isinstance(number, bool) or not isinstance(number, int):
        raise GitHubError(f"{url}: the answer has no issue number")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m textclf.monitoring.issue", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print the title and body, call nothing")
    args = parser.parse_args(argv)
    try:
        alarm = parse(os.environ.get("DRIFT_PAYLOAD", ""))
        if args.dry_run:
            title, body = render(alarm)
            print(f"{title}\n\n{body}")
            return 0
        missing = [name for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not os.environ.get(name)]
        if missing:
            raise PayloadError(f"environment variables {missing} must be set (GitHub Actions sets them)")
        github = GitHub(
            os.environ.get("GITHUB_API_URL", "https://api.github.com"),
            os.environ["GITHUB_REPOSITORY"],
            os.environ["GITHUB_TOKEN"],
        )
        action, number = publish(github, alarm)
    except PayloadError as error:
        print(f"drift issue: {error}", file=sys.stderr)
        return 2
    except GitHubError as error:
        print(f"drift issue: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"drift_issue": action, "number": number, "endpoint": alarm.endpoint}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
