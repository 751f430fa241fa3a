"""The verified download's inputs, hostile (issue 27's fresh round): a model URL whose "bucket" is
not a bucket name (it goes into the request's host name), and a model folder that cannot hold the
archive. Each is a FetchError (one message from `textclf serve`), before any request is sent."""

from __future__ import annotations

import pytest

from textclf.serving import fetch

DIGEST = "ab" * 32
ENV = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_REGION": "us-east-1"}


@pytest.mark.parametrize(
    "url",
    [
        "s3://evil.example.com:443@bucket/models/a/model.tar.gz",
        "s3://user@bucket/models/a/model.tar.gz",
        "s3://bucket:8080/models/a/model.tar.gz",
        "s3://Bucket_Name/models/a/model.tar.gz",
        "s3://bucket/models/a/model.tar.gz?x-id=GetObject",
        "s3://bucket/models/a/model.tar.gz#frag",
        "s3://b/models/a/model.tar.gz",
        "s3://bucket/",
        "https://bucket.s3.amazonaws.com/models/a/model.tar.gz",
    ],
)
def test_a_model_url_that_is_not_a_bucket_and_key_is_refused_before_any_request(tmp_path, url):
    """Before: a user part, a port or another domain in the "bucket" became part of the host the
    signed request went to."""
    with pytest.raises(fetch.FetchError, match="is not an s3://bucket/key URL"):
        fetch.fetch(tmp_path / "model", url, DIGEST, ENV)
    assert not (tmp_path / "model").exists()


def test_a_model_folder_that_is_a_file_is_one_message(tmp_path):
    """Before: mkdir's FileExistsError reached `textclf serve` as a traceback."""
    (tmp_path / "model").write_text("not a folder")
    with pytest.raises(fetch.FetchError, match="model: cannot hold the downloaded model"):
        fetch.fetch(tmp_path / "model", "s3://bucket/models/a/model.tar.gz", DIGEST, ENV)
