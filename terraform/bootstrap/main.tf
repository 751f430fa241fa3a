# The Terraform state bucket, created once per account and region by `make bootstrap` before
# anything else exists. Its own state is local (terraform.tfstate here, or under .localcloud/
# for the local cloud): it holds this one bucket and can be re-created with `terraform import`.
# Locking is S3-native (use_lockfile = true in the main backend), so there is no DynamoDB table.

terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Local state: terraform.tfstate here, or .localcloud/bootstrap.tfstate for the local cloud
  # (scripts/tf.sh passes the path).
  backend "local" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { Project = var.project, ManagedBy = "terraform" })
  }
}

data "aws_caller_identity" "current" {}

locals {
  bucket = coalesce(var.state_bucket_name, "${var.project}-tfstate-${data.aws_caller_identity.current.account_id}-${var.region}")
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access logs need another bucket; Terraform state changes are recorded as object versions.
  #checkov:skip=CKV_AWS_144:The state is small and versioned; replicate it only if the region itself must be survived.
  #checkov:skip=CKV2_AWS_62:Nothing needs to react to state writes.
  #checkov:skip=CKV2_AWS_61:Old state versions are kept on purpose (the recovery history); they are kilobytes.
  bucket = local.bucket

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled" # every state version can be recovered
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      # The state bucket exists before the project key (which the main configuration creates),
      # so it uses the AWS-managed S3 key.
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "state" {
  # Off only for the local cloud, which speaks plain HTTP (see var.enforce_tls).
  count = var.enforce_tls ? 1 : 0

  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.state]
}
