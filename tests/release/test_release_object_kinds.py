"""A tree, blob or tag sha in deploy/production.yaml or COMMIT is named as that object, not as a
commit missing from the history (issue 27, round 8, U-5b: fetching more history would never make
it a commit; publish's check_workspace_commit already said so, release's check_merged did not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.release.test_publish_commit import git, workspace  # noqa: F401 (workspace: the fixture)

from textclf.release import promote


@pytest.fixture
def checkout(workspace: Path) -> Path:  # noqa: F811
    """publish's workspace (two commits on main; the current folder) with an annotated tag."""
    git(workspace, "tag", "-a", "v1", "-m", "release one")
    return workspace


@pytest.mark.parametrize(
    ("kind", "ref"), [("blob", "HEAD:params.yaml"), ("tree", "HEAD^{tree}"), ("tag", "refs/tags/v1")]
)
def test_an_object_that_is_not_a_commit_is_named_for_what_it_is(checkout: Path, kind: str, ref: str) -> None:
    sha = git(checkout, "rev-parse", ref)
    with pytest.raises(promote.ReleaseError) as refused:
        promote.check_merged(sha)
    message = str(refused.value)
    assert message.startswith(f"{sha} is a {kind} of this repository, not a commit"), message
    assert "pass a commit of main (git rev-parse main)" in message
    assert "fetch" not in message


def test_a_commit_of_main_passes_and_a_missing_one_is_still_missing(checkout: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    assert promote.check_merged(head) == head
    with pytest.raises(promote.ReleaseError, match="is not in this checkout's history"):
        promote.check_merged("1" * 40)
