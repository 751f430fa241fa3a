terraform {
  # 1.11: S3-native state locking (use_lockfile), cross-variable validation, mock providers in tests.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Exact pin, and .terraform.lock.hcl (committed) holds its hashes: `init` refuses a
      # provider package that does not match them. Dependabot's terraform ecosystem updates both.
      version = "5.100.0"
    }
  }

  # Partial configuration: `make infra-init` passes backend.hcl, which `make bootstrap` writes
  # (bucket, key, region, use_lockfile = true). S3-native locking needs no DynamoDB table.
  backend "s3" {}
}
