# Unit tests with a mocked AWS provider: offline, no credentials, a few seconds.
# `make infra-test` (and tests/infra/test_terraform_static.py) pass lambda_zip_path.

# Planned only: override_during = plan gives computed attributes their mocked values at plan time,
# which is all the assertions need and spares an apply and a destroy per run.
mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository = "acme/text-classifier"
  enforce_tls       = true
}

override_resource {
  target          = aws_iam_role.sagemaker
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/textclf-prod-sagemaker" }
}

override_resource {
  target          = aws_iam_role.serving
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/textclf-prod-serving" }
}

override_resource {
  target          = aws_ecr_repository.this["serving"]
  override_during = plan
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/textclf-prod-serving"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-serving"
  }
}

run "defaults" {
  command = plan

  # --- every bucket is encrypted, private and TLS only
  assert {
    condition     = toset(keys(aws_s3_bucket.this)) == toset(["data", "artifacts"])
    error_message = "expected exactly the data and artifacts buckets"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      length(aws_s3_bucket_server_side_encryption_configuration.this[key].rule) == 1 &&
      alltrue([for rule in aws_s3_bucket_server_side_encryption_configuration.this[key].rule :
        rule.bucket_key_enabled && alltrue([for default in rule.apply_server_side_encryption_by_default :
          default.sse_algorithm == "aws:kms" && default.kms_master_key_id == aws_kms_key.project.arn
        ])
      ])
    ])
    error_message = "every bucket must default to SSE-KMS with the project key"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      aws_s3_bucket_public_access_block.this[key].bucket == bucket.id &&
      aws_s3_bucket_public_access_block.this[key].block_public_acls &&
      aws_s3_bucket_public_access_block.this[key].block_public_policy &&
      aws_s3_bucket_public_access_block.this[key].ignore_public_acls &&
      aws_s3_bucket_public_access_block.this[key].restrict_public_buckets
    ])
    error_message = "every bucket must block all public access"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      anytrue([for statement in jsondecode(aws_s3_bucket_policy.this[key].policy).Statement :
        statement.Effect == "Deny" && statement.Action == "s3:*" &&
        try(statement.Condition.Bool["aws:SecureTransport"], "") == "false" &&
        toset(flatten([statement.Resource])) == toset([bucket.arn, "${bucket.arn}/*"])
      ])
    ])
    error_message = "every bucket policy must deny requests without TLS"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      one(aws_s3_bucket_versioning.this[key].versioning_configuration).status == "Enabled"
    ])
    error_message = "every bucket must be versioned"
  }

  assert {
    condition = anytrue([for rule in aws_s3_bucket_lifecycle_configuration.this["artifacts"].rule :
      try(one(rule.filter).prefix == "checkpoints/" && one(rule.expiration).days == 14, false)
    ])
    error_message = "old checkpoints must expire (14 days by default)"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      alltrue([for rule in aws_s3_bucket_lifecycle_configuration.this[key].rule :
      one(rule.noncurrent_version_expiration).noncurrent_days == 90])
    ])
    error_message = "non-current versions must expire in every bucket"
  }

  assert {
    condition = alltrue([for key, bucket in aws_s3_bucket.this :
      alltrue([for rule in aws_s3_bucket_lifecycle_configuration.this[key].rule :
      one(rule.abort_incomplete_multipart_upload).days_after_initiation == 7])
    ])
    error_message = "incomplete multipart uploads must be aborted in every bucket"
  }

  # --- github roles trust only this repository
  assert {
    condition = alltrue([for role in [aws_iam_role.github_pr, aws_iam_role.github_release, aws_iam_role.github_promote, aws_iam_role.github_state, aws_iam_role.github_retrain] :
      alltrue([for statement in jsondecode(role.assume_role_policy).Statement :
        statement.Action == "sts:AssumeRoleWithWebIdentity" &&
        statement.Principal.Federated == aws_iam_openid_connect_provider.github[0].arn &&
        statement.Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com" &&
        alltrue([for subject in flatten([statement.Condition.StringLike["token.actions.githubusercontent.com:sub"]]) :
        startswith(subject, "repo:acme/text-classifier:") && !strcontains(replace(subject, "refs/pull/*/merge", ""), "*")])
      ])
    ])
    error_message = "the GitHub roles must trust only subjects of acme/text-classifier, wildcard only in a PR's number"
  }

  assert {
    condition     = jsondecode(aws_iam_role.github_pr.assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"] == ["repo:acme/text-classifier:pull_request:ref:refs/pull/*/merge"]
    error_message = "the PR role must trust pull_request tokens only"
  }

  assert {
    condition = alltrue([for role in [aws_iam_role.github_promote, aws_iam_role.github_state] :
      jsondecode(role.assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/text-classifier:environment:production:ref:refs/heads/main",
    ]])
    error_message = "the promote and state roles must trust the production environment on main only (subject with the ref)"
  }

  # release.yml's production-infra job (apply and images on every push, never held by production's
  # reviewers) has an environment of its own, which only the release role trusts.
  assert {
    condition = jsondecode(aws_iam_role.github_release.assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"] == [
      "repo:acme/text-classifier:environment:production:ref:refs/heads/main",
      "repo:acme/text-classifier:environment:production-infra:ref:refs/heads/main",
    ]
    error_message = "the release role must trust the production and production-infra environments on main only"
  }

  # --- each role trusts the jobs of its own workflow file (job_workflow_ref)
  assert {
    condition = alltrue([for role, files in {
      (aws_iam_role.github_pr.name)      = ["pr.yml@refs/pull/*/merge"]
      (aws_iam_role.github_release.name) = ["release.yml@refs/heads/main"]
      (aws_iam_role.github_promote.name) = ["release.yml@refs/heads/main"]
      (aws_iam_role.github_state.name)   = ["state.yml@refs/heads/main"]
      (aws_iam_role.github_retrain.name) = ["retrain.yml@refs/heads/main"]
      } : jsondecode([for r in [aws_iam_role.github_pr, aws_iam_role.github_release, aws_iam_role.github_promote, aws_iam_role.github_state, aws_iam_role.github_retrain] : r.assume_role_policy if r.name == role][0]).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:job_workflow_ref"] ==
      [for file in files : "acme/text-classifier/.github/workflows/${file}"]
    ])
    error_message = "each GitHub role must trust the jobs of its own workflow file only (job_workflow_ref)"
  }

  assert {
    condition     = aws_iam_openid_connect_provider.github[0].url == "https://token.actions.githubusercontent.com" && aws_iam_openid_connect_provider.github[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "the OIDC provider must be GitHub's, for STS"
  }

  # --- no policy allows wildcard actions on wildcard resources
  assert {
    condition = alltrue([for statement in flatten([for document in concat(
      [for policy in aws_iam_role_policy.this : jsondecode(policy.policy)],
      [for role in [aws_iam_role.sagemaker, aws_iam_role.serving, aws_iam_role.redeploy, aws_iam_role.stop_training, aws_iam_role.events, aws_iam_role.github_pr, aws_iam_role.github_release, aws_iam_role.github_promote, aws_iam_role.github_state, aws_iam_role.github_retrain] : jsondecode(role.assume_role_policy)],
      [for policy in aws_s3_bucket_policy.this : jsondecode(policy.policy)],
      [jsondecode(aws_kms_key.project.policy), jsondecode(aws_sns_topic_policy.alarms.policy), jsondecode(aws_cloudwatch_log_resource_policy.events_to_logs.policy_document)],
      ) : document.Statement]) :
      statement.Effect == "Deny" || !contains(flatten([try(statement.Resource, [])]), "*") ||
      alltrue([for action in flatten([statement.Action]) : action != "*" && !endswith(action, ":*")])
    ])
    error_message = "a statement allows all actions (of a service) on all resources"
  }

  assert {
    condition     = length(aws_iam_role_policy.this) == 10
    error_message = "expected the ten role policies (sagemaker, serving, redeploy, stop, pr, release, promote, state, retrain, events)"
  }

  # --- state.yml reads which model the endpoint serves, nothing else (not the promote role's rights)
  assert {
    condition = length(jsondecode(aws_iam_role_policy.this["state"].policy).Statement) == 1 && alltrue([for statement in jsondecode(aws_iam_role_policy.this["state"].policy).Statement :
      statement.Effect == "Allow" && toset(flatten([statement.Action])) == toset(["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"])
    ])
    error_message = "the state role may only describe the endpoint, its configs and models"
  }

  # --- one role serves every PR: it starts, stops and publishes jobs only through the training-run
  # function, which verifies the run's token and merge commit (lambda.tf); the PR role writes no
  # models/ and passes no role; the function's role starts, stops and publishes the project's jobs
  assert {
    condition = alltrue([for statement in jsondecode(aws_iam_role_policy.this["pr"].policy).Statement :
      length(setintersection(flatten([statement.Action]), ["sagemaker:StopTrainingJob", "sagemaker:CreateTrainingJob", "sagemaker:AddTags", "iam:PassRole"])) == 0 &&
      (length(setintersection(flatten([statement.Action]), ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"])) == 0 ||
      !anytrue([for resource in flatten([statement.Resource]) : strcontains(resource, "/${var.artifact_prefix}")])) &&
      (!contains(flatten([statement.Action]), "lambda:InvokeFunction") || statement.Resource == "arn:aws:lambda:us-east-1:123456789012:function:${aws_lambda_function.stop_training.function_name}")
    ])
    error_message = "the PR role may not create, stop or tag training jobs, pass roles or touch models/; it may invoke the training-run function only"
  }

  assert {
    condition = alltrue([for statement in jsondecode(aws_iam_role_policy.this["stop"].policy).Statement :
      !anytrue([for action in flatten([statement.Action]) : startswith(action, "sagemaker:")]) ||
      (contains([["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"], ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"]], flatten([statement.Action])) && try(endswith(statement.Resource, ":training-job/${var.project}-*"), false))
    ])
    error_message = "the training-run function may describe, start and stop the project's training jobs, nothing else of SageMaker"
  }

  assert {
    condition     = aws_lambda_function.stop_training.environment[0].variables.JWKS_URL == "https://token.actions.githubusercontent.com/.well-known/jwks" && aws_lambda_function.stop_training.environment[0].variables.GITHUB_REPOSITORY == var.github_repository
    error_message = "the stop-training function must check tokens against GitHub's keys, for this repository"
  }

  assert {
    # IAM rejects a role's inline policies above 10,240 characters; leave room for longer names.
    condition     = alltrue([for policy in aws_iam_role_policy.this : length(policy.policy) < 8000])
    error_message = "a role policy is close to IAM's 10,240-character limit for inline policies"
  }

  # --- pass role: the training-run function passes the training role, the Lambda the serving role, both only to SageMaker
  assert {
    condition = alltrue([for key, role in { stop = aws_iam_role.sagemaker, redeploy = aws_iam_role.serving } :
      alltrue([for statement in jsondecode(aws_iam_role_policy.this[key].policy).Statement :
        statement.Resource == role.arn &&
        statement.Condition.StringEquals["iam:PassedToService"] == "sagemaker.amazonaws.com"
      if contains(flatten([statement.Action]), "iam:PassRole")])
    ])
    error_message = "the training-run function may pass only the training role and the Lambda only the serving role, and only to SageMaker"
  }

  assert {
    condition = alltrue([for role in [aws_iam_role.sagemaker, aws_iam_role.serving, aws_iam_role.redeploy, aws_iam_role.stop_training, aws_iam_role.events, aws_iam_role.github_pr, aws_iam_role.github_release, aws_iam_role.github_promote, aws_iam_role.github_state, aws_iam_role.github_retrain] :
    role.permissions_boundary == aws_iam_policy.boundary.arn])
    error_message = "every project role must carry the permissions boundary"
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_s3_bucket_policy.this["artifacts"].policy).Statement :
      statement.Effect == "Deny" && statement.Action == "s3:PutObject" &&
      statement.Resource == "${aws_s3_bucket.this["artifacts"].arn}/models/*" &&
    try(statement.Condition.Null["s3:if-none-match"], "") == "true"])
    error_message = "released models must be write-once (PutObject only with If-None-Match)"
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_s3_bucket_policy.this["artifacts"].policy).Statement :
      statement.Effect == "Deny" && statement.Action == "s3:PutObject" &&
      statement.Resource == "${aws_s3_bucket.this["artifacts"].arn}/datasets/*" &&
    try(statement.Condition.Null["s3:if-none-match"], "") == "true"])
    error_message = "prepared datasets must be write-once (PutObject only with If-None-Match)"
  }

  # --- outputs for workflows and dvc
  assert {
    condition     = output.dvc_remote_url == "s3://textclf-prod-data-123456789012/dvc" && output.data_bucket == "textclf-prod-data-123456789012"
    error_message = "the DVC remote must be the dvc/ prefix of the data bucket"
  }

  assert {
    condition     = output.redeploy_function_name == "textclf-prod-redeploy" && output.sagemaker_role_arn == aws_iam_role.sagemaker.arn
    error_message = "outputs must name the redeploy Lambda and the SageMaker role"
  }

  # --- no endpoint without a released model
  assert {
    condition     = length(aws_sagemaker_endpoint.this) == 0 && length(aws_sagemaker_model.initial) == 0
    error_message = "without initial_model_data_url there is no model to start an endpoint with"
  }

  # --- alarms go to the topic
  assert {
    condition = alltrue([for alarm in [aws_cloudwatch_metric_alarm.endpoint_5xx, aws_cloudwatch_metric_alarm.endpoint_latency] :
      alarm.alarm_actions == toset([aws_sns_topic.alarms.arn]) && alarm.dimensions.EndpointName == output.endpoint_name
    ])
    error_message = "both endpoint alarms must notify the alarm topic"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.endpoint_latency.threshold == 1000000
    error_message = "ModelLatency is in microseconds: 1000 ms must become 1000000"
  }

  assert {
    # Search expressions (the prediction widgets, tests/drift_dashboard.tftest.hcl) have no metric name.
    condition = length(setsubtract([
      "Invocations", "ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors", "ModelSetupTime",
      ], flatten([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
    [for metric in try(widget.properties.metrics, []) : metric[1] if length(metric) > 1]]))) == 0
    error_message = "the dashboard must show invocations, latency, errors and cold starts"
  }
}

run "github_ids_and_serverless_sizes" {
  command = plan

  variables {
    github_owner_id            = 1234
    github_repository_id       = 5678
    serverless_memory_mb       = 3072
    serverless_max_concurrency = 8
  }

  assert {
    condition = toset(jsondecode(aws_iam_role.github_pr.assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"]) == toset([
      "repo:acme/text-classifier:pull_request:ref:refs/pull/*/merge",
      "repo:acme@1234/text-classifier@5678:pull_request:ref:refs/pull/*/merge",
    ])
    error_message = "with ids, the PR role must also trust the immutable subject form"
  }

  # --- the Lambda is wired to the right names
  assert {
    condition = aws_lambda_function.redeploy.environment[0].variables == tomap({
      ARTIFACT_BUCKET                    = "textclf-prod-artifacts-123456789012"
      ARTIFACT_PREFIX                    = "models/"
      ENDPOINT_NAME                      = "textclf-prod"
      SERVING_IMAGE_URI                  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-serving:initial"
      SAGEMAKER_ROLE_ARN                 = "arn:aws:iam::123456789012:role/textclf-prod-serving"
      SERVERLESS_MEMORY_MB               = "3072"
      SERVERLESS_MAX_CONCURRENCY         = "8"
      SERVERLESS_PROVISIONED_CONCURRENCY = "0"
      KEEP_CONFIGS                       = "3"
      POLL_SECONDS                       = "15"
      CAPTURE_URI                        = ""
      LOCK_TABLE                         = "textclf-prod-deploy-lock"
      KMS_KEY_ARN                        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    })
    error_message = "the redeploy Lambda's environment does not match the resources"
  }

  assert {
    condition     = aws_lambda_function.redeploy.environment[0].variables.ARTIFACT_BUCKET == output.artifacts_bucket && aws_lambda_function.redeploy.environment[0].variables.ENDPOINT_NAME == output.endpoint_name
    error_message = "the Lambda and the outputs must name the same bucket and endpoint"
  }

  assert {
    condition     = aws_lambda_function.redeploy.handler == "textclf.release.redeploy.handler" && aws_lambda_function.redeploy.runtime == "python3.13" && aws_lambda_function.stop_training.runtime == "python3.13"
    error_message = "handler and runtime are part of the contract with the Lambda package"
  }

  assert {
    condition     = aws_dynamodb_table.deploy_lock.hash_key == "lock_id" && aws_dynamodb_table.deploy_lock.billing_mode == "PAY_PER_REQUEST" && one(aws_dynamodb_table.deploy_lock.attribute).type == "S"
    error_message = "the lock table must have the string hash key lock_id, on demand"
  }

  assert {
    condition     = aws_cloudwatch_log_group.redeploy.name == "/aws/lambda/${aws_lambda_function.redeploy.function_name}" && aws_cloudwatch_log_group.redeploy.retention_in_days == 365
    error_message = "the Lambda's log group must be the one Lambda writes to, with retention"
  }

  assert {
    condition     = aws_cloudwatch_event_target.model_approved.arn == aws_lambda_function.redeploy.arn && aws_lambda_permission.model_approved.source_arn == aws_cloudwatch_event_rule.model_approved.arn
    error_message = "model approval events must reach the redeploy Lambda"
  }

}

run "endpoint_first_configuration" {
  command = plan

  variables {
    initial_model_data_url             = "s3://textclf-prod-artifacts-123456789012/models/0123abc/model.tar.gz"
    serverless_memory_mb               = 4096
    serverless_max_concurrency         = 10
    serverless_provisioned_concurrency = 2
  }

  assert {
    condition = one(one(aws_sagemaker_endpoint_configuration.initial[0].production_variants).serverless_config) == {
      memory_size_in_mb       = 4096
      max_concurrency         = 10
      provisioned_concurrency = 2
    }
    error_message = "the endpoint configuration must carry the serverless sizes"
  }

  assert {
    condition     = one(aws_sagemaker_model.initial[0].primary_container).model_data_url == var.initial_model_data_url && aws_sagemaker_model.initial[0].execution_role_arn == aws_iam_role.serving.arn
    error_message = "the first model must serve the given artifact with the SageMaker role"
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == output.endpoint_name && aws_sagemaker_endpoint.this[0].endpoint_config_name == aws_sagemaker_endpoint_configuration.initial[0].name
    error_message = "the endpoint must start on its first configuration"
  }
}
