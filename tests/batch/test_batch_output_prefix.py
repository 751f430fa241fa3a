"""batch-predict refuses an OUTPUT that INPUT's prefix would list: S3 matches a key prefix as a string
(ListObjectsV2 Prefix, a transform job's S3Prefix input), not as a folder, so s3://b/in takes
s3://b/in-results/ too and the next run would read the results as input."""

from __future__ import annotations

import pytest
from tests.conftest import REPO_ROOT

from textclf.batch import job
from textclf.config import load_params

AWS = load_params(REPO_ROOT / "params.yaml").aws


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        ("s3://b/in", "s3://b/in-results"),
        ("s3://b/in", "s3://b/in.out/"),
        ("s3://b/data/in", "s3://b/data/input.out"),
        ("s3://b/in/", "s3://b/in/out/"),
        ("s3://b/in", "s3://b/in/"),
        ("s3://b", "s3://b/out/"),
    ],
)
def test_an_output_the_input_prefix_lists_is_refused_naming_both(input_uri, output_uri):
    with pytest.raises(job.BatchError) as refused:
        job._check_uris(input_uri, output_uri, AWS)
    message = str(refused.value)
    assert f"OUTPUT {output_uri} is inside INPUT {input_uri}" in message and "nothing was started" in message


def test_the_refusal_says_a_folder_input_ends_with_a_slash():
    with pytest.raises(job.BatchError, match=r"end INPUT with / \(s3://b/in/\)"):
        job._check_uris("s3://b/in", "s3://b/in-results", AWS)


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        ("s3://b/in/", "s3://b/in-results/"),
        ("s3://b/in", "s3://b/out/"),
        ("s3://b/in", "s3://bb/in/out/"),
        ("s3://b/data/input", "s3://b/data/in"),
    ],
)
def test_an_output_the_input_prefix_does_not_list_is_accepted(input_uri, output_uri):
    job._check_uris(input_uri, output_uri, AWS)
