"""ECR in the local cloud addresses an image by the digest of its manifest and refuses what ECR
refuses at PutImage (R14B-38): every image without layers had the digest of nothing."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tests.infra.test_localcloud_lambda_checks import refused


def manifest(config: str) -> str:
    """A Docker v2 manifest without layers (what put_image_manifest pushes), its config `config`."""
    digest = "sha256:" + hashlib.sha256(config.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": digest,
            },
            "layers": [],
        }
    )


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_each_image_has_the_digest_of_its_manifest_and_is_found_by_it(aws_env):
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="serving")
    for number in "123":
        ecr.put_image(repositoryName="serving", imageManifest=manifest(number), imageTag=f"v{number}")
    listed = {
        image["imageTag"]: image["imageDigest"]
        for image in ecr.list_images(repositoryName="serving")["imageIds"]
    }
    assert listed == {f"v{number}": sha256(manifest(number)) for number in "123"}
    found = ecr.describe_images(repositoryName="serving", imageIds=[{"imageDigest": sha256(manifest("2"))}])
    assert found["imageDetails"][0]["imageTags"] == ["v2"]
    empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    refused(
        lambda: ecr.describe_images(repositoryName="serving", imageIds=[{"imageDigest": empty}]),
        "ImageNotFoundException",
        400,
    )


def test_an_immutable_tag_pushed_with_another_manifest_is_refused(aws_env):
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="pinned", imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName="pinned", imageManifest=manifest("1"), imageTag="v1")
    refused(
        lambda: ecr.put_image(repositoryName="pinned", imageManifest=manifest("2"), imageTag="v1"),
        "ImageTagAlreadyExistsException",
        400,
    )
    refused(
        lambda: ecr.put_image(repositoryName="pinned", imageManifest=manifest("1"), imageTag="v1"),
        "ImageAlreadyExistsException",
        400,
    )
    assert [image["imageDigest"] for image in ecr.list_images(repositoryName="pinned")["imageIds"]] == [
        sha256(manifest("1"))
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"imageManifest": "nope"}, "InvalidParameterException"),
        ({"imageManifest": "[1]"}, "InvalidParameterException"),
        ({"imageDigest": "sha256:" + "0" * 64}, "ImageDigestDoesNotMatchException"),
        ({"repositoryName": "absent"}, "RepositoryNotFoundException"),
    ],
)
def test_put_image_refuses_what_ecr_refuses(aws_env, change, code):
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="serving")
    request = {"repositoryName": "serving", "imageManifest": manifest("1"), "imageTag": "v1"} | change
    refused(lambda: ecr.put_image(**request), code, 400)
    assert ecr.list_images(repositoryName="serving")["imageIds"] == []
    ecr.put_image(
        **request
        | {"repositoryName": "serving", "imageManifest": manifest("1"), "imageDigest": sha256(manifest("1"))}
    )
