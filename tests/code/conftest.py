"""Fixtures of tests/code: a repository whose main holds the intents model and whose checked-out
branch `spam` holds a spam filter's metrics (a new task), built once with real git and DVC."""

from __future__ import annotations

import pytest

from tests.review.conftest import (
    Project,
    branch_from_main,
    data_metrics,
    enter,
    eval_metrics,
)

# A spam filter on a branch of a repository whose main holds the intents model (MAIN_EVAL).
SPAM_EVAL = eval_metrics({"ham": {"ham": 52, "spam": 6}, "spam": {"spam": 35, "ham": 7}})
SPAM_DATA = data_metrics({"ham": (270, 58, 58), "spam": (190, 41, 42)})
# The same task as main, clearly worse than main's macro-F1 (0.9 or so) yet above the thresholds.
WORSE_EVAL = eval_metrics(
    {
        "billing": {"billing": 18, "returns": 2},
        "delivery": {"delivery": 19, "billing": 1},
        "returns": {"returns": 17, "billing": 3},
    }
)


def _spam_labels(params: dict) -> None:
    params["data"]["labels"] = ["ham", "spam"]


@pytest.fixture(scope="module")
def spam_history(tmp_path_factory, repo_root) -> Project:
    return branch_from_main(
        tmp_path_factory.mktemp("new-task") / "repo",
        repo_root,
        "main: the intents model",
        "spam",
        _spam_labels,
        (SPAM_EVAL, SPAM_DATA, 120, 0.2),
        "spam: a spam filter on our own e-mails",
    )


@pytest.fixture
def spam_repo(spam_history, monkeypatch) -> Project:
    return enter(spam_history, monkeypatch)
