"""`make github-settings` against bad input (issue 27): names that would change the API path they
are put into, a CODEOWNERS file that is missing, not a file, too large, not UTF-8 or owns nothing,
and answers of `gh api` that are not what the settings read. Each is a SettingsError naming the
input, before any setting is changed; none is a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.workflows.test_github_settings import REPO, FakeGitHub

from textclf.release import github_settings
from textclf.release.github_settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8")


def settings(**changes: Any) -> Settings:
    return Settings(
        **({"repository": REPO, "reviewers": ["alice"], "codeowners": ROOT / ".github/CODEOWNERS"} | changes)
    )


def refused(match: str, **changes: Any) -> FakeGitHub:
    github = FakeGitHub()
    with pytest.raises(SettingsError, match=match):
        github_settings.apply(settings(**changes), github)
    assert [call for call in github.calls if call[0] != "GET"] == [], "nothing may be set"
    return github


@pytest.mark.parametrize(
    "repository",
    ["a/b/../../x", "acme/../x", "acme/..", "acme/.", "-acme/x", "acme-/x", "ac--me/x", "acme/x y",
     "acme/x?y=1", "acme/x#y", "acme/", "/x", "a" * 40 + "/x", "acme/" + "x" * 101, "acme/x\n", ""],
)  # fmt: skip
def test_a_repository_that_is_not_owner_name_is_refused_before_any_call(repository):
    """Before: `a/b/../../x` passed (it holds a slash) and went into every API path."""
    github = refused("must be OWNER/NAME", repository=repository)
    assert github.calls == []


@pytest.mark.parametrize(
    "branch",
    ["../main", "main/../x", "main?x=1", "main#x", "ma in", "-main", "/main", "main/", "main.", "x.lock",
     "a//b", "a/.b", "", "b" * 300, "main\n", "m\u00e4in"],
)  # fmt: skip
def test_a_branch_name_git_would_refuse_is_refused(branch):
    github = refused("is not a branch name git accepts", branch=branch)
    assert github.calls == []


@pytest.mark.parametrize(
    "environment", ["", "a/b", "../x", " production", "prod\n", "e" * 256, "staging", "Batch"]
)
def test_an_environment_name_github_would_refuse_is_refused(environment):
    refused("environment", environment=environment)


@pytest.mark.parametrize("login", ["al ice", "../x", "-bob", "bob-", "a--b", "@alice", "x" * 40])
def test_a_reviewer_that_is_not_a_login_is_refused(login):
    refused("is not a GitHub login", reviewers=[login])


def test_good_names_pass_and_are_set():
    github = FakeGitHub()
    github_settings.apply(settings(branch="release/v1.2", environment="prod-eu"), github)
    assert f"repos/{REPO}/branches/release/v1.2/protection" in github.state
    assert f"repos/{REPO}/environments/prod-eu" in github.state


# --- the CODEOWNERS file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "CODEOWNERS): not found; commit the template's .github/CODEOWNERS"),
        (lambda path: path.mkdir(), "CODEOWNERS): not a file"),
        (lambda path: path.write_bytes(b"#" * (3 * 1024 * 1024)), "does not load a CODEOWNERS file of 3 MB"),
        (lambda path: path.write_bytes(TEMPLATE.encode() + b"\n/x \xff@a\n"), "line 15: bytes that are not"),
        (lambda path: path.write_text(""), "no owner for .github/workflows/release.yml, Makefile"),
        (lambda path: path.write_text("# only comments\n"), "no owner for"),
        (lambda path: path.write_text(TEMPLATE + "/src/ \n"), "no owner for src/textclf/release/promote.py"),
        (lambda path: path.write_text(TEMPLATE + "* @acme/all\n/mk/\n"), "no owner for mk/ci.mk"),
        (lambda path: path.write_text(TEMPLATE + "/docs/ alice\n"), "line 14: 'alice' is not an owner"),
        (lambda path: path.write_text(TEMPLATE.replace("/terraform/", "/terraforms/")), "terraform/main.tf"),
    ],
)  # fmt: skip
def test_a_codeowners_file_it_cannot_rely_on_is_refused_by_name(tmp_path, make, message):
    """Before: the local file was never read; only the API's view of the branch was checked."""
    path = tmp_path / "CODEOWNERS"
    if make:
        make(path)
    github = refused(message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\."), codeowners=path)
    assert github.calls == []


@pytest.mark.parametrize(
    "rules",
    ["* @acme/owners\n", "/** @acme/owners\n", "*.py @a\n* @acme/owners\n", "src/ @a\n* @b\nMakefile @c\n",
     "/.github/ @a\n/Makefile a@example.com\n/mk/ @a\nterraform/ @a\ndeploy @a\nsrc/textclf/ @a\n"],
)  # fmt: skip
def test_codeowners_files_that_own_every_release_path_pass(tmp_path, rules):
    path = tmp_path / "CODEOWNERS"
    path.write_text(rules)
    github_settings.check_codeowners(path)


# --- what gh answers ---------------------------------------------------------------------------


class Answers(FakeGitHub):
    """GitHub (or a proxy, or an old gh) answering one path with something else."""

    def __init__(self, path_end: str, answer: Any) -> None:
        super().__init__()
        self.path_end, self.answer = path_end, answer

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if method == "GET" and path.endswith(self.path_end):
            self.calls.append((method, path, body))
            return self.answer
        return super().__call__(method, path, body)


@pytest.mark.parametrize(
    ("path_end", "answer", "message"),
    [
        (REPO, [], "expected a JSON object, got list"),
        (REPO, "x", "expected a JSON object, got str"),
        (REPO, {"owner": "acme"}, "answered in a shape this command does not read"),
        ("/protection", {"required_status_checks": {"checks": "x"}}, "does not read|reads back"),
        ("codeowners/errors?ref=main", {"errors": "x"}, "the API's errors are not a list"),
        ("deployment-branch-policies", {"branch_policies": [{"name": "dev"}]}, "does not read"),
    ],
)  # fmt: skip
def test_an_answer_of_another_shape_is_an_error_not_a_traceback(path_end, answer, message):
    with pytest.raises(SettingsError, match=message):
        github_settings.apply(settings(), Answers(path_end, answer))


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (subprocess.CompletedProcess([], 0, "<html>rate limited</html>", ""), "the answer is not JSON"),
        (subprocess.TimeoutExpired("gh", 60), "no answer within 60 s"),
    ],
)
def test_gh_answers_that_are_not_json_or_never_come_are_named(outcome, message):
    def run(command, **kwargs):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    with pytest.raises(SettingsError, match=f"gh api GET repos/a/b: {message}"):
        github_settings.gh_api(run)("GET", "repos/a/b")
