# Bad input fails at plan time, naming the variable (or the resource precondition) to fix.
# A run passes only if every check in its expect_failures fails, so each run tries one bad value
# for several different variables at once (a run costs a provider start, so there are few).

mock_provider "aws" {
  source = "./tests"
}

variables {
  github_repository = "acme/text-classifier"
}

run "valid_edge_values_plan" {
  command = plan

  variables {
    serverless_memory_mb               = 6144
    serverless_max_concurrency         = 200
    serverless_provisioned_concurrency = 200
    data_bucket_name                   = "acme.textclf-data-01"
    artifacts_bucket_name              = "abc"
    github_repository                  = "Acme-Labs/text_classifier.v2"
  }
}

run "bad_values_1" {
  command = plan

  variables {
    serverless_memory_mb       = 1536              # not a multiple of 1024
    serverless_max_concurrency = 0                 # below 1
    github_repository          = "text-classifier" # no owner
    data_bucket_name           = "Textclf-Data"    # uppercase
    artifacts_bucket_name      = "textclf..art"    # two dots in a row
    github_owner_id            = 1234              # without github_repository_id
    # The release environment itself (its reviewers would hold the apply and images again).
    github_infra_environments = { production = "Production" }
  }

  expect_failures = [
    var.serverless_memory_mb,
    var.serverless_max_concurrency,
    var.github_repository,
    var.data_bucket_name,
    var.artifacts_bucket_name,
    var.github_repository_id,
    var.github_infra_environments,
  ]
}

run "bad_values_2" {
  command = plan

  variables {
    serverless_memory_mb       = 7168                                                               # above 6144
    serverless_max_concurrency = 201                                                                # above 200
    github_repository          = "acme/text/classifier"                                             # two slashes
    data_bucket_name           = "192.168.10.12"                                                    # formatted like an IP address
    artifacts_bucket_name      = "textclf-artifacts-0123456789-0123456789-0123456789-0123456789abc" # 64 characters
  }

  expect_failures = [
    var.serverless_memory_mb,
    var.serverless_max_concurrency,
    var.github_repository,
    var.data_bucket_name,
    var.artifacts_bucket_name,
  ]
}

run "reserved_bucket_names" {
  command = plan

  variables {
    data_bucket_name      = "textclf-data--x-s3"     # S3 Express directory buckets' suffix
    artifacts_bucket_name = "amzn-s3-demo-artifacts" # a prefix S3 reserves for its documentation
  }

  expect_failures = [
    var.data_bucket_name,
    var.artifacts_bucket_name,
  ]
}

run "bad_values_3" {
  command = plan

  variables {
    serverless_memory_mb       = 512                                       # below 1024
    serverless_max_concurrency = 2.5                                       # not whole
    github_repository          = "https://github.com/acme/text-classifier" # a URL, not owner/name
    data_bucket_name           = "ab"                                      # shorter than 3
    artifacts_bucket_name      = "textclf-artifacts-"                      # ends with a hyphen
  }

  expect_failures = [
    var.serverless_memory_mb,
    var.serverless_max_concurrency,
    var.github_repository,
    var.data_bucket_name,
    var.artifacts_bucket_name,
  ]
}

run "bad_values_4" {
  command = plan

  variables {
    github_repository     = "-acme/text-classifier" # owner starts with a hyphen
    data_bucket_name      = "textclf_data"          # underscore
    artifacts_bucket_name = "xn--textclf"           # reserved prefix
  }

  expect_failures = [
    var.github_repository,
    var.data_bucket_name,
    var.artifacts_bucket_name,
  ]
}

run "provisioned_concurrency_above_max" {
  command = plan

  variables {
    serverless_max_concurrency         = 4
    serverless_provisioned_concurrency = 5
  }

  expect_failures = [var.serverless_provisioned_concurrency]
}

run "model_outside_the_artifacts_bucket" {
  command = plan

  variables {
    initial_model_data_url = "s3://someone-elses-bucket/models/abc/model.tar.gz"
  }

  expect_failures = [aws_sagemaker_model.initial]
}

run "missing_lambda_zip" {
  command = plan

  variables {
    lambda_zip_path = "does-not-exist/redeploy.zip"
  }

  expect_failures = [aws_lambda_function.redeploy]
}

# The redeploy Lambda keeps the live config and the one before it; the PR job's session cannot
# exceed IAM's 12-hour cap (nor be shorter than its 1-hour minimum).
run "keep_one_config_and_a_13_hour_pr_session" {
  command = plan

  variables {
    keep_configs              = 1
    github_pr_session_seconds = 46800
  }

  expect_failures = [var.keep_configs, var.github_pr_session_seconds]
}

run "pr_session_below_an_hour" {
  command = plan

  variables {
    github_pr_session_seconds = 1800
  }

  expect_failures = [var.github_pr_session_seconds]
}

run "pr_session_of_12_hours_and_two_configs_plan" {
  command = plan

  variables {
    keep_configs              = 2
    github_pr_session_seconds = 43200
  }

  assert {
    condition     = aws_iam_role.github_pr.max_session_duration == 43200
    error_message = "the PR role's maximum session must follow github_pr_session_seconds"
  }
}

# The stop-training function trusts the keys at this URL: plain HTTP only on the test machine's
# loopback, where the local cloud's tests serve their own issuer.
run "jwks_over_plain_http" {
  command = plan

  variables {
    github_oidc_jwks_url = "http://keys.example.com/.well-known/jwks"
  }

  expect_failures = [var.github_oidc_jwks_url]
}

# CloudWatch refuses Period x EvaluationPeriods over 7 days: the latency alarm's 5 periods of
# 120,961 s would fail at apply, after the endpoint changed.
run "alarm_period_beyond_cloudwatchs_seven_days" {
  command = plan

  variables {
    endpoint_alarm_period_seconds = 121020
  }

  expect_failures = [var.endpoint_alarm_period_seconds]
}

run "alarm_period_of_20_seconds_plans" {
  command = plan

  variables {
    endpoint_alarm_period_seconds = 20
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.endpoint_latency.period == 20
    error_message = "a 20 s period (a CloudWatch high-resolution period) must reach the latency alarm"
  }
}
