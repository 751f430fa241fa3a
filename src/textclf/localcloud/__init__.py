"""The local cloud: moto in server mode on 127.0.0.1, extended where moto lacks an AWS API.

Every cloud code path (DVC's S3 remote, Terraform, boto3 in the train backend and the redeploy
Lambda) runs unchanged against it through `AWS_ENDPOINT_URL`.
"""

from textclf.localcloud.server import LocalCloud, put_image_manifest

__all__ = ["LocalCloud", "put_image_manifest"]
