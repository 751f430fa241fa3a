"""The monitoring tests' fake GitHub refuses a request without one of its tokens (401, as GitHub
answers "Bad credentials"), as the rehearsal's fake GitHub does, and records nothing for it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.monitoring.fake_github import FakeGitHub


def call(url: str, method: str, path: str, token: str | None, body: object = None) -> int:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("token", [None, "wrong", "t0ken2", ""])
def test_a_wrong_or_missing_token_is_401_and_changes_nothing(token: str | None) -> None:
    with FakeGitHub(tokens=("right",)) as github:
        repo = "/repos/acme/text-classifier"
        assert call(github.url, "POST", f"{repo}/dispatches", token, {"event_type": "new-data"}) == 401
        assert call(github.url, "POST", f"{repo}/issues", token, {"title": "x", "body": "y"}) == 401
        assert call(github.url, "GET", f"{repo}/issues", token) == 401
        assert github.dispatches == [] and github.issues == []
        # The right token is served.
        assert call(github.url, "POST", f"{repo}/dispatches", "right", {"event_type": "new-data"}) == 204
        assert call(github.url, "GET", f"{repo}/issues", "right") == 200
