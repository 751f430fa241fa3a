# What the workflows and .dvc/config need. `make infra-output` prints them as JSON.

output "data_bucket" {
  description = "Data bucket: dvc/ is the DVC remote, incoming/ receives new raw data (starts retraining)."
  value       = aws_s3_bucket.this["data"].bucket
}

output "artifacts_bucket" {
  description = "Artifacts bucket: datasets/, checkpoints/, models/<commit>/, reports/, production/metrics.json."
  value       = aws_s3_bucket.this["artifacts"].bucket
}

output "models_bucket" {
  description = "The bucket of the published models (models/<commit>/) this environment deploys: its own artifacts bucket, or the source environment's (TEXTCLF_MODELS_BUCKET)."
  value       = local.models_bucket
}

output "dvc_remote_url" {
  description = "The DVC remote (url of the default remote in .dvc/config)."
  value       = "s3://${aws_s3_bucket.this["data"].bucket}/dvc"
}

output "sagemaker_role_arn" {
  description = "Execution role of training jobs."
  value       = aws_iam_role.sagemaker.arn
}

output "serving_role_arn" {
  description = "Execution role of the endpoint's models (reads the released models only)."
  value       = aws_iam_role.serving.arn
}

output "pr_role_arn" {
  description = "Role the pull-request workflow assumes through OIDC."
  value       = aws_iam_role.github_pr.arn
}

output "release_role_arn" {
  description = "Role the release job's Terraform apply assumes through OIDC (environment production, main only)."
  value       = aws_iam_role.github_release.arn
}

output "promote_role_arn" {
  description = "Role the release job's promote step assumes through OIDC (environment production, main only)."
  value       = aws_iam_role.github_promote.arn
}

output "retrain_role_arn" {
  description = "Role the retrain workflow assumes through OIDC (main only)."
  value       = aws_iam_role.github_retrain.arn
}

output "training_repository_url" {
  description = "ECR repository of the training image."
  value       = aws_ecr_repository.this["training"].repository_url
}

output "serving_repository_url" {
  description = "ECR repository of the serving image."
  value       = aws_ecr_repository.this["serving"].repository_url
}

output "stop_training_function_name" {
  description = "The function a pull request run stops its own training job through (repository variable STOP_TRAINING_FUNCTION)."
  value       = aws_lambda_function.stop_training.function_name
}

output "redeploy_function_name" {
  description = "The redeploy Lambda the release workflow invokes."
  value       = aws_lambda_function.redeploy.function_name
}

output "endpoint_name" {
  description = "The SageMaker Serverless endpoint (the name is fixed; the endpoint exists once initial_model_data_url is set or the first release created it)."
  value       = local.endpoint_name
}

output "kms_key_arn" {
  description = "The project KMS key (buckets, images, logs, alarms, deploy lock)."
  value       = aws_kms_key.project.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms and of redeploys that failed for good."
  value       = aws_sns_topic.alarms.arn
}

output "model_package_group_name" {
  description = "Model registry group; approving a package in it redeploys the endpoint."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "lock_table_name" {
  description = "DynamoDB table the redeploy Lambda uses as its deploy lock."
  value       = aws_dynamodb_table.deploy_lock.name
}

output "dispatch_connection_name" {
  description = "EventBridge connection holding the GitHub token for the retraining dispatch (set it once, see docs/infra.md)."
  value       = aws_cloudwatch_event_connection.github.name
}

output "region" {
  description = "Region of every resource."
  value       = var.region
}
