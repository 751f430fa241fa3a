"""batch-predict refuses an OUTPUT in the release's bucket (issue 27, round 7, U-13: `--output
s3://<artifacts bucket>/models/x` was not refused locally, where models/<commit>/ is the released,
write-once artifact): named with the setting, before anything is read or started."""

from __future__ import annotations

import pytest

from textclf.batch import job
from textclf.config import AwsParams, BatchParams, ServeParams


@pytest.mark.parametrize(
    ("aws", "output", "setting"),
    [
        (AwsParams(), "s3://textclf-artifacts/models/x/", "aws.artifacts_bucket"),
        (AwsParams(), "s3://textclf-artifacts/batch/out/", "aws.artifacts_bucket"),
        (AwsParams(models_bucket="team-models"), "s3://team-models/models/x/", "aws.models_bucket"),
    ],
)
def test_an_output_in_the_release_bucket_is_refused_before_anything_starts(
    unreachable_aws, aws, output, setting
):
    with pytest.raises(job.BatchError) as refused:
        job.run(BatchParams(), ServeParams(), aws, "s3://textclf-data/batch/in/", output, "prod", print)

    message = str(refused.value)
    assert message.startswith(f"OUTPUT {output} is in the release's bucket ({setting} in params.yaml")
    assert "s3://textclf-data/batch/out/" in message and "nothing was started" in message


def test_an_output_in_the_data_bucket_goes_on_to_aws(unreachable_aws):
    with pytest.raises(job.BatchError, match="reading the model endpoint prod serves"):
        job.run(
            BatchParams(),
            ServeParams(),
            AwsParams(),
            "s3://textclf-data/batch/in/",
            "s3://textclf-data/batch/out/",
            "prod",
            print,
        )
