# Two buckets, configured alike: versioned, encrypted with the project key, never public,
# reachable over TLS only, with lifecycle rules that expire what is no longer needed.
#
# data:      dvc/ (the DVC remote), incoming/ (new raw data; an upload starts retraining),
#            captured/ (sampled texts, when capture is on; expired: capture.tf)
# artifacts: datasets/<md5>/ (content-addressed prepared data, write-once), checkpoints/<job>/,
#            jobs/ (training jobs' output), candidates/ (a run's evaluation files, until published),
#            models/<commit>/ (write-once, written by the training-run function), reports/,
#            production/metrics.json (the champion's metrics)

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logs need a third, log-only bucket; enable CloudTrail S3 data events if you need an audit trail.
  #checkov:skip=CKV_AWS_144:The data is versioned by DVC and reproducible; cross-region replication doubles storage (opt in per team).
  #checkov:skip=CKV2_AWS_62:The data bucket sends its events to EventBridge (aws_s3_bucket_notification.data); nothing consumes artifacts events.
  for_each = local.bucket_names

  bucket = each.value
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.project.arn
    }
    # S3 Bucket Keys cut KMS request costs for DVC's many small objects.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

locals {
  tls_statement = { for key, bucket in aws_s3_bucket.this : key => {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [bucket.arn, "${bucket.arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  } }
  # Released models are write-once: a write under models/ must be a conditional write that fails if
  # the key exists (If-None-Match: *; "s3:if-none-match" condition key), and nobody deletes a version
  # there. So the bytes a pull request published, and its report described, are the bytes a release
  # deploys. Every object write is s3:PutObject; s3:ObjectCreationOperation is false for the calls
  # that only stage a multipart upload (CreateMultipartUpload, UploadPart, UploadPartCopy), which
  # take no conditional header, and true for those that create the object (PutObject,
  # CompleteMultipartUpload, CopyObject). So a large archive goes up in parts and its
  # CompleteMultipartUpload must carry If-None-Match; a CopyObject into the prefix is refused (403
  # without the header, 501 with it). S3 User Guide, "Enforce conditional writes on Amazon S3
  # buckets" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html);
  # Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3". The prepared data a job
  # trains on is write-once too, under its content address (DVC's md5 of data/prepared): a pull
  # request can add a dataset but never change the bytes another run (main's data included) trains
  # on; the job checks every file against that digest as well.
  write_once_statements = flatten([for name, prefix in { Datasets = "datasets/", ReleasedModels = var.artifact_prefix } : [
    {
      Sid       = "${name}AreWriteOnce"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:PutObject"
      Resource  = "${aws_s3_bucket.this["artifacts"].arn}/${prefix}*"
      Condition = {
        Null = { "s3:if-none-match" = "true" }
        Bool = { "s3:ObjectCreationOperation" = "true" }
      }
    },
    {
      Sid       = "${name}AreNeverDeleted"
      Effect    = "Deny"
      Principal = "*"
      Action    = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      Resource  = "${aws_s3_bucket.this["artifacts"].arn}/${prefix}*"
    },
  ]])
  # The account-per-environment layout (docs/infra.md): another account's roles read the published
  # models. Cross-account access needs both their own policy and this grant (S3 User Guide, "How
  # Amazon S3 authorizes a request for an object operation": the bucket owner must allow it).
  model_reader_statements = [for statement in [
    {
      Sid       = "OtherEnvironmentsListThePublishedModels"
      Effect    = "Allow"
      Principal = { AWS = var.model_reader_role_arns }
      Action    = "s3:ListBucket"
      Resource  = aws_s3_bucket.this["artifacts"].arn
      Condition = { StringLikeIfExists = { "s3:prefix" = ["${var.artifact_prefix}*"] } }
    },
    {
      Sid       = "OtherEnvironmentsReadThePublishedModels"
      Effect    = "Allow"
      Principal = { AWS = var.model_reader_role_arns }
      Action    = "s3:GetObject"
      Resource  = "${aws_s3_bucket.this["artifacts"].arn}/${var.artifact_prefix}*"
    },
  ] : statement if length(var.model_reader_role_arns) > 0]
  # for-expressions, not conditionals: the statements are objects of different shapes.
  bucket_policy_statements = { for key, bucket in aws_s3_bucket.this : key => concat(
    [for statement in [local.tls_statement[key]] : statement if var.enforce_tls],
    [for statement in local.write_once_statements : statement if key == "artifacts"],
    [for statement in local.model_reader_statements : statement if key == "artifacts"],
  ) }
}

resource "aws_s3_bucket_policy" "this" {
  # TLS only (off only for the local cloud, which speaks plain HTTP: see var.enforce_tls), and the
  # artifacts bucket's write-once models.
  for_each = { for key, statements in local.bucket_policy_statements : key => statements if length(statements) > 0 }

  bucket = aws_s3_bucket.this[each.key].id
  policy = jsonencode({ Version = "2012-10-17", Statement = each.value })

  # A bucket policy is rejected while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

locals {
  # Rules every bucket gets; the artifacts bucket adds the checkpoint expiry.
  common_lifecycle_rules = [
    {
      id     = "expire-noncurrent-versions"
      prefix = ""
      days   = null
    },
  ]
  lifecycle_rules = {
    # Sampled texts (capture.tf) are personal data: kept capture_expiration_days at most.
    data = concat(local.common_lifecycle_rules, [
      {
        id     = "expire-captured-texts"
        prefix = "captured/"
        days   = var.capture_expiration_days
      },
    ])
    artifacts = concat(local.common_lifecycle_rules, [
      {
        id     = "expire-old-checkpoints"
        prefix = "checkpoints/"
        days   = var.checkpoint_expiration_days
      },
      {
        # A run's evaluation files serve only until the function copies them into models/.
        id     = "expire-publish-candidates"
        prefix = "candidates/"
        days   = var.checkpoint_expiration_days
      },
    ])
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:False positive: every rule aborts incomplete uploads after 7 days (inside the dynamic block; unit-tested).
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  dynamic "rule" {
    for_each = local.lifecycle_rules[each.key]
    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      dynamic "expiration" {
        for_each = rule.value.days == null ? [] : [rule.value.days]
        content {
          days = expiration.value
        }
      }

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_expiration_days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  # Lifecycle rules on a versioned bucket need versioning to be in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

# New objects in the data bucket go to EventBridge; events.tf turns incoming/ uploads into a
# retraining dispatch.
resource "aws_s3_bucket_notification" "data" {
  bucket      = aws_s3_bucket.this["data"].id
  eventbridge = true
}
