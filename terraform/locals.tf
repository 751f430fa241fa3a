locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  bucket_names = {
    data      = coalesce(var.data_bucket_name, "${local.name}-data-${local.account_id}")
    artifacts = coalesce(var.artifacts_bucket_name, "${local.name}-artifacts-${local.account_id}")
  }
  # Where the models this environment deploys are published (variables.tf, environments).
  models_bucket = coalesce(
    var.model_source_bucket,
    var.model_source_environment == null ? null : "${var.project}-${var.model_source_environment}-artifacts-${local.account_id}",
    local.bucket_names.artifacts,
  )
  models_arn   = "arn:${local.partition}:s3:::${local.models_bucket}"
  state_bucket = coalesce(var.state_bucket_name, "${var.project}-tfstate-${local.account_id}-${var.region}")

  endpoint_name          = local.name
  variant_name           = "AllTraffic"
  model_package_group    = local.name
  redeploy_function      = "${local.name}-redeploy"
  stop_training_function = "${local.name}-stop-training"
  lock_table_name        = "${local.name}-deploy-lock"
  training_job_prefix    = "${var.project}-"
  serving_image_uri      = "${aws_ecr_repository.this["serving"].repository_url}:${var.serving_image_tag}"
  lambda_zip             = startswith(var.lambda_zip_path, "/") ? var.lambda_zip_path : "${path.module}/${var.lambda_zip_path}"
  sagemaker_arn_prefix   = "arn:${local.partition}:sagemaker:${var.region}:${local.account_id}"
  logs_arn_prefix        = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group"
}
