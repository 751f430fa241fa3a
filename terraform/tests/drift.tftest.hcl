# The drift check (drift.tf): absent unless its zip is given; with it, the schedule, the function,
# its least-privilege role, the alarms and the GitHub dispatch on ALARM.
# tests/monitoring/test_drift_terraform.py passes lambda_zip_path and drift_lambda_zip_path.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository = "acme/text-classifier"
}

override_resource {
  target          = aws_cloudwatch_log_group.endpoint
  override_during = plan
  values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/textclf-prod" }
}

override_resource {
  target          = aws_cloudwatch_metric_alarm.drift
  override_during = plan
  values          = { arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:textclf-prod-drift" }
}

run "off_without_a_zip" {
  command = plan

  variables {
    drift_lambda_zip_path = null
  }

  assert {
    condition     = length(aws_lambda_function.drift) == 0 && length(aws_cloudwatch_metric_alarm.drift) == 0
    error_message = "without drift_lambda_zip_path nothing of the drift check is planned"
  }
}

run "the_check_its_role_its_alarm_and_the_dispatch" {
  command = plan

  # Any zip plans (the mocked provider uploads nothing): `make infra-test` passes only the redeploy
  # zip, so this run plans the check with it.
  variables {
    drift_lambda_zip_path = var.lambda_zip_path
  }

  assert {
    condition     = aws_lambda_function.drift[0].handler == "textclf.monitoring.drift.handler"
    error_message = "the function runs textclf.monitoring.drift.handler"
  }

  assert {
    condition = aws_lambda_function.drift[0].environment[0].variables == tomap({
      ENDPOINT_NAME              = "textclf-prod"
      ARTIFACTS_BUCKET           = aws_s3_bucket.this["artifacts"].bucket
      MONITOR_WINDOW_HOURS       = "24"
      MONITOR_MIN_PREDICTIONS    = "200"
      MONITOR_PSI_PREDICTION_MIX = "0.25"
      MONITOR_PSI_SCORE          = "0.25"
      MONITOR_PSI_LENGTH         = "0.25"
      MONITOR_METRICS_NAMESPACE  = "textclf/Drift"
    })
    error_message = "the function gets the endpoint, the bucket and params.yaml's monitor thresholds"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.drift_schedule[0].schedule_expression == "rate(1 day)"
    error_message = "the check runs daily by default"
  }

  assert {
    condition     = aws_cloudwatch_event_target.drift_schedule[0].input == "{}"
    error_message = "the drift schedule's target sends {} (input), not the scheduled event"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.drift[0].policy).Statement : s.Resource if s.Sid == "ReadTheEndpointsSignals"] == [
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/textclf-prod:*"
    ]
    error_message = "the role reads the signals of its endpoint's log group only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.drift[0].policy).Statement : s.Condition if s.Sid == "PublishTheScores"] == [
      { StringEquals = { "cloudwatch:namespace" = "textclf/Drift" } }
    ]
    error_message = "the role publishes metrics in the drift namespace only"
  }

  assert {
    condition     = aws_iam_role.drift[0].permissions_boundary == aws_iam_policy.boundary.arn
    error_message = "the role carries the project's permissions boundary"
  }

  assert {
    condition = (aws_cloudwatch_metric_alarm.drift[0].namespace == "textclf/Drift" && aws_cloudwatch_metric_alarm.drift[0].metric_name == "Drifted"
    && aws_cloudwatch_metric_alarm.drift[0].treat_missing_data == "notBreaching" && aws_cloudwatch_metric_alarm.drift[0].alarm_actions == toset([aws_sns_topic.alarms.arn]))
    error_message = "the alarm watches Drifted, notifies the alarm topic, and treats no check as no drift"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.drift_alarm[0].event_pattern).resources == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:textclf-prod-drift"]
    error_message = "the dispatch rule listens to the drift alarm only"
  }

  assert {
    condition     = aws_cloudwatch_event_target.drift_alarm[0].arn == aws_cloudwatch_event_api_destination.github_dispatch.arn && aws_cloudwatch_event_target.drift_alarm[0].role_arn == aws_iam_role.events.arn
    error_message = "drift opens an issue through the GitHub dispatch destination retraining uses, as the events role"
  }

  assert {
    condition     = strcontains(aws_cloudwatch_event_target.drift_alarm[0].input_transformer[0].input_template, "\"event_type\": \"model-drift\"")
    error_message = "the dispatch's event type is drift_event_type"
  }
}

run "a_bad_schedule_is_refused" {
  command = plan

  variables {
    drift_check_schedule = "every day"
  }

  expect_failures = [var.drift_check_schedule]
}
