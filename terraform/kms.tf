# One customer-managed key for the project's data at rest: buckets, ECR, logs, SNS, DynamoDB,
# Lambda environment.

resource "aws_kms_key" "project" {
  description             = "${local.name}: data at rest (buckets, images, logs, alarms, deploy lock)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = jsonencode(local.kms_key_policy)
}

resource "aws_kms_alias" "project" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.project.key_id
}

locals {
  # In a key policy "*" as the resource means "this key". The account statement lists the key
  # actions instead of kms:* so that no statement anywhere grants every action; IAM policies in
  # the account can then grant use of the key (as the roles in iam.tf do).
  # The account-per-environment layout: roles of the deploying accounts decrypt the published
  # models, only through S3 (kms:ViaService; AWS KMS developer guide, "kms:ViaService"). Another
  # account's IAM policy alone cannot use this key: the key policy must name it.
  model_readers_statement = length(var.model_reader_role_arns) == 0 ? [] : [{
    Sid       = "OtherEnvironmentsReadThePublishedModels"
    Effect    = "Allow"
    Principal = { AWS = var.model_reader_role_arns }
    Action    = ["kms:Decrypt", "kms:DescribeKey"]
    Resource  = "*"
    Condition = {
      StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" }
    }
  }]

  kms_key_policy = {
    Version = "2012-10-17"
    Statement = concat(local.model_readers_statement, [
      {
        Sid       = "AccountManagesAndDelegatesTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
          "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
          "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
          "kms:RotateKeyOnDemand", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
        ]
        Resource = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheProjectLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "${local.logs_arn_prefix}:*" }
        }
      },
      {
        Sid       = "AlarmsPublishToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ])
  }
}
