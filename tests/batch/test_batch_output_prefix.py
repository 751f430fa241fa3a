"""batch-predict refuses an OUTPUT that INPUT's prefix would list: S3 matches a key prefix as a string
(ListObjectsV2 Prefix, a transform job's S3Prefix input), not as a folder, so s3://b/in takes
s3://b/in-results/ too and the next run would read the results as input. INPUT must be under
batch.input_prefix and OUTPUT under batch.output_prefix (R13B-12), which params.yaml keeps apart:
an OUTPUT the INPUT lists is outside the output prefix, or INPUT outside the input prefix."""

from __future__ import annotations

import pytest
from tests.conftest import REPO_ROOT

from textclf.batch import job
from textclf.config import load_params

PARAMS = load_params(REPO_ROOT / "params.yaml")
AWS, BATCH = PARAMS.aws, PARAMS.batch
DATA = f"s3://{AWS.data_bucket}"


@pytest.mark.parametrize(
    ("input_uri", "output_uri", "refused"),
    [
        (f"{DATA}/batch/in", f"{DATA}/batch/in-results", "INPUT"),
        (f"{DATA}/batch/in", f"{DATA}/batch/in.out/", "INPUT"),
        (f"{DATA}/batch/in/", f"{DATA}/batch/in/out/", "OUTPUT"),
        (f"{DATA}/batch/in/", f"{DATA}/batch/in/", "OUTPUT"),
        (f"{DATA}/batch/", f"{DATA}/batch/out/", "INPUT"),
        (f"{DATA}/batch/in/data/in", f"{DATA}/batch/in/data/input.out", "OUTPUT"),
    ],
)
def test_an_output_the_input_prefix_lists_is_refused_naming_the_uri(input_uri, output_uri, refused):
    with pytest.raises(job.BatchError) as caught:
        job._check_uris(input_uri, output_uri, AWS, BATCH)
    message = str(caught.value)
    uri = input_uri if refused == "INPUT" else output_uri
    assert message.startswith(f"{refused} {uri} is outside the batch") and "nothing was started" in message


def test_the_refusal_says_a_folder_input_ends_with_a_slash():
    with pytest.raises(job.BatchError, match=rf"end INPUT with / \({DATA}/batch/in/\)"):
        job._check_uris(f"{DATA}/batch/in", f"{DATA}/batch/in-results", AWS, BATCH)


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        (f"{DATA}/batch/in/", f"{DATA}/batch/out/"),
        (f"{DATA}/batch/in/a", f"{DATA}/batch/out/a"),
        (f"{DATA}/batch/in/data/input", f"{DATA}/batch/out/data/in"),
    ],
)
def test_an_output_the_input_prefix_does_not_list_is_accepted(input_uri, output_uri):
    job._check_uris(input_uri, output_uri, AWS, BATCH)
