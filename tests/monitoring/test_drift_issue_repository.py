"""The drift issue's GITHUB_REPOSITORY goes into every API path (issue 27's fresh round): a `.` or
`..` part would move the request elsewhere in the API; it is refused naming the variable."""

from __future__ import annotations

import pytest

from textclf.monitoring import issue


@pytest.mark.parametrize("repository", ["acme/..", "../x", "./x", "acme/.", "acme/x/y", "acme"])
def test_a_repository_that_is_not_owner_name_is_refused(repository):
    with pytest.raises(issue.PayloadError, match=r"GITHUB_REPOSITORY=.*expected owner/name"):
        issue.GitHub("https://api.github.com", repository, "token")


def test_owner_name_with_dots_inside_is_a_repository():
    assert issue.GitHub("https://api.github.com/", "acme/text.classifier", "t").base.endswith(
        "/repos/acme/text.classifier"
    )
