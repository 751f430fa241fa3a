"""GitHub answers of shapes GitHub never sends are "no", not a TypeError (R13B-23): a permission that
is a list or an object (`{"permission": ["write"]}`) was looked up in a set of names, which raised
"unhashable type"; the drift issue and the production-mismatch issue search (textclf.release.desired)
ended in a traceback. Its neighbours, the issue's `user.login` and `author_association`, the same."""

from __future__ import annotations

import pytest

from textclf.monitoring import issue

MEMBER = {"user": {"login": "alice"}, "author_association": "MEMBER"}


class Refused(Exception):
    pass


@pytest.mark.parametrize("permission", [["write"], {"name": "write"}, 1, None, True, "Write", "maintain"])
def test_a_permission_github_never_sends_is_no(permission):
    assert issue.author_may_write(MEMBER, lambda path: {"permission": permission}, Refused) is False


@pytest.mark.parametrize("answer", [["write"], "write", 5, None])
def test_a_permission_answer_that_is_no_object_is_no(answer):
    assert issue.author_may_write(MEMBER, lambda path: answer, Refused) is False


def test_write_and_admin_are_yes():
    for permission in ("write", "admin"):
        assert issue.author_may_write(MEMBER, lambda path, p=permission: {"permission": p}, Refused)


@pytest.mark.parametrize("login", [["github-actions[bot]"], {"a": 1}, 7])
def test_a_login_of_another_shape_is_not_ours_and_never_asked_for(login):
    shape = {"user": {"login": login}, "author_association": "NONE"}
    asked: list[str] = []
    assert issue.opened_by_us(shape) is False
    assert issue.author_may_write(shape, lambda path: asked.append(path), Refused) is False
    assert asked == []


@pytest.mark.parametrize("association", [["MEMBER"], {"MEMBER": 1}, 1])
def test_an_association_of_another_shape_is_not_trusted(association):
    assert issue.opened_by_us({"user": {"login": "x"}, "author_association": association}) is False
