# Failures of the release and retraining machinery are kept and raise an alarm: the event rules'
# dead-letter queue, its policy, and the alarms on it, on the redeploy Lambda and on the rules.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository = "acme/text-classifier"
}

override_resource {
  target          = aws_sqs_queue.events_dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:textclf-prod-events-dlq"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/textclf-prod-events-dlq"
  }
}

override_resource {
  target          = aws_cloudwatch_event_rule.new_data
  override_during = plan
  values          = { arn = "arn:aws:events:us-east-1:123456789012:rule/textclf-prod-new-data" }
}

override_resource {
  target          = aws_cloudwatch_event_rule.model_approved
  override_during = plan
  values          = { arn = "arn:aws:events:us-east-1:123456789012:rule/textclf-prod-model-approved" }
}

run "dead_letters_and_alarms" {
  command = plan

  assert {
    condition = alltrue([for target in [aws_cloudwatch_event_target.new_data, aws_cloudwatch_event_target.model_approved] :
    length(target.dead_letter_config) == 1 && target.dead_letter_config[0].arn == aws_sqs_queue.events_dlq.arn])
    error_message = "both event targets (the GitHub dispatch and the redeploy Lambda) must have the dead-letter queue"
  }

  assert {
    condition     = aws_sqs_queue.events_dlq.sqs_managed_sse_enabled && aws_sqs_queue.events_dlq.message_retention_seconds == 1209600
    error_message = "the dead-letter queue must be encrypted and keep events for 14 days"
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_sqs_queue_policy.events_dlq.policy).Statement :
      statement.Effect == "Allow" && try(statement.Principal.Service, "") == "events.amazonaws.com" &&
      statement.Action == "sqs:SendMessage" &&
      toset(try(statement.Condition.ArnEquals["aws:SourceArn"], [])) == toset([aws_cloudwatch_event_rule.model_approved.arn, aws_cloudwatch_event_rule.new_data.arn])
    ])
    error_message = "EventBridge may send to the queue for the project's two rules only"
  }

  assert {
    condition     = aws_lambda_function.redeploy.dead_letter_config[0].target_arn == aws_sns_topic.alarms.arn && aws_lambda_function_event_invoke_config.redeploy.maximum_retry_attempts >= 1
    error_message = "a failed asynchronous redeploy must be retried and then reach the alarm topic"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.events_dlq_depth.namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.events_dlq_depth.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.events_dlq_depth.dimensions.QueueName == "textclf-prod-events-dlq" &&
      aws_cloudwatch_metric_alarm.redeploy_errors.metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.redeploy_errors.dimensions.FunctionName == aws_lambda_function.redeploy.function_name &&
      aws_cloudwatch_metric_alarm.redeploy_dead_letter_errors.metric_name == "DeadLetterErrors" &&
      toset([for alarm in aws_cloudwatch_metric_alarm.events_failed : alarm.dimensions.RuleName]) == toset(["textclf-prod-new-data", "textclf-prod-model-approved"]) &&
      alltrue([for alarm in aws_cloudwatch_metric_alarm.events_failed : alarm.metric_name == "FailedInvocations" && alarm.namespace == "AWS/Events"])
    )
    error_message = "alarms on the queue's depth, the Lambda's errors and dead-letter errors, and each rule's failed deliveries"
  }

  assert {
    condition = alltrue([for alarm in concat(
      [aws_cloudwatch_metric_alarm.events_dlq_depth, aws_cloudwatch_metric_alarm.redeploy_errors, aws_cloudwatch_metric_alarm.redeploy_dead_letter_errors],
      values(aws_cloudwatch_metric_alarm.events_failed)) :
    alarm.alarm_actions == toset([aws_sns_topic.alarms.arn]) && alarm.threshold == 1])
    error_message = "each of these alarms must notify the alarm topic on the first failure"
  }
}
