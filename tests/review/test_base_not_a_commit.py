"""--base naming an object this repository holds that is not a commit (a blob or tree sha) is named
as what it is (round 9, U-5c): the gate, the report and the summary said "not found: fetch it
first", advice that can never work for a blob."""

from __future__ import annotations

import pytest

from textclf import cli
from textclf.review import champion
from textclf.review.champion import ChampionError


@pytest.mark.parametrize(("spec", "kind"), [("HEAD:params.yaml", "blob"), ("HEAD^{tree}", "tree")])
def test_a_blob_or_tree_is_named_as_such(pr_repo, no_aws, spec, kind):
    sha = pr_repo.git("rev-parse", spec)

    with pytest.raises(ChampionError) as refused:
        champion.resolve_ref(sha)

    message = str(refused.value)
    assert message.startswith(f"git ref '{sha}' is a {kind} of this repository, not a commit")
    assert "fetch" not in message and "--base main" in message


def test_the_gate_refuses_it_in_one_line(pr_repo, no_aws, capsys):
    sha = pr_repo.git("rev-parse", "HEAD:params.yaml")

    assert cli.main(["gate", "--champion", "main", "--base", sha]) == 2
    assert f"git ref '{sha}' is a blob of this repository, not a commit" in capsys.readouterr().err


def test_a_missing_branch_still_gets_the_fetch_advice(pr_repo, no_aws):
    with pytest.raises(ChampionError, match=r"git ref 'no-such-branch' not found: fetch it first"):
        champion.resolve_ref("no-such-branch")


def test_a_name_git_resolves_to_a_commit_only_without_the_commit_suffix_names_the_commit(pr_repo, no_aws):
    """`--base ':/pr: new class'` (a search of commit messages): `<ref>^{commit}` searched for
    "...^{commit}" and the refusal said the commit was "a commit of this repository, not a commit"."""
    sha = pr_repo.git("rev-parse", "HEAD")
    with pytest.raises(ChampionError) as refused:
        champion.resolve_ref(":/pr: new class")
    assert str(refused.value) == (
        f"git ref ':/pr: new class' finds commit {sha[:12]}, but not as a name the report and DVC can pass "
        f"on (a search of commit messages?): pass the commit itself, --base {sha}, or a branch"
    )
