# The redeploy Lambda: rolls the Serverless endpoint to a released model, verifies it and rolls
# back when it does not come up. Its code is a zip that `make lambda-zip` builds (the archive
# provider is not available offline, so Terraform only uploads the file).

resource "aws_cloudwatch_log_group" "redeploy" {
  name              = "/aws/lambda/${local.redeploy_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_dynamodb_table" "deploy_lock" {
  name         = local.lock_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "lock_id"

  attribute {
    name = "lock_id"
    type = "S"
  }

  # A lock item may carry expires_at (epoch seconds) so that a crashed run cannot hold it forever.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.project.arn
  }
}

resource "aws_lambda_function" "redeploy" {
  #checkov:skip=CKV_AWS_117:It calls only AWS APIs; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:Reserved concurrency fails on new accounts (quota 10); the DynamoDB deploy lock serializes runs.
  #checkov:skip=CKV_AWS_272:The zip is built by the release workflow from the reviewed commit; code signing needs a Signer profile (optional hardening).
  function_name = local.redeploy_function
  description   = "Roll the ${local.endpoint_name} Serverless endpoint to a released model, verify, roll back on failure"
  role          = aws_iam_role.redeploy.arn
  handler       = "textclf.release.redeploy.handler"
  runtime       = "python3.13"
  timeout       = var.lambda_timeout_seconds
  memory_size   = var.lambda_memory_mb

  filename         = local.lambda_zip
  source_code_hash = fileexists(local.lambda_zip) ? filebase64sha256(local.lambda_zip) : null
  kms_key_arn      = aws_kms_key.project.arn

  environment {
    variables = {
      ARTIFACT_BUCKET    = local.models_bucket
      ARTIFACT_PREFIX    = var.artifact_prefix
      ENDPOINT_NAME      = local.endpoint_name
      SERVING_IMAGE_URI  = local.serving_image_uri
      SAGEMAKER_ROLE_ARN = aws_iam_role.serving.arn
      # params.yaml deploy.serverless and deploy.keep_configs, or this environment's overrides (sagemaker.tf).
      SERVERLESS_MEMORY_MB               = tostring(local.serverless.memory_mb)
      SERVERLESS_MAX_CONCURRENCY         = tostring(local.serverless.max_concurrency)
      SERVERLESS_PROVISIONED_CONCURRENCY = tostring(local.serverless.provisioned_concurrency)
      KEEP_CONFIGS                       = tostring(local.serverless.keep_configs)
      POLL_SECONDS                       = tostring(var.redeploy_poll_seconds)
      # Sampled capture (capture.tf): the models' containers get it as TEXTCLF_CAPTURE_URI.
      CAPTURE_URI = var.capture_enabled ? local.capture_uri : ""
      LOCK_TABLE  = aws_dynamodb_table.deploy_lock.name
      # For KmsKeyId of new endpoint configurations, like the first one (sagemaker.tf).
      KMS_KEY_ARN = aws_kms_key.project.arn
    }
  }

  # Asynchronous invocations (EventBridge) that still fail after Lambda's retries reach on-call.
  dead_letter_config {
    target_arn = aws_sns_topic.alarms.arn
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.lambda_zip)
      error_message = "The redeploy Lambda zip ${var.lambda_zip_path} does not exist: run `make lambda-zip` first, or set lambda_zip_path."
    }
    precondition {
      condition     = local.serverless_valid
      error_message = local.serverless_invalid_message
    }
  }

  # The log group must exist (with its retention and key) before the first invocation creates it.
  depends_on = [aws_cloudwatch_log_group.redeploy]
}

# A redeploy can take minutes: EventBridge must not retry it concurrently; the lock table makes a
# repeated event wait or no-op, and one retry is enough.
resource "aws_lambda_function_event_invoke_config" "redeploy" {
  function_name                = aws_lambda_function.redeploy.function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "model_approved" {
  statement_id  = "AllowModelApprovedRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.redeploy.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.model_approved.arn
}

# --- the training-run function (named stop-training) --------------------------------------------
#
# A pull request's run starts, stops and publishes its own training job through this function, never
# directly: one PR role serves every pull request and IAM cannot tell their jobs apart (the claims
# STS checks in a trust policy are not available to permission policies), so the function verifies
# the run's GitHub OIDC token and, to start or publish, the run's merge commit, whose second parent
# is the commit the job trains and the model is published under (textclf.training.stop_job). It
# names the job, sets its checkpoints (its own prefix) and output, and copies a completed job's
# model.tar.gz byte for byte into the write-once models/<commit>/ with a manifest saying where every
# byte came from; the release checks that manifest against the commit (textclf.release.promote).
# Same package as the redeploy function, its own role. Its name and the repository variable
# STOP_TRAINING_FUNCTION are kept from when it only stopped jobs.

resource "aws_cloudwatch_log_group" "stop_training" {
  name              = "/aws/lambda/${local.stop_training_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_lambda_function" "stop_training" {
  #checkov:skip=CKV_AWS_117:It calls SageMaker and GitHub's key endpoint; a VPC would add NAT and no protection.
  #checkov:skip=CKV_AWS_115:Reserved concurrency fails on new accounts (quota 10); a run calls it once.
  #checkov:skip=CKV_AWS_272:The zip is built by the release workflow from the reviewed commit; code signing needs a Signer profile (optional hardening).
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the PR workflow, which reports a failure; nothing to dead-letter.
  function_name = local.stop_training_function
  description   = "Start, stop and publish the training job of the pull request run whose GitHub OIDC token comes with the request"
  role          = aws_iam_role.stop_training.arn
  handler       = "textclf.training.stop_job.handler"
  runtime       = "python3.13"
  # Publishing copies the job's model.tar.gz in 16 MiB parts through memory (not /tmp) at S3's pace.
  timeout     = 300
  memory_size = 512

  filename         = local.lambda_zip
  source_code_hash = fileexists(local.lambda_zip) ? filebase64sha256(local.lambda_zip) : null
  kms_key_arn      = aws_kms_key.project.arn

  environment {
    # With immutable subject claims the token's repository_id is checked too: a renamed or
    # re-created repository of the same name does not pass.
    variables = merge({
      GITHUB_REPOSITORY = var.github_repository
      JOB_NAME_PREFIX   = var.project
      JWKS_URL          = var.github_oidc_jwks_url
      # Where a run's job reads, checkpoints and writes, and where its model is published.
      ARTIFACTS_BUCKET        = aws_s3_bucket.this["artifacts"].id
      DATASETS_PREFIX         = "datasets/"
      CHECKPOINTS_PREFIX      = "checkpoints/"
      JOBS_PREFIX             = var.training_output_prefix
      CANDIDATES_PREFIX       = "candidates/"
      ARTIFACT_PREFIX         = var.artifact_prefix
      SAGEMAKER_ROLE_ARN      = aws_iam_role.sagemaker.arn
      TRAINING_REPOSITORY_URI = aws_ecr_repository.this["training"].repository_url
      KMS_KEY_ARN             = aws_kms_key.project.arn
      # The sizes a run may ask for: IAM has no condition key for them (stop_job.SIZE_LIMITS).
      TRAINING_MAX_INSTANCES = tostring(var.training_max_instances)
      TRAINING_MAX_VOLUME_GB = tostring(var.training_max_volume_gb)
    }, var.github_repository_id == null ? {} : { GITHUB_REPOSITORY_ID = tostring(var.github_repository_id) })
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.stop_training]
}
