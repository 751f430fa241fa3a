"""GITHUB_REPOSITORY is checked with github-settings' rule, whole string (issue 27, round 8, U-s2:
'o/r\n', '../..', '.../x' and '-o/r' passed desired.repository() and went into gh api paths)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textclf.release import desired


@pytest.mark.parametrize(
    "name", ["o/r\n", "../..", ".../x", "-o/r", "a/..", "a/.", "o/r/x", "o", "", "o/r x"]
)
def test_a_repository_github_would_not_name_is_refused(monkeypatch, name: str) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", name)
    with pytest.raises(
        desired.DesiredStateError, match=r"GITHUB_REPOSITORY: repository .* must be OWNER/NAME"
    ):
        desired.repository()


@given(st.text(min_size=1, max_size=12))
def test_whatever_passes_is_a_whole_owner_name(suffix: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_REPOSITORY", "acme/text-classifier" + suffix.replace("\0", ""))
        try:
            name = desired.repository()
        except desired.DesiredStateError:
            return
    owner, _, repo = name.partition("/")
    assert "/" not in repo and repo not in (".", "..") and not owner.startswith("-")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in repo)


def test_a_repository_name_passes(monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/text-classifier.v2")
    assert desired.repository() == "acme/text-classifier.v2"
