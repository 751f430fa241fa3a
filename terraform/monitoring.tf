# Alarms go to one encrypted SNS topic; the dashboard shows the endpoint and training jobs.

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.project.arn
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_log_group" "endpoint" {
  # SageMaker writes the endpoint's container logs here; managing it sets retention and the key.
  name              = "/aws/sagemaker/Endpoints/${local.endpoint_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

locals {
  endpoint_dimensions = { EndpointName = local.endpoint_name, VariantName = local.variant_name }
}

# --- prediction signals -> metrics ----------------------------------------------------------------

# The serving container writes one JSON line per prediction to this log group
# (textclf.serving.signals). These metric filters turn the lines into metrics: CloudWatch Logs'
# embedded metric format is documented for the agent, Lambda and PutLogEvents callers, not for
# SageMaker's delivery of container logs, while metric filters apply to any log group
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html, pattern syntax:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html). Keep them
# equal to textclf.serving.signals.METRIC_FILTERS (tests/iam/test_drift_live.py compares them).
locals {
  serving_namespace = "textclf/Serving/${local.endpoint_name}"
  signal_selector   = "($.kind = \"textclf.prediction\") && ($.ModelVersion = \"*\")"
  signal_version    = { ModelVersion = "$.ModelVersion" }
  signal_numeric = { for name, field in {
    Score = ["score", "None"], Characters = ["characters", "Count"], Tokens = ["tokens", "Count"],
    Truncated = ["truncated", "Count"], LatencyMs = ["latency_ms", "Milliseconds"] } :
    name => { pattern = "{ ${local.signal_selector} && ($.${field[0]} >= 0) }", value = "$.${field[0]}", unit = field[1], dimensions = local.signal_version }
  }
  signal_metric_filters = merge(local.signal_numeric, {
    Predictions = {
      pattern    = "{ ${local.signal_selector} && ($.label = \"*\") }"
      value      = "1"
      unit       = "Count"
      dimensions = merge(local.signal_version, { Label = "$.label" })
    }
  })
}

resource "aws_cloudwatch_log_metric_filter" "signals" {
  for_each = local.signal_metric_filters

  name           = "${local.name}-signals-${each.key}"
  log_group_name = aws_cloudwatch_log_group.endpoint.name
  pattern        = each.value.pattern

  metric_transformation {
    name       = each.key
    namespace  = local.serving_namespace
    value      = each.value.value
    unit       = each.value.unit
    dimensions = each.value.dimensions
  }
}

# The endpoint's alarms are production's bake window's (textclf bake): each must be able to fire
# within deploy.staging.bake_seconds, and the bake refuses a window shorter than an alarm's Period x
# DatapointsToAlarm ("the number of data points that must be breaching to trigger the alarm",
# EvaluationPeriods when unset: PutMetricAlarm,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
# With the default one-minute period: 60 s for the 5xx alarm, 180 s for the latency alarm.
resource "aws_cloudwatch_metric_alarm" "endpoint_5xx" {
  alarm_name          = "${local.name}-endpoint-5xx"
  alarm_description   = "The ${local.endpoint_name} endpoint answered with 5xx errors"
  namespace           = "AWS/SageMaker"
  metric_name         = "Invocation5XXErrors"
  dimensions          = local.endpoint_dimensions
  statistic           = "Sum"
  period              = var.endpoint_alarm_period_seconds
  evaluation_periods  = 1
  threshold           = var.error_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "endpoint_latency" {
  alarm_name          = "${local.name}-endpoint-latency"
  alarm_description   = "p90 model latency of ${local.endpoint_name} above ${var.latency_alarm_threshold_ms} ms in 3 of 5 periods of ${var.endpoint_alarm_period_seconds} s"
  namespace           = "AWS/SageMaker"
  metric_name         = "ModelLatency"
  dimensions          = local.endpoint_dimensions
  extended_statistic  = "p90"
  period              = var.endpoint_alarm_period_seconds
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.latency_alarm_threshold_ms * 1000 # ModelLatency is in microseconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# --- the release and retraining machinery -------------------------------------------------------

# The redeploy Lambda raised (a failed or busy deploy, a misconfiguration): each attempt counts,
# Lambda's retries included.
resource "aws_cloudwatch_metric_alarm" "redeploy_errors" {
  alarm_name          = "${local.name}-redeploy-errors"
  alarm_description   = "The redeploy Lambda ${local.redeploy_function} failed; see its log group and the alarm topic's dead letters"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.redeploy.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Lambda could not deliver a failed asynchronous event to its dead-letter target: it is lost.
resource "aws_cloudwatch_metric_alarm" "redeploy_dead_letter_errors" {
  alarm_name          = "${local.name}-redeploy-dead-letter-errors"
  alarm_description   = "The redeploy Lambda could not deliver a failed event to its dead-letter target"
  namespace           = "AWS/Lambda"
  metric_name         = "DeadLetterErrors"
  dimensions          = { FunctionName = aws_lambda_function.redeploy.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# An event rule could not deliver (after its retries): the GitHub dispatch (retraining) or the
# model approval (redeploy). FailedInvocations counts them per rule.
resource "aws_cloudwatch_metric_alarm" "events_failed" {
  for_each = {
    dispatch       = aws_cloudwatch_event_rule.new_data.name
    model_approved = aws_cloudwatch_event_rule.model_approved.name
  }

  alarm_name          = "${local.name}-events-failed-${each.key}"
  alarm_description   = "Rule ${each.value} failed to deliver events; they are in ${aws_sqs_queue.events_dlq.name}"
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { RuleName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Anything in the events' dead-letter queue waits for someone: replay it or drop it.
resource "aws_cloudwatch_metric_alarm" "events_dlq_depth" {
  alarm_name          = "${local.name}-events-dlq-depth"
  alarm_description   = "Undelivered events wait in ${aws_sqs_queue.events_dlq.name}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.events_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

locals {
  # A CloudWatch dashboard metric is [namespace, metric name, dimension name, value, ..., {options}].
  endpoint_metric = { for name in ["Invocations", "ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors", "ModelSetupTime"] :
    name => ["AWS/SageMaker", name, "EndpointName", local.endpoint_name, "VariantName", local.variant_name]
  }

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Invocations", region = var.region, view = "timeSeries", stat = "Sum", period = 300
        metrics = [local.endpoint_metric["Invocations"]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title = "Model latency (microseconds)", region = var.region, view = "timeSeries", period = 300
        metrics = [for stat in ["p50", "p90", "p99"] :
        concat(local.endpoint_metric["ModelLatency"], [{ stat = stat, label = stat }])]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title   = "Errors", region = var.region, view = "timeSeries", stat = "Sum", period = 300
        metrics = [local.endpoint_metric["Invocation4XXErrors"], local.endpoint_metric["Invocation5XXErrors"]]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title = "Cold starts (count) and ModelSetupTime (microseconds)", region = var.region, view = "timeSeries", period = 300
        metrics = [
          concat(local.endpoint_metric["ModelSetupTime"], [{ stat = "SampleCount", label = "cold starts", yAxis = "right" }]),
          concat(local.endpoint_metric["ModelSetupTime"], [{ stat = "Average", label = "setup time, average" }]),
          concat(local.endpoint_metric["ModelSetupTime"], [{ stat = "Maximum", label = "setup time, maximum" }]),
        ]
      }
    },
    {
      type = "log", x = 0, y = 12, width = 24, height = 6
      properties = {
        title = "Training jobs by final status", region = var.region, view = "table"
        query = "SOURCE '${aws_cloudwatch_log_group.training_jobs.name}' | stats count(*) as jobs by detail.TrainingJobStatus as status | sort jobs desc"
      }
    },
    # The live model's predictions (the metric filters above), one line per released model version.
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title   = "Prediction mix (predictions per label, 5 minutes)", region = var.region, view = "timeSeries", stacked = true
        metrics = [[{ id = "mix", label = "", expression = "SEARCH('{${local.serving_namespace},Label,ModelVersion} MetricName=\"Predictions\"', 'Sum', 300)" }]]
      }
    },
    {
      type = "metric", x = 12, y = 18, width = 12, height = 6
      properties = {
        title = "Score of the predicted label (p10, p50, p90)", region = var.region, view = "timeSeries"
        yAxis = { left = { min = 0, max = 1 } }
        metrics = [for stat in ["p10", "p50", "p90"] :
          [{ id = "score_${stat}", label = stat, expression = "SEARCH('{${local.serving_namespace},ModelVersion} MetricName=\"Score\"', '${stat}', 300)" }]
        ]
      }
    },
    {
      type = "metric", x = 0, y = 24, width = 12, height = 6
      properties = {
        title = "Text length: characters p50 and p90, tokens p90, truncated (right)", region = var.region, view = "timeSeries"
        metrics = [
          [{ id = "chars_p50", label = "characters p50", expression = "SEARCH('{${local.serving_namespace},ModelVersion} MetricName=\"Characters\"', 'p50', 300)" }],
          [{ id = "chars_p90", label = "characters p90", expression = "SEARCH('{${local.serving_namespace},ModelVersion} MetricName=\"Characters\"', 'p90', 300)" }],
          [{ id = "tokens_p90", label = "tokens p90", expression = "SEARCH('{${local.serving_namespace},ModelVersion} MetricName=\"Tokens\"', 'p90', 300)" }],
          [{ id = "truncated", label = "truncated", yAxis = "right", expression = "SEARCH('{${local.serving_namespace},ModelVersion} MetricName=\"Truncated\"', 'Sum', 300)" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 24, width = 12, height = 6
      properties = {
        title = "Drift scores (PSI against the live model's reference)", region = var.region, view = "timeSeries", stat = "Maximum", period = 3600
        metrics = [for signal in ["prediction_mix", "score", "length"] :
          [local.drift_namespace, "PSI_${signal}", "EndpointName", local.endpoint_name, { label = "PSI ${signal}" }]
        ]
        annotations = { horizontal = [for signal, threshold in {
          prediction_mix = var.monitor_psi_prediction_mix, score = var.monitor_psi_score, length = var.monitor_psi_length } :
          { label = "drift threshold ${signal}", value = threshold }
        ] }
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
