"""`make ecs-roll`'s manifest read, hostile (issue 27's fresh round): a manifest that is valid JSON
but not an object (a list, a string, a number) ended in an AttributeError traceback; it is one
message naming the object, and nothing is rolled."""

from __future__ import annotations

import io

import pytest

from textclf.frontdoor import ecs_roll

COMMIT = "a" * 40


class S3:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def get_object(self, Bucket: str, Key: str):
        return {"Body": io.BytesIO(self.body)}


@pytest.mark.parametrize("body", [b"[]", b'"sha"', b"7", b"null", b'[{"commit": "x"}]'])
def test_a_manifest_that_is_not_an_object_is_one_message(body):
    with pytest.raises(SystemExit, match=f"models/{COMMIT}/manifest.json: not the manifest of {COMMIT}"):
        ecs_roll.released_model("bucket", "models/", COMMIT, S3(body))


def test_the_manifest_of_the_commit_gives_its_url_and_digest():
    body = b'{"commit": "' + COMMIT.encode() + b'", "sha256": "' + b"b" * 64 + b'"}'
    assert ecs_roll.released_model("bucket", "models/", COMMIT, S3(body)) == (
        f"s3://bucket/models/{COMMIT}/model.tar.gz",
        "b" * 64,
    )
