# Optional sampled capture (docs/monitoring.md): the serving container writes a fraction of the
# predicted texts, with their predictions, under captured/ in the data bucket
# (textclf.serving.capture, deploy.serve.capture_fraction). Captured texts are personal data in
# most deployments: off unless capture_enabled is true. The data bucket's lifecycle rule expires
# captured/ after capture_expiration_days (storage.tf) whether or not capture is on.

variable "capture_enabled" {
  description = "Let the serving role write sampled texts and predictions under captured/ in the data bucket (deploy.serve.capture_fraction > 0 also needed)."
  type        = bool
  default     = false
}

variable "capture_expiration_days" {
  description = "Days after which captured texts (captured/ in the data bucket) are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.capture_expiration_days >= 1 && var.capture_expiration_days <= 365 && floor(var.capture_expiration_days) == var.capture_expiration_days
    error_message = "capture_expiration_days must be a whole number of days between 1 and 365."
  }
}

locals {
  capture_prefix = "captured/${local.endpoint_name}/"
  capture_uri    = "s3://${aws_s3_bucket.this["data"].bucket}/${local.capture_prefix}"
}

# A separate policy on the serving role (iam.tf defines the role and its other permissions): only
# PutObject under its endpoint's captured/ prefix, encrypted with the project key through S3.
resource "aws_iam_role_policy" "serving_capture" {
  count = var.capture_enabled ? 1 : 0

  name = "${local.name}-serving-capture"
  role = aws_iam_role.serving.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteSampledTexts"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "${aws_s3_bucket.this["data"].arn}/${local.capture_prefix}*"
      },
      {
        Sid       = "EncryptThem"
        Effect    = "Allow"
        Action    = "kms:GenerateDataKey"
        Resource  = aws_kms_key.project.arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
      },
    ]
  })
}

output "capture_uri" {
  description = "Where the serving container writes sampled texts when capture is on (set TEXTCLF_CAPTURE_URI on the model to it); null when off."
  value       = var.capture_enabled ? local.capture_uri : null
}
