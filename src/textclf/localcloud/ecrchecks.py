"""ECR images are addressed by the digest of their manifest, and PutImage refuses what ECR refuses.

moto gave an image the SHA-256 of its layer digests joined, so every image without layers (what
`put_image_manifest` and any config-only manifest push) had the digest of nothing,
`sha256:e3b0c442...b855`: three different images shared one digest, a lookup by a real digest found
nothing and the empty one matched every image, and an immutable tag pushed again with another
manifest was refused as if it were the same image (issue 27, R14B-38). A manifest that was not
JSON, or a repository that does not exist, was an HTML 500.

As ECR does (ECR API reference, PutImage,
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html, and ImageIdentifier;
the registry's content addressing, OCI distribution specification, "the digest of the manifest ...
is the digest of its bytes as pushed"):
- the digest is `sha256:` and the SHA-256 of the manifest as pushed; an imageDigest given with the
  call that is not it is `ImageDigestDoesNotMatchException` ("The specified image digest does not
  match the digest that Amazon ECR calculated for the image");
- a manifest that is not a JSON object is `InvalidParameterException`; a repository that does not
  exist `RepositoryNotFoundException`;
- in an IMMUTABLE repository a tag already on another image is `ImageTagAlreadyExistsException`
  ("The specified image is tagged with a tag that already exists. The repository is configured for
  tag immutability"); the same manifest under the same tag stays `ImageAlreadyExistsException`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any


def manifest_digest(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def _refused(code: str, message: str) -> Exception:
    from moto.core.exceptions import ServiceException

    print(f"[local cloud] REFUSED PutImage ({code}): {message}", file=sys.stderr)
    # Raised from this module, not moto's core: moto then finds the code's shape (and status) in the
    # model of the service being called, ECR's.
    refusal = type("EcrRefusal", (ServiceException,), {"__module__": __name__})
    return refusal(code, message)


def _check_put(backend: Any, repository_name: str, manifest: Any, tag: Any, digest: Any) -> None:
    from moto.ecr.exceptions import RepositoryNotFoundException

    repository = backend.repositories.get(repository_name)
    if repository is None:
        raise RepositoryNotFoundException(repository_name, backend.account_id)
    try:
        parsed = json.loads(manifest) if isinstance(manifest, str) else None
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise _refused(
            "InvalidParameterException",
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
        )
    computed = manifest_digest(manifest)
    if digest and digest != computed:
        raise _refused(
            "ImageDigestDoesNotMatchException",
            f"The specified image digest {digest} does not match the digest that Amazon ECR calculated for "
            f"the image ({computed})",
        )
    if tag and repository.is_tag_immutable():
        for image in repository.images:
            if tag in image.image_tags and image.image_manifest != manifest:
                raise _refused(
                    "ImageTagAlreadyExistsException",
                    f"The image tag '{tag}' already exists in the '{repository_name}' repository and cannot "
                    "be overwritten because the repository is immutable.",
                )


def install() -> None:
    """Digest images by their manifests and check PutImage; called once before the local cloud starts."""
    from moto.ecr.models import ECRBackend, Image

    def create_digest(self: Any) -> None:
        self._image_digest = manifest_digest(self.image_manifest)

    Image._create_digest = create_digest

    put_image = ECRBackend.put_image

    def checked_put_image(
        self: Any,
        repository_name: str,
        image_manifest: str,
        image_tag: str,
        image_manifest_mediatype: str | None = None,
        digest: str | None = None,
    ) -> Any:
        _check_put(self, repository_name, image_manifest, image_tag, digest)
        return put_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest)

    ECRBackend.put_image = checked_put_image
