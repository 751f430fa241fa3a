"""`python -m textclf.release.desired` on settings and answers it did not expect (issue 27, round 8,
T-c): one line naming the setting, file or call, exit 1, and nothing written through GitHub's API
before everything the proposal needs was read and checked."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from textclf.release import desired, promote

REPO = Path(__file__).resolve().parents[2]
COMMIT = "a" * 40
DIGEST = "b" * 64
MAIN = "c" * 40


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "deploy").mkdir()
    (tmp_path / desired.DESIRED_FILE).write_text(desired.render(desired.Desired(None, None)))
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "TEXTCLF_AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("TEXTCLF_ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    return tmp_path


def run(argv: list[str], capsys, lines: int = 1) -> tuple[int, str]:
    status = desired.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= lines, err
    return status, err


def test_a_profile_that_is_not_there_is_named(workspace: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    status, err = run(["compare"], capsys)
    assert status == 1 and "AWS_PROFILE='nosuch'" in err, err


def test_an_endpoint_that_does_not_answer_is_one_line(workspace: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    status, err = run(["compare"], capsys)
    assert status == 1 and "textclf-prod" in err and "127.0.0.1:9" in err, err


def test_params_yaml_that_does_not_parse_is_named(workspace: Path, capsys) -> None:
    (workspace / desired.DESIRED_FILE).write_text(desired.render(desired.Desired(COMMIT, DIGEST)))
    with (workspace / "params.yaml").open("a") as params:
        params.write("aws: [\n")
    for argv in (["check"], ["propose", COMMIT], ["published"]):
        status, err = run(argv, capsys, lines=8)  # YAML's own pointer at the column follows
        assert status == 1 and err.startswith("error: params.yaml"), (argv, err)


def proposing(monkeypatch, answers: dict[str, str]) -> list[list[str]]:
    """`propose` with the published model stubbed and `gh` answering `answers` (by path)."""
    monkeypatch.setattr(promote, "check_merged", lambda commit: commit)
    monkeypatch.setattr(promote, "find_artifact", lambda commit, aws: {"sha256": DIGEST})
    calls: list[list[str]] = []

    def gh(args: list[str]) -> str:
        calls.append(args)
        if args[0] == "pr":
            return "https://github.com/o/r/pull/7\n"
        path = next(arg for arg in args[1:] if arg.startswith("repos/"))
        for prefix, answer in answers.items():
            if path.startswith(f"repos/o/r/{prefix}"):
                return answer
        return "{}"

    monkeypatch.setattr(desired, "run_gh", gh)
    return calls


GOOD = {
    "git/ref/heads/main": f'{{"object": {{"sha": "{MAIN}"}}}}',
    "contents/": '{"sha": "d00d"}',
    "git/matching-refs/": "[]",
}


def writes(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if "--method" in call or call[0] == "pr"]


def test_a_summary_that_is_not_utf8_is_named_before_anything_is_written(
    workspace: Path, monkeypatch, capsys
) -> None:
    summary = workspace / "summary.md"
    summary.write_bytes(b"# Staging\n\xff\n")
    monkeypatch.setenv("TEXTCLF_STAGING_SUMMARY", str(summary))
    calls = proposing(monkeypatch, GOOD)
    status, err = run(["propose", COMMIT], capsys)
    assert status == 1, err
    assert f"TEXTCLF_STAGING_SUMMARY={summary}: line 2: bytes that are not UTF-8" in err, err
    assert writes(calls) == [], calls


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("git/ref/heads/main", "null"),
        ("git/ref/heads/main", "[]"),
        ("git/ref/heads/main", '{"message": "Not Found"}'),
        ("git/ref/heads/main", '{"object": {"sha": "main"}}'),
        ("git/matching-refs/", '{"ref": "refs/heads/release/production"}'),
        ("git/matching-refs/", "[1]"),
        ("contents/", "[]"),
        ("contents/", '{"sha": 5}'),
    ],
)
def test_an_answer_of_another_shape_is_named_before_anything_is_written(
    workspace: Path, monkeypatch, capsys, path: str, answer: str
) -> None:
    calls = proposing(monkeypatch, {**GOOD, path: answer})
    status, err = run(["propose", COMMIT], capsys)
    assert status == 1 and err.startswith("error: gh api repos/o/r/"), err
    assert path in err, err
    assert writes(calls) == [], calls


def test_a_proposal_reads_first_then_writes(workspace: Path, monkeypatch, capsys) -> None:
    calls = proposing(
        monkeypatch, {**GOOD, "git/matching-refs/": '[{"ref": "refs/heads/release/production"}]'}
    )
    monkeypatch.delenv("TEXTCLF_STAGING_SUMMARY", raising=False)
    assert desired.main(["propose", COMMIT]) == 0, capsys.readouterr().err
    done = [call for call in calls if call[0] == "pr" or "--method" in call]
    assert [call[2] if call[0] == "api" else "pr" for call in done] == ["DELETE", "POST", "PUT", "pr"]
    put = done[2]
    assert "sha=d00d" in put and f"branch={desired.BRANCH}" in put, put
    assert any(f"contents/{desired.DESIRED_FILE}?ref={MAIN}" in call[-1] for call in calls), calls


def test_the_mismatch_issue_is_found_beyond_the_first_page(workspace: Path, monkeypatch, capsys) -> None:
    """Round 8, R-c: with 100 other open issues the scheduled check opened a new issue every run."""
    title = desired.MISMATCH_TITLE.format(endpoint="textclf-prod")
    others = [
        {"number": n, "title": f"issue {n}", "user": {"login": "github-actions[bot]"}} for n in range(1, 101)
    ]
    pages = {
        1: others,
        2: [
            {"number": 500, "title": title, "user": {"login": "github-actions[bot]"}},
            {"number": 501, "title": title, "pull_request": {}, "user": {"login": "github-actions[bot]"}},
        ],
    }
    monkeypatch.setattr(desired, "live_commit", lambda endpoint: COMMIT)
    calls: list[list[str]] = []

    def gh(args: list[str]) -> str:
        calls.append(args)
        # The workflow's own issues (the creator search), page by page; the label search finds none.
        found = re.search(
            r"issues\?state=open&creator=github-actions%5Bbot%5D&per_page=100&page=(\d+)$", args[-1]
        )
        return json.dumps(pages.get(int(found.group(1)), [])) if found else "{}"

    monkeypatch.setattr(desired, "run_gh", gh)
    for _ in range(3):
        assert desired.main(["compare"]) == 1
    posted = [call[3] for call in writes(calls)]
    assert posted == ["repos/o/r/issues/500/comments"] * 3, posted
    assert "commented on issue #500" in capsys.readouterr().err


@pytest.mark.parametrize(
    "answer",
    [
        "null",
        '{"message": "Not Found"}',
        "[1]",
        '[{"title": "%s", "user": {"login": "github-actions[bot]"}}]',
    ],
)
def test_an_issue_list_of_another_shape_is_one_line(
    workspace: Path, monkeypatch, capsys, answer: str
) -> None:
    title = desired.MISMATCH_TITLE.format(endpoint="textclf-prod")
    monkeypatch.setattr(desired, "live_commit", lambda endpoint: COMMIT)
    monkeypatch.setattr(
        desired, "run_gh", lambda args: answer.replace("%s", title) if "--method" not in args else ""
    )
    status, err = run(["compare"], capsys)
    assert status == 1 and err.startswith("error: gh api repos/o/r/issues?state=open"), err
