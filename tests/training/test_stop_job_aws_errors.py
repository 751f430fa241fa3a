"""The stop-training function's stop path answers SageMaker's refusals and an unreachable SageMaker
with a reason, as its start and publish paths do (R14C-1): a DescribeTrainingJob denied (the role's
policy), throttled or unreachable, and a StopTrainingJob refused because the job ended between the
two calls, escaped the handler as botocore's exception (a Lambda error with its stack, which Lambda
retries for an asynchronous invocation), where the module promises "a reason, never an exception
Lambda would retry"."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from tests.github_issuer import Issuer
from tests.training.test_stop_job import FUNCTION, OWN_JOB, PREFIX, REPOSITORY
from textclf.training import stop_job

CONTEXT = type("Context", (), {"function_name": FUNCTION})()


def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def sagemaker(monkeypatch, issuer):
    """A SageMaker client whose calls do what the test says; the function's settings and keys set."""
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("JOB_NAME_PREFIX", PREFIX)
    monkeypatch.setattr(stop_job, "_cached_keys", stop_job.public_keys(issuer.jwks()))
    monkeypatch.setattr(stop_job, "_fetched_at", time.monotonic())

    class SageMaker:
        describe = staticmethod(lambda: {"TrainingJobStatus": "InProgress"})
        stop = staticmethod(lambda: None)

        def __init__(self) -> None:
            self.stopped: list[str] = []

        def describe_training_job(self, TrainingJobName):
            return self.describe()

        def stop_training_job(self, TrainingJobName):
            self.stop()
            self.stopped.append(TrainingJobName)

    fake = SageMaker()
    monkeypatch.setattr("boto3.client", lambda service, **_: fake)
    return fake


def request(issuer: Issuer) -> dict:
    return {"job_name": OWN_JOB, "token": issuer.token(FUNCTION, REPOSITORY)}


def raising(error: Exception):
    def call():
        raise error

    return call


def test_the_runs_job_is_stopped(sagemaker, issuer):
    assert stop_job.handler(request(issuer), CONTEXT) == {
        "ok": True,
        "outcome": "stopped",
        "job_name": OWN_JOB,
        "status": "InProgress",
    }
    assert sagemaker.stopped == [OWN_JOB]


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            client_error(
                "AccessDeniedException", "not authorized to perform: sagemaker:DescribeTrainingJob", "X"
            ),
            "AccessDeniedException",
        ),
        (client_error("ThrottlingException", "Rate exceeded", "DescribeTrainingJob"), "ThrottlingException"),
        (EndpointConnectionError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com/"), "connect"),
        (ReadTimeoutError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com/"), "timeout"),
    ],
)
def test_a_describe_sagemaker_refuses_or_never_answers_is_a_reason_not_an_exception(
    sagemaker, issuer, error, said
):
    sagemaker.describe = raising(error)
    result = stop_job.handler(request(issuer), CONTEXT)
    assert result["ok"] is False and result["status"] == "failed"
    assert said.lower() in result["reason"].lower() and OWN_JOB in result["reason"]
    assert sagemaker.stopped == []


def test_a_job_that_ended_between_describe_and_stop_is_finished_not_an_exception(sagemaker, issuer):
    """SageMaker refuses StopTrainingJob for a job no longer in progress (ValidationException): the
    job ended meanwhile, which is what the run wanted."""
    sagemaker.stop = raising(
        client_error(
            "ValidationException",
            f"The request was rejected because the training job is in status Completed. ({OWN_JOB})",
            "StopTrainingJob",
        )
    )
    statuses = iter([{"TrainingJobStatus": "InProgress"}, {"TrainingJobStatus": "Completed"}])
    sagemaker.describe = lambda: next(statuses)
    result = stop_job.handler(request(issuer), CONTEXT)
    assert result == {"ok": True, "outcome": "finished", "job_name": OWN_JOB, "status": "Completed"}


def test_a_stop_sagemaker_refuses_otherwise_is_a_reason_not_an_exception(sagemaker, issuer):
    sagemaker.stop = raising(
        client_error("AccessDeniedException", "not authorized: sagemaker:StopTrainingJob", "StopTrainingJob")
    )
    result = stop_job.handler(request(issuer), CONTEXT)
    assert result["ok"] is False and result["status"] == "failed"
    assert "AccessDeniedException" in result["reason"] and OWN_JOB in result["reason"]
