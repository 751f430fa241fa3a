"""Fixtures of tests/code: a repository whose main holds the intents model and whose checked-out
branch `spam` holds a spam filter's metrics (a new task), built once with real git and DVC."""

from __future__ import annotations

import pytest

from tests.review.conftest import (
    MAIN_DATA,
    MAIN_EVAL,
    Project,
    data_metrics,
    enter,
    eval_metrics,
    new_project,
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


@pytest.fixture(scope="module")
def spam_history(tmp_path_factory, repo_root) -> Project:
    project = new_project(tmp_path_factory.mktemp("new-task") / "repo", repo_root)
    project.write_outputs(MAIN_EVAL, MAIN_DATA, steps=200, final_loss=0.31)
    project.commit("main: the intents model")
    project.git("checkout", "-q", "-b", "spam")
    params = project.params()
    params["data"]["labels"] = ["ham", "spam"]
    project.write_params(params)
    project.write_outputs(SPAM_EVAL, SPAM_DATA, steps=120, final_loss=0.2)
    project.commit("spam: a spam filter on our own e-mails")
    return project


@pytest.fixture
def spam_repo(spam_history, monkeypatch) -> Project:
    return enter(spam_history, monkeypatch)
