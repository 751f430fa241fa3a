# The scheduled drift check (docs/monitoring.md): an EventBridge schedule runs a small Lambda that
# compares the endpoint's last window of prediction signals with the live model's reference and
# publishes the PSI scores; an alarm on `Drifted` notifies the alarm topic and opens a GitHub issue
# through the repository_dispatch API destination retraining uses (events.tf), so a person decides
# to collect and label new data. Its zip is built by
# `python -m textclf.lambda_zip textclf.monitoring.drift build/drift.zip` (the archive provider is not
# available offline, so Terraform only uploads the file). Everything here exists only when
# drift_lambda_zip_path names that zip (variables.tf): off until the release workflow builds it.

locals {
  drift_enabled       = var.drift_lambda_zip_path != null
  drift_function      = "${local.name}-drift-check"
  drift_namespace     = "textclf/Drift" # textclf.monitoring.drift.METRICS_NAMESPACE
  drift_zip           = local.drift_enabled ? (startswith(var.drift_lambda_zip_path, "/") ? var.drift_lambda_zip_path : "${path.module}/${var.drift_lambda_zip_path}") : ""
  drift_artifacts_arn = aws_s3_bucket.this["artifacts"].arn

  drift_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadTheEndpointsSignals"
        Effect   = "Allow"
        Action   = "logs:FilterLogEvents"
        Resource = "${aws_cloudwatch_log_group.endpoint.arn}:*"
      },
      {
        Sid    = "ReadTheLiveModelAndItsReference"
        Effect = "Allow"
        Action = "s3:GetObject"
        Resource = [
          "${local.drift_artifacts_arn}/production/deployment.json",
          "${local.drift_artifacts_arn}/${var.artifact_prefix}*/reference.json",
        ]
      },
      {
        # Without it S3 answers a missing reference with 403, and the check could not say what is missing.
        Sid       = "KnowWhatIsMissing"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.drift_artifacts_arn
        Condition = { StringLikeIfExists = { "s3:prefix" = ["production/*", "${var.artifact_prefix}*"] } }
      },
      {
        Sid       = "DecryptThem"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = aws_kms_key.project.arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
      },
      {
        Sid       = "PublishTheScores"
        Effect    = "Allow"
        Action    = "cloudwatch:PutMetricData"
        Resource  = "*" # PutMetricData has no resource type; the namespace condition scopes it
        Condition = { StringEquals = { "cloudwatch:namespace" = local.drift_namespace } }
      },
      {
        Sid      = "ItsOwnLog"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.logs_arn_prefix}:/aws/lambda/${local.drift_function}:*"
      },
    ]
  }
}

resource "aws_cloudwatch_log_group" "drift" {
  count = local.drift_enabled ? 1 : 0

  name              = "/aws/lambda/${local.drift_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_iam_role" "drift" {
  count = local.drift_enabled ? 1 : 0

  name                 = "${local.name}-drift-check"
  description          = "The drift-check Lambda of ${local.name}: read the endpoint's signals and the live reference, publish scores"
  assume_role_policy   = jsonencode(local.service_trust["lambda"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role_policy" "drift" {
  count = local.drift_enabled ? 1 : 0

  name   = "${local.name}-drift-check"
  role   = aws_iam_role.drift[0].id
  policy = jsonencode(local.drift_policy)
}

resource "aws_lambda_function" "drift" {
  count = local.drift_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_117:It calls only AWS APIs; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:One scheduled invocation a period; reserved concurrency fails on new accounts (quota 10).
  #checkov:skip=CKV_AWS_272:The zip is built from the reviewed commit; code signing needs a Signer profile (optional hardening).
  #checkov:skip=CKV_AWS_116:A failed scheduled check is retried by Lambda and counted by the errors alarm below; a dead-letter queue would hold an empty scheduled event.
  function_name = local.drift_function
  description   = "Compare ${local.endpoint_name}'s recent predictions with the live model's reference (PSI)"
  role          = aws_iam_role.drift[0].arn
  handler       = "textclf.monitoring.drift.handler"
  runtime       = "python3.13"
  timeout       = 300
  memory_size   = 256

  filename         = local.drift_zip
  source_code_hash = fileexists(local.drift_zip) ? filebase64sha256(local.drift_zip) : null
  kms_key_arn      = aws_kms_key.project.arn

  environment {
    variables = {
      ENDPOINT_NAME              = local.endpoint_name
      ARTIFACTS_BUCKET           = aws_s3_bucket.this["artifacts"].bucket
      MONITOR_WINDOW_HOURS       = tostring(var.monitor_window_hours)
      MONITOR_MIN_PREDICTIONS    = tostring(var.monitor_min_predictions)
      MONITOR_PSI_PREDICTION_MIX = tostring(var.monitor_psi_prediction_mix)
      MONITOR_PSI_SCORE          = tostring(var.monitor_psi_score)
      MONITOR_PSI_LENGTH         = tostring(var.monitor_psi_length)
      MONITOR_METRICS_NAMESPACE  = local.drift_namespace
    }
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.drift_zip)
      error_message = "The drift-check Lambda zip ${var.drift_lambda_zip_path} does not exist: run `python -m textclf.lambda_zip textclf.monitoring.drift build/drift.zip` first, or set drift_lambda_zip_path."
    }
  }

  depends_on = [aws_cloudwatch_log_group.drift]
}

# --- the schedule -------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "drift_schedule" {
  count = local.drift_enabled ? 1 : 0

  name                = "${local.name}-drift-schedule"
  description         = "Run the drift check of ${local.endpoint_name}"
  schedule_expression = var.drift_check_schedule
}

resource "aws_cloudwatch_event_target" "drift_schedule" {
  count = local.drift_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.drift_schedule[0].name
  target_id = "drift-check"
  arn       = aws_lambda_function.drift[0].arn
  # The check gets {} (the window ending now), not the scheduled event: a target's Input is sent in
  # place of the event, none of which reaches the target ("Target", EventBridge API Reference,
  # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html). The handler refuses
  # any key but window_end_ms, so the whole scheduled event would fail every check.
  input = jsonencode({})
}

resource "aws_lambda_permission" "drift_schedule" {
  count = local.drift_enabled ? 1 : 0

  statement_id  = "AllowDriftSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.drift[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.drift_schedule[0].arn
}

# --- the alarms ---------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "drift" {
  count = local.drift_enabled ? 1 : 0

  alarm_name        = "${local.name}-drift"
  alarm_description = "The predictions of ${local.endpoint_name} drifted from the live model's reference (PSI above monitor thresholds): look at the check's summary in ${aws_cloudwatch_log_group.drift[0].name}"
  namespace         = local.drift_namespace
  metric_name       = "Drifted"
  dimensions        = { EndpointName = local.endpoint_name }
  statistic         = "Maximum"
  period            = var.drift_alarm_period_seconds
  # One drifted check is enough: each already covers monitor_window_hours of traffic.
  evaluation_periods = 1
  threshold          = 1
  # No check (or too little traffic) is not drift; a check that fails is the errors alarm's.
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "drift_errors" {
  count = local.drift_enabled ? 1 : 0

  alarm_name          = "${local.name}-drift-check-errors"
  alarm_description   = "The drift check of ${local.endpoint_name} failed (a missing reference, a permission): nobody is watching for drift"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.drift[0].function_name }
  statistic           = "Sum"
  period              = var.drift_alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# --- drift -> a GitHub issue, through the dispatch retraining uses --------------------------------

resource "aws_cloudwatch_event_rule" "drift_alarm" {
  count = local.drift_enabled ? 1 : 0

  name        = "${local.name}-drift-alarm"
  description = "The drift alarm of ${local.endpoint_name} went to ALARM"
  event_pattern = jsonencode({
    source      = ["aws.cloudwatch"]
    detail-type = ["CloudWatch Alarm State Change"]
    resources   = [aws_cloudwatch_metric_alarm.drift[0].arn]
    detail      = { state = { value = ["ALARM"] } }
  })
}

resource "aws_cloudwatch_event_target" "drift_alarm" {
  count = local.drift_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.drift_alarm[0].name
  target_id = "github-dispatch"
  arn       = aws_cloudwatch_event_api_destination.github_dispatch.arn
  role_arn  = aws_iam_role.events.arn # may invoke exactly this destination (iam.tf)

  # GitHub's repository_dispatch body; a workflow on this event type opens the issue.
  input_transformer {
    input_paths = {
      alarm  = "$.detail.alarmName"
      reason = "$.detail.state.reason"
      time   = "$.time"
    }
    input_template = <<-EOT
      {"event_type": "${var.drift_event_type}", "client_payload": {"alarm": <alarm>, "reason": <reason>, "time": <time>, "endpoint": "${local.endpoint_name}", "log_group": "${aws_cloudwatch_log_group.drift[0].name}"}}
    EOT
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 5
  }
}
