"""params.yaml batch.output_filter took any string of up to 63 characters (`$(id)`, `../../etc`),
refused only when the transform job started (issue 27, U11). It is the job's
DataProcessing.OutputFilter: a JSONPath of SageMaker's supported operators, at most 63 characters
(CreateTransformJob API reference; "Associate Prediction Results with Input Records",
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html), applied to
records that are JSON objects here (JSON lines, each joined with "SageMakerOutput")."""

from __future__ import annotations

import pytest

from tests.code.test_params_folder_names import with_value
from textclf.config import ParamsError, parse_params

TAKEN = [
    "$",
    "$.SageMakerOutput",
    "$.SageMakerOutput.label",
    "$['id','SageMakerOutput']",
    "$['id', 'SageMakerOutput']",
    "$['order-id','SageMakerOutput']",
    "$.meta.['source','SageMakerOutput']",
    "$.*",
    "$[*]",
    "$['SageMakerOutput'].label",
    "$." + "f" * 61,  # 63 characters
]
REFUSED = [
    "$(id)",
    "../../etc",
    "`id`",
    "SageMakerOutput",
    "$.",
    "$..label",  # deep scan: not an operator SageMaker lists
    "$[?(@.score > 0.5)]",  # filter expressions: not supported
    "$['id',]",
    "$['id','SageMakerOutput'",
    "$['child1','child2.grandchild']",  # nesting inside brackets: not supported
    "$['a\\'b']",
    "$.label;rm -rf /",
    "$.a b",
    "$.x\n",
    " $",
]
INDEXES = ["$[0]", "$[1,3,5]", "$[2:5]", "$[0,5:]", "$[-1]"]


@pytest.mark.parametrize("path", TAKEN)
def test_a_jsonpath_sagemaker_takes_loads(path):
    assert parse_params(with_value("batch", "output_filter", path)).batch.output_filter == path


@pytest.mark.parametrize("path", REFUSED)
def test_what_is_no_jsonpath_sagemaker_takes_is_refused_when_params_load(path):
    with pytest.raises(ParamsError) as refused:
        parse_params(with_value("batch", "output_filter", path))
    message = str(refused.value)
    assert message.startswith("params.yaml: batch.output_filter: must be a JSONPath"), message
    assert "$['id','SageMakerOutput']" in message  # what to write


@pytest.mark.parametrize("path", INDEXES)
def test_array_indexes_are_refused_as_the_records_are_json_objects(path):
    with pytest.raises(ParamsError, match=r"batch\.output_filter: .*indexes and slices select CSV columns"):
        parse_params(with_value("batch", "output_filter", path))


def test_longer_than_63_characters_is_refused():
    with pytest.raises(ParamsError, match=r"batch\.output_filter: .*at most 63 characters"):
        parse_params(with_value("batch", "output_filter", "$." + "f" * 62))
