"""The training-run function refuses a job whose HyperParameters the training program would refuse
(issue 27, round 8, U-t1): the function passed the runner's HyperParameters on unchecked, so epochs
1e300 trained until MaxRuntime. Its bounds are params.yaml's: derived here from the config
sections' own fields, the function's table must be the same."""

from __future__ import annotations

import typing

import annotated_types
import pytest

from tests.training.test_stop_job import RUN, RUN_SETTINGS, runner_request
from textclf.config import ModelParams, Params, ServeParams, TrainParams
from textclf.pipeline.train import Hyperparameters
from textclf.training import stop_job

BOUND_NAMES = {
    annotated_types.Gt: "gt",
    annotated_types.Ge: "ge",
    annotated_types.Lt: "lt",
    annotated_types.Le: "le",
}


def rule_of(section: type, name: str) -> dict:
    """The function's form of the bounds params.yaml puts on `section.name`."""
    field = section.model_fields[name]
    if field.annotation is bool:
        return {"kind": "boolean"}
    if typing.get_origin(field.annotation) is typing.Literal:
        return {"kind": "choice", "choices": typing.get_args(field.annotation)}
    rule = {"kind": "integer" if field.annotation is int else "number"}
    for item in field.metadata:
        for kind, key in BOUND_NAMES.items():
            if isinstance(item, kind):
                rule[key] = getattr(item, key)
    return rule


def test_the_function_s_bounds_are_params_yaml_s():
    derived = {name: rule_of(TrainParams, name) for name in TrainParams.model_fields if name != "backend"}
    derived["max_length"] = rule_of(ModelParams, "max_length")
    derived |= {name: rule_of(ServeParams, name) for name in ("quantize", "int8_tolerance")}

    assert derived == stop_job.HYPERPARAMETER_BOUNDS
    # Every hyperparameter the training program takes is checked, and nothing else is accepted.
    assert set(Hyperparameters.model_fields) == {*derived, *stop_job.OTHER_HYPERPARAMETERS}


def test_what_the_runner_sends_for_the_template_passes(monkeypatch, repo_root):
    for key, value in RUN_SETTINGS.items():
        monkeypatch.setenv(key, value)
    from textclf.config import load_params

    sent = Hyperparameters.from_params(load_params(repo_root / "params.yaml")).for_sagemaker()
    assert stop_job.hyperparameter_problems(sent) == []
    assert stop_job.job_request(runner_request(HyperParameters=sent), RUN)["HyperParameters"] == sent
    assert stop_job.hyperparameter_problems(Hyperparameters.from_params(Params()).for_sagemaker()) == []


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("epochs", "inf", "is not a finite decimal number"),
        ("epochs", "1e300", "must be <= 10000"),
        ("epochs", "nan", "is not a finite decimal number"),
        ("learning_rate", "50", "must be < 1"),
        ("weight_decay", "inf", "is not a finite decimal number"),
        ("batch_size", "100000000", "must be <= 1024"),
        ("batch_size", "1e8", "is not a whole number"),
        ("seed", "-5", "must be >= 0"),
        ("seed", "10000000000000000000", "must be <= 4294967295"),
        ("group_by_length", "yes", "must be true or false"),
        ("quantize", "fp16", "must be one of none, int8, auto"),
        ("int8_tolerance", "2", "must be <= 1"),
        ("entrypoint", "sh", "is not a hyperparameter of the training program"),
        ("epochs", 3, "must be a string"),
    ],
)
def test_a_job_with_a_hyperparameter_params_yaml_refuses_is_not_started(monkeypatch, key, value, said):
    for name, setting in RUN_SETTINGS.items():
        monkeypatch.setenv(name, setting)

    with pytest.raises(stop_job.Refused, match=rf"HyperParameters: .*{key}.*{said}"):
        stop_job.job_request(runner_request(HyperParameters={"epochs": "1", key: value}), RUN)
