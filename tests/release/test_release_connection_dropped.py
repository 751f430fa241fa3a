"""A connection S3 closes unanswered is "cannot read ...", not an AttributeError (R13B-29).

botocore's ConnectionClosedError, a BotoCoreError, carries no answer (`response` is None), and the
release commands' "is it missing?" test read its error code from it: release-check, promote,
staging-check --commit and release-published ended in a traceback about NoneType.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from tests.slow_answers import dropping

from textclf.config import AwsParams
from textclf.release import promote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_dropped_connection_names_the_manifest_it_could_not_read(aws_env):
    with dropping() as url:
        s3 = boto3.client("s3", endpoint_url=url, config=Config(retries={"max_attempts": 1}, read_timeout=5))
        with pytest.raises(promote.ReleaseError) as refused:
            promote.find_artifact(COMMIT, AwsParams(artifacts_bucket="textclf-artifacts"), s3)
    message = str(refused.value)
    assert message.startswith(f"cannot read s3://textclf-artifacts/models/{COMMIT}/manifest.json: "), message
    assert "Connection was closed" in message, message
