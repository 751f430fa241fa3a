# What watches the live model (monitoring.tf): the metric filters that turn the serving container's
# prediction lines into metrics, and the dashboard widgets for the prediction mix, the score and
# length distributions and the drift scores, next to the serving widgets.
# tests/monitoring/test_drift_terraform.py runs it; `make infra-test` too.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository = "acme/text-classifier"
}

run "metric_filters_and_widgets" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_log_metric_filter.signals)) == toset(["Predictions", "Score", "Characters", "Tokens", "Truncated", "LatencyMs"])
    error_message = "one metric filter per signal metric (textclf.serving.signals.METRIC_FILTERS)"
  }

  assert {
    condition = alltrue([for f in aws_cloudwatch_log_metric_filter.signals :
      f.log_group_name == "/aws/sagemaker/Endpoints/textclf-prod" && strcontains(f.pattern, "$.kind = \"textclf.prediction\"")
      && f.metric_transformation[0].namespace == "textclf/Serving/textclf-prod"
    ])
    error_message = "the filters read the endpoint's log group, select the prediction lines and publish in the endpoint's serving namespace"
  }

  assert {
    condition = (aws_cloudwatch_log_metric_filter.signals["Predictions"].metric_transformation[0].dimensions == tomap({ ModelVersion = "$.ModelVersion", Label = "$.label" })
    && aws_cloudwatch_log_metric_filter.signals["Score"].metric_transformation[0].value == "$.score")
    error_message = "the prediction mix is counted per label and model version; the score is the line's score"
  }

  assert {
    condition = length(setsubtract([
      "Invocations", "Model latency (microseconds)", "Errors",
      "Prediction mix (predictions per label, 5 minutes)", "Score of the predicted label (p10, p50, p90)",
      "Text length: characters p50 and p90, tokens p90, truncated (right)", "Drift scores (PSI against the live model's reference)",
    ], [for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.title])) == 0
    error_message = "the dashboard shows the prediction mix, score, length and drift widgets next to the serving ones"
  }

  assert {
    condition = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      alltrue([for m in w.properties.metrics : strcontains(m[0].expression, "{textclf/Serving/textclf-prod,")])
    if startswith(w.properties.title, "Prediction mix") || startswith(w.properties.title, "Score")])
    error_message = "the prediction widgets search the endpoint's serving namespace"
  }

  assert {
    condition = toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      [for m in w.properties.metrics : "${m[0]}:${m[1]}"] if startswith(w.properties.title, "Drift scores")
    ])) == toset(["textclf/Drift:PSI_prediction_mix", "textclf/Drift:PSI_score", "textclf/Drift:PSI_length"])
    error_message = "the drift widget draws the three PSI scores the drift check publishes"
  }
}

# Sampled capture (capture.tf): off by default; on, the serving role may write its endpoint's
# captured/ prefix only; the data bucket expires captured/ either way.
run "capture_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_iam_role_policy.serving_capture) == 0 && output.capture_uri == null
    error_message = "without capture_enabled the serving role may write nothing under captured/"
  }

  assert {
    condition = [for rule in aws_s3_bucket_lifecycle_configuration.this["data"].rule : rule.expiration[0].days
    if rule.id == "expire-captured-texts" && rule.filter[0].prefix == "captured/"] == [30]
    error_message = "captured/ expires after capture_expiration_days (30)"
  }
}

run "capture_on" {
  command = plan

  variables {
    capture_enabled = true
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.serving_capture[0].policy).Statement : s.Action] == ["s3:PutObject", "kms:GenerateDataKey"]
    error_message = "the capture policy grants PutObject and the key's data keys, nothing else"
  }

  assert {
    condition     = endswith(jsondecode(aws_iam_role_policy.serving_capture[0].policy).Statement[0].Resource, "/captured/textclf-prod/*")
    error_message = "the serving role writes under its endpoint's captured/ prefix only"
  }

  assert {
    condition     = aws_iam_role_policy.serving_capture[0].role == aws_iam_role.serving.id
    error_message = "the policy is the serving role's"
  }
}
