"""sagemaker.* prefixes and tags that AWS or the release's own layout refuse later: a job output or
checkpoint prefix under models/ (write-once released models), production/ (the champion's record),
candidates/ or reports/, or inside the write-once datasets prefix; a tag key starting with aws:,
which CreateTrainingJob refuses only when the job starts."""

from __future__ import annotations

import pytest

from tests.code.test_params_folder_names import with_value
from textclf.config import ParamsError, parse_params


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("models_prefix", "models", r"sagemaker\.models_prefix: must not be under models/"),
        ("checkpoints_prefix", "models/ckpt", r"sagemaker\.checkpoints_prefix: must not be under models/"),
        ("models_prefix", "production", r"must not be under production/"),
        ("datasets_prefix", "candidates/x", r"must not be under candidates/"),
        ("checkpoints_prefix", "datasets/ckpt", r"apart from sagemaker\.datasets_prefix"),
        ("tags", {"aws:team": "x"}, r"sagemaker\.tags: .*not starting with aws:"),
        ("tags", {"AWS:team": "x"}, r"not starting with aws:"),
        ("tags", {"": "x"}, r"a key of 1 to 128 characters"),
        ("tags", {"team": "x" * 257}, r"a value of at most 256"),
    ],
)
def test_prefixes_and_tags_the_release_or_aws_refuse_are_refused(key, value, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(with_value("sagemaker", key, value))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("models_prefix", "team/jobs"),
        ("checkpoints_prefix", "modelsx"),
        ("tags", {"team": "nlp", "cost": "aws:x"}),
    ],
)
def test_neighbouring_values_pass(key, value):
    assert getattr(parse_params(with_value("sagemaker", key, value)).sagemaker, key) == value
