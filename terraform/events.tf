# Event wiring:
# - a model package approved in the project's group -> the redeploy Lambda
# - a new object under incoming/ in the data bucket -> GitHub repository_dispatch (retraining PR)
# - training jobs that finish -> a log group, which the dashboard counts by status

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = local.model_package_group
  model_package_group_description = "Candidate models of ${local.name}; approving one redeploys the endpoint"
}

resource "aws_cloudwatch_event_rule" "model_approved" {
  name        = "${local.name}-model-approved"
  description = "A model package of ${local.model_package_group} was approved"
  event_pattern = jsonencode({
    source      = ["aws.sagemaker"]
    detail-type = ["SageMaker Model Package State Change"]
    detail = {
      ModelPackageGroupName = [local.model_package_group]
      ModelApprovalStatus   = ["Approved"]
    }
  })
}

resource "aws_cloudwatch_event_target" "model_approved" {
  rule      = aws_cloudwatch_event_rule.model_approved.name
  target_id = "redeploy"
  arn       = aws_lambda_function.redeploy.arn

  # An event EventBridge could not hand to Lambda (after its retries) is kept, not dropped. Once
  # Lambda has it, the function's own retries and dead-letter target take over (lambda.tf).
  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

# --- undeliverable events -----------------------------------------------------------------------

# Events the rules could not deliver (an expired GitHub token on the dispatch, a deleted function):
# kept 14 days for a replay, and an alarm fires on the first one (monitoring.tf). Encrypted with
# SQS-managed keys: with the project's KMS key, EventBridge would also need kms:GenerateDataKey in
# the key policy ("Using dead-letter queues to process undelivered events in EventBridge").
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${local.name}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "TheProjectRulesDeadLetter"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.events_dlq.arn
        Condition = {
          ArnEquals = { "aws:SourceArn" = [aws_cloudwatch_event_rule.model_approved.arn, aws_cloudwatch_event_rule.new_data.arn] }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.events_dlq.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# --- new data -> retraining dispatch ------------------------------------------------------------

# GitHub authenticates the dispatch with a token (fine-grained, Contents: read and write on this
# repository). EventBridge keeps connection credentials in a Secrets Manager secret it manages
# (events!connection/<name>/...). Terraform creates the connection with a placeholder and then
# leaves the credentials alone, so the token never appears in Terraform code, variables or state:
# set it once with `aws events update-connection` (docs/infra.md, "Retraining trigger").
resource "aws_cloudwatch_event_connection" "github" {
  name               = "${local.name}-github"
  description        = "GitHub API token for repository_dispatch on ${var.github_repository}"
  authorization_type = "API_KEY"

  auth_parameters {
    api_key {
      key   = "Authorization"
      value = "Bearer set-with-aws-events-update-connection"
    }

    invocation_http_parameters {
      header {
        key   = "Accept"
        value = "application/vnd.github+json"
      }
      header {
        key   = "X-GitHub-Api-Version"
        value = "2022-11-28"
      }
    }
  }

  lifecycle {
    # The token is set outside Terraform (see above); do not overwrite it with the placeholder.
    ignore_changes = [auth_parameters]
  }
}

resource "aws_cloudwatch_event_api_destination" "github_dispatch" {
  name                             = "${local.name}-github-dispatch"
  description                      = "POST /repos/${var.github_repository}/dispatches"
  invocation_endpoint              = "https://api.github.com/repos/${var.github_repository}/dispatches"
  http_method                      = "POST"
  invocation_rate_limit_per_second = 1
  connection_arn                   = aws_cloudwatch_event_connection.github.arn
}

resource "aws_cloudwatch_event_rule" "new_data" {
  name        = "${local.name}-new-data"
  description = "A new object under incoming/ in ${aws_s3_bucket.this["data"].bucket}"
  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [aws_s3_bucket.this["data"].bucket] }
      object = { key = [{ prefix = "incoming/" }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "new_data" {
  rule      = aws_cloudwatch_event_rule.new_data.name
  target_id = "github-dispatch"
  arn       = aws_cloudwatch_event_api_destination.github_dispatch.arn
  role_arn  = aws_iam_role.events.arn

  # GitHub's repository_dispatch body: the retrain workflow reads the bucket and key.
  input_transformer {
    input_paths = {
      bucket = "$.detail.bucket.name"
      key    = "$.detail.object.key"
    }
    input_template = <<-EOT
      {"event_type": "${var.retrain_event_type}", "client_payload": {"bucket": <bucket>, "key": <key>}}
    EOT
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 5
  }

  # A dispatch GitHub keeps refusing (an expired or revoked token: 401) would otherwise be dropped
  # and retraining would stop without a word.
  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

# --- training jobs -> log group (counted on the dashboard) ---------------------------------------

resource "aws_cloudwatch_log_group" "training_jobs" {
  # EventBridge can only deliver to log groups whose name starts with /aws/events/.
  name              = "/aws/events/${local.name}-training-jobs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_cloudwatch_log_resource_policy" "events_to_logs" {
  policy_name = "${local.name}-events-to-logs"
  policy_document = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeWritesTrainingJobEvents"
      Effect    = "Allow"
      Principal = { Service = ["events.amazonaws.com", "delivery.logs.amazonaws.com"] }
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = "${aws_cloudwatch_log_group.training_jobs.arn}:*"
    }]
  })
}

resource "aws_cloudwatch_event_rule" "training_jobs" {
  name        = "${local.name}-training-jobs"
  description = "Training jobs of ${var.project} that reached a final state"
  event_pattern = jsonencode({
    source      = ["aws.sagemaker"]
    detail-type = ["SageMaker Training Job State Change"]
    detail = {
      TrainingJobName   = [{ prefix = local.training_job_prefix }]
      TrainingJobStatus = ["Completed", "Failed", "Stopped"]
    }
  })
}

resource "aws_cloudwatch_event_target" "training_jobs" {
  rule      = aws_cloudwatch_event_rule.training_jobs.name
  target_id = "training-job-log"
  arn       = aws_cloudwatch_log_group.training_jobs.arn

  depends_on = [aws_cloudwatch_log_resource_policy.events_to_logs]
}
