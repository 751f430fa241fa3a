"""The training image's hyperparameters are held to params.yaml's own rules (issue 27, round 8,
U-t1): what config.TrainParams, ModelParams.max_length and ServeParams refuse, a job's
HyperParameters refuse too, naming the key; before, epochs inf or 1e300, a learning rate of 50, a
seed of -5 and a single label started training."""

from __future__ import annotations

import json

import pytest

from textclf.config import ModelParams, ServeParams, TrainParams, load_params
from textclf.pipeline.train import Hyperparameters, _job_hyperparameters


@pytest.fixture
def sent(repo_root) -> dict[str, str]:
    """What the SageMaker backend sends for the template's params.yaml."""
    return Hyperparameters.from_params(load_params(repo_root / "params.yaml")).for_sagemaker()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("epochs", "inf"),
        ("epochs", "1e300"),
        ("epochs", "nan"),
        ("epochs", "0"),
        ("learning_rate", "inf"),
        ("learning_rate", "50"),
        ("weight_decay", "inf"),
        ("warmup_ratio", "1"),
        ("batch_size", "100000000"),
        ("seed", "-5"),
        ("seed", "100000000000000000000"),
        ("eval_steps", "10000000000"),
        ("save_total_limit", "100000"),
        ("max_length", "4096"),
        ("int8_tolerance", "nan"),
        ("labels", '["billing"]'),
        ("labels", '["billing", "billing"]'),
        ("labels", '["billing", ""]'),
    ],
)
def test_a_value_params_yaml_refuses_is_refused_in_the_job(tmp_path, monkeypatch, sent, key, value):
    monkeypatch.delenv("SM_HPS", raising=False)
    (tmp_path / "hyperparameters.json").write_text(json.dumps({**sent, key: value}))

    with pytest.raises(ValueError, match=rf"hyperparameters\.json: .*{key}"):
        _job_hyperparameters(tmp_path)


def test_the_bounds_are_params_yaml_s_own(sent):
    """Not a copy: each checked key's bounds are the config section's field metadata."""
    hp = Hyperparameters.model_fields
    for section, keys in (
        (TrainParams, set(TrainParams.model_fields) - {"backend"}),
        (ModelParams, {"max_length"}),
        (ServeParams, {"quantize", "int8_tolerance"}),
    ):
        for key in keys:
            assert hp[key].metadata == section.model_fields[key].metadata, key
            assert hp[key].annotation == section.model_fields[key].annotation, key
    assert Hyperparameters.from_sagemaker(sent).for_sagemaker() == sent


def test_hyperparameters_that_are_not_an_object_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SM_HPS", "[]")

    with pytest.raises(ValueError, match="must be a JSON object of strings, not list"):
        _job_hyperparameters(tmp_path)
