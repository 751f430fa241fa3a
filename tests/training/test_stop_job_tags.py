"""The training-run function's `start` takes the runner's Tags only as SageMaker's list of
{"Key", "Value"} objects, and answers any unexpected error with a reason (R13B-17: `"Tags": 5`, true
or 1.5 ended in TypeError, returned by Lambda as a stack trace to the pull request's run; a string, a
map or a list of strings was silently dropped; `[{"Key": 5}]` reached SageMaker's validation)."""

from __future__ import annotations

import time

import pytest

from tests.training.test_stop_job import FUNCTION, RUN, RUN_SETTINGS, runner_request
from textclf.training import stop_job

RULE = 'Tags must be a list of at most 50 {"Key": "...", "Value": "..."} objects'


@pytest.fixture
def settings(monkeypatch) -> None:
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        (5, ", not 5"),
        (True, ", not True"),
        (1.5, ", not 1.5"),
        ("abc", ", not 'abc'"),
        ({"a": 1}, ", not {'a': 1}"),
        ([{"Key": "team", "Value": "nlp"}] * 51, ", not [{'Key': 'team'"),
        (
            [{"Key": f"t{n}", "Value": ""} for n in range(50)],
            ", the function's own git-commit among them: 50",
        ),
        (["a"], ": Tags[0] 'a' is not one"),
        ([{"Key": 5, "Value": "x"}], ": Tags[0] {'Key': 5, 'Value': 'x'} is not one"),
        ([{"Key": "team"}], ": Tags[0] {'Key': 'team'} is not one"),
        ([{"Key": "team", "Value": "nlp", "Extra": 1}], ": Tags[0] {'Key': 'team', 'Value': 'nlp', 'Ext"),
        ([{"Key": "", "Value": "x"}], ": Tags[0] {'Key': '', 'Value': 'x'} is not one"),
        ([{"Key": "k" * 129, "Value": "x"}], ": Tags[0] {'Key': 'kkkkk"),
        ([{"Key": "team", "Value": "v" * 257}], ": Tags[0] {'Key': 'team', 'Value': 'vvvv"),
        ([{"Key": "ok", "Value": "1"}, {"Key": "a;b", "Value": "x"}], ": Tags[1] {'Key': 'a;b', 'Value'"),
        ([{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}], ": the Key 'team' is given twice"),
        ([{"Key": "aws:cost", "Value": "x"}], ": Tags[0] {'Key': 'aws:cost', 'Value': 'x'} is not one"),
    ],
)
def test_tags_that_are_not_sagemakers_are_refused_naming_them(settings, tags, named):
    with pytest.raises(stop_job.Refused) as refused:
        stop_job.job_request(runner_request(Tags=tags), RUN)
    assert str(refused.value).startswith(f"{RULE} (SageMaker's Tag){named}"), refused.value


def test_what_the_runner_sends_is_taken(settings):
    """textclf.training.sagemaker's tags: project, git-commit, git-branch, hyperparameters and the
    user's, 50 in all at most (config's MAX_USER_TAGS)."""
    user = [{"Key": f"cost-{n}", "Value": "centre 7"} for n in range(46)]
    sent = [
        {"Key": "project", "Value": "textclf"},
        {"Key": "git-commit", "Value": RUN["head"]},
        {"Key": "git-branch", "Value": "feature/x"},
        {"Key": "hyperparameters", "Value": "0123456789abcdef"},
        *user,
    ]
    job = stop_job.job_request(runner_request(Tags=sent), RUN)
    assert job["Tags"] == [
        *sent[0::3][:2],
        *user,
        {"Key": "git-commit", "Value": RUN["head"]},
    ]  # git-* its own


def test_sagemakers_tags_are_kept_and_the_functions_own_set_last(settings):
    tags = [
        {"Key": "team", "Value": "nlp"},
        {"Key": "cost centre", "Value": ""},
        {"Key": "git-x", "Value": "y"},
    ]
    job = stop_job.job_request(runner_request(Tags=tags), RUN)
    assert job["Tags"] == [*tags[:2], {"Key": "git-commit", "Value": RUN["head"]}]
    assert stop_job.job_request(runner_request(), RUN)["Tags"] == [
        {"Key": "git-commit", "Value": RUN["head"]}
    ]


def test_an_unexpected_error_in_an_action_is_an_answer_not_a_stack_trace(monkeypatch, capsys):
    def broken(event, run):
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(stop_job, "verified_run", lambda event, function_name, now: RUN)
    monkeypatch.setattr(stop_job, "start_job", broken)
    answer = stop_job.run_action({"action": "start"}, FUNCTION, time.time())
    assert answer == {
        "ok": False,
        "status": "failed",
        "reason": "start: TypeError: 'int' object is not iterable",
    }
    assert '"outcome": "failed"' in capsys.readouterr().out
