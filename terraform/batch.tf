# The batch workflow's role (.github/workflows/batch.yml, docs/batch-and-api.md "Permissions"), off
# unless enable_batch: `make batch-predict` as a SageMaker Batch Transform job on the production
# model. The job runs as the model's execution role (the serving role), which then also reads the
# batch input and writes the results, under the data bucket's batch prefixes only.
# Variables and outputs of the module are in this file.

variable "enable_batch" {
  description = "Create the batch workflow's role (repository variable AWS_BATCH_ROLE_ARN) and let the serving role read batch input and write batch output."
  type        = bool
  default     = false
}

# The batch prefixes and the job name prefix are params.yaml's batch.input_prefix, output_prefix and
# job_name_prefix, which `make batch-predict` checks INPUT, OUTPUT and the job name against before a
# job starts: change both places together (tests/batch/test_batch_prefixes.py holds them equal).
variable "batch_input_prefix" {
  description = "params.yaml batch.input_prefix: the prefix of the data bucket that batch input is read from."
  type        = string
  default     = "batch/in/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*/$", var.batch_input_prefix))
    error_message = "batch_input_prefix must be a key prefix like batch/in/ (lower case, ending in /)."
  }
  validation {
    # iam.tf: dvc/ is the DVC remote, incoming/ retrain's new data.
    condition     = !startswith(var.batch_input_prefix, "dvc/") && !startswith(var.batch_input_prefix, "incoming/")
    error_message = "batch_input_prefix must not be under dvc/ (the DVC remote) or incoming/ (retrain's new data)."
  }
}

variable "batch_output_prefix" {
  description = "params.yaml batch.output_prefix: the prefix of the data bucket that batch results are written to (apart from the input prefix)."
  type        = string
  default     = "batch/out/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*/$", var.batch_output_prefix))
    error_message = "batch_output_prefix must be a key prefix like batch/out/ (lower case, ending in /)."
  }
  validation {
    condition     = !startswith(var.batch_output_prefix, "dvc/") && !startswith(var.batch_output_prefix, "incoming/")
    error_message = "batch_output_prefix must not be under dvc/ (the DVC remote) or incoming/ (retrain's new data)."
  }
  validation {
    # S3 matches a prefix as a string: results under the input prefix would be the next run's input,
    # and input under the output prefix would be writable by the job.
    condition     = !startswith(var.batch_output_prefix, var.batch_input_prefix) && !startswith(var.batch_input_prefix, var.batch_output_prefix)
    error_message = "batch_output_prefix and batch_input_prefix must be apart (neither starts with the other), such as batch/in/ and batch/out/."
  }
}

variable "batch_job_name_prefix" {
  description = "params.yaml batch.job_name_prefix: the role may run transform jobs named <prefix>-batch-* only."
  type        = string
  default     = "textclf"
}

locals {
  batch_enabled = var.enable_batch
  # The batch job runs on main bound to its own environment (batch.yml, `environment: batch`), in the
  # release job's subject form (iam.tf: environment and ref), so only a run that environment's
  # deployment-branch rule lets through gets this role; the release jobs' subject (production) does
  # not match, and job_workflow_ref names batch.yml besides.
  batch_subjects = [for prefix in local.github_subject_prefixes :
  "${prefix}:environment:${var.github_batch_environment}:ref:${local.release_ref}"]
  batch_trust = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.github_oidc_host}:aud" = "sts.amazonaws.com" }
        StringLike = {
          "${local.github_oidc_host}:sub"              = local.batch_subjects
          "${local.github_oidc_host}:job_workflow_ref" = local.github_workflow_refs["batch"]
        }
      }
    }]
  }
  batch_prefixes = [var.batch_input_prefix, var.batch_output_prefix]

  github_batch_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ReadTheProductionModel"
        Effect = "Allow"
        Action = ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"]
        Resource = [
          "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
          "${local.sagemaker_arn_prefix}:endpoint-config/${local.endpoint_name}-*",
        ]
      },
      {
        # No iam:PassRole: CreateTransformJob takes no role; the job runs as the model's execution
        # role, passed when the model was created (CreateTransformJob API reference).
        Sid      = "RunTransformJobs"
        Effect   = "Allow"
        Action   = ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags"]
        Resource = "${local.sagemaker_arn_prefix}:transform-job/${var.batch_job_name_prefix}-batch-*"
      },
      {
        # Without s3:ListBucket S3 answers a missing key with 403, not 404 (GetObject API reference);
        # listings stay within the batch prefixes.
        Sid       = "ListTheBatchPrefixes"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.data_arn
        Condition = { StringLikeIfExists = { "s3:prefix" = [for p in local.batch_prefixes : "${p}*"] } }
      },
      {
        Sid      = "CheckTheInputCountTheOutput"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = [for p in local.batch_prefixes : "${local.data_arn}/${p}*"]
      },
      {
        Sid      = "DecryptThem"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = aws_kms_key.project.arn
      },
    ]
  }

  # What the transform job does as the model's execution role: read the input, write the results
  # (SageMaker, "Use Batch Transform": the model's role needs the input and output locations).
  serving_batch_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ListTheBatchInput"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.data_arn
        Condition = { StringLikeIfExists = { "s3:prefix" = ["${var.batch_input_prefix}*"] } }
      },
      {
        Sid      = "ReadTheBatchInput"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.data_arn}/${var.batch_input_prefix}*"
      },
      {
        Sid      = "WriteTheBatchResults"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.data_arn}/${var.batch_output_prefix}*"
      },
      {
        # The data bucket's default encryption is the project key: writing needs a data key.
        Sid      = "EncryptTheResults"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = aws_kms_key.project.arn
      },
    ]
  }
}

resource "aws_iam_role" "github_batch" {
  count = local.batch_enabled ? 1 : 0

  name                 = "${local.name}-github-batch"
  description          = "The batch workflow of ${var.github_repository} (${var.github_release_branch} / ${var.github_batch_environment})"
  assume_role_policy   = jsonencode(local.batch_trust)
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600 * 6 # batch.yml's timeout: a long job is followed to its end
}

resource "aws_iam_role_policy" "github_batch" {
  count = local.batch_enabled ? 1 : 0

  name   = "${local.name}-github-batch"
  role   = aws_iam_role.github_batch[0].id
  policy = jsonencode(local.github_batch_policy)
}

resource "aws_iam_role_policy" "serving_batch" {
  count = local.batch_enabled ? 1 : 0

  name   = "${local.name}-serving-batch"
  role   = aws_iam_role.serving.id
  policy = jsonencode(local.serving_batch_policy)
}

output "batch_role_arn" {
  description = "Role the batch workflow assumes through OIDC (repository variable AWS_BATCH_ROLE_ARN); null unless enable_batch."
  value       = local.batch_enabled ? aws_iam_role.github_batch[0].arn : null
}
