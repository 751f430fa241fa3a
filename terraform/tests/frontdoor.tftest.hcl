# The optional modules beyond the endpoint: the API front door (api.tf), the container service
# (ecs.tf) and the batch workflow's role (batch.tf). Each is absent by default; with it, its
# least-privilege roles (with the permissions boundary) and the settings that make it safe.
# The proxy zip only needs to exist here (the mock uploads nothing): any file of the module will do.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository  = "acme/text-classifier"
  api_proxy_zip_path = "tests/mocks.tfmock.hcl"
}

override_resource {
  target          = aws_apigatewayv2_api.this
  override_during = plan
  values = {
    id            = "a1b2c3d4e5"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.api_access
  override_during = plan
  values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/textclf-prod-api" }
}

override_resource {
  target          = aws_s3_bucket.this["artifacts"]
  override_during = plan
  values = {
    arn    = "arn:aws:s3:::textclf-prod-artifacts-123456789012"
    bucket = "textclf-prod-artifacts-123456789012"
  }
}

override_resource {
  target          = aws_s3_bucket.this["data"]
  override_during = plan
  values = {
    arn    = "arn:aws:s3:::textclf-prod-data-123456789012"
    bucket = "textclf-prod-data-123456789012"
  }
}

run "all_off_by_default" {
  command = plan

  assert {
    condition = (length(aws_apigatewayv2_api.this) + length(aws_lambda_function.api_proxy) + length(aws_iam_role.api_proxy)
      + length(aws_ecs_service.serving) + length(aws_lb.ecs) + length(aws_iam_role.ecs_task) + length(aws_iam_role.ecs_execution)
    + length(aws_iam_role.github_batch) + length(aws_iam_role_policy.serving_batch)) == 0
    error_message = "enable_api, enable_ecs and enable_batch are false by default: nothing of them is planned"
  }

  assert {
    condition     = output.api_endpoint == null && output.ecs_url == null && output.batch_role_arn == null
    error_message = "the modules' outputs are null when they are off"
  }
}

run "the_api_front_door" {
  command = plan

  variables {
    enable_api                 = true
    api_throttling_burst_limit = 7
    api_throttling_rate_limit  = 3
  }

  assert {
    condition     = aws_apigatewayv2_api.this[0].protocol_type == "HTTP" && aws_apigatewayv2_route.predict[0].route_key == "POST /predict"
    error_message = "an HTTP API with one route, POST /predict"
  }

  assert {
    condition     = aws_apigatewayv2_route.predict[0].authorization_type == "AWS_IAM"
    error_message = "the route needs IAM authorization (SigV4 and execute-api:Invoke)"
  }

  assert {
    condition = (aws_apigatewayv2_integration.proxy[0].payload_format_version == "2.0" && aws_apigatewayv2_integration.proxy[0].integration_type == "AWS_PROXY"
    && aws_apigatewayv2_integration.proxy[0].integration_uri == aws_lambda_function.api_proxy[0].invoke_arn)
    error_message = "the route proxies to the proxy Lambda with payload format 2.0"
  }

  assert {
    condition     = alltrue([for s in aws_apigatewayv2_stage.this[0].route_settings : s.route_key == "POST /predict" && s.throttling_burst_limit == 7 && s.throttling_rate_limit == 3]) && length(aws_apigatewayv2_stage.this[0].route_settings) == 1
    error_message = "the route is throttled with api_throttling_burst_limit and api_throttling_rate_limit"
  }

  assert {
    condition     = one(aws_apigatewayv2_stage.this[0].access_log_settings).destination_arn == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/textclf-prod-api"
    error_message = "access logs go to the API's own log group"
  }

  assert {
    condition     = jsondecode(one(aws_apigatewayv2_stage.this[0].access_log_settings).format).caller == "$context.identity.userArn"
    error_message = "the access log names the IAM caller"
  }

  assert {
    condition     = aws_cloudwatch_log_group.api_access[0].kms_key_id == aws_kms_key.project.arn && aws_cloudwatch_log_group.api_access[0].retention_in_days > 0
    error_message = "the access log group is encrypted with the project key and has a retention"
  }

  assert {
    condition     = aws_lambda_permission.api[0].principal == "apigateway.amazonaws.com" && aws_lambda_permission.api[0].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict"
    error_message = "API Gateway may invoke the proxy for this API's route only"
  }

  assert {
    condition     = aws_lambda_function.api_proxy[0].handler == "textclf.frontdoor.proxy.handler" && aws_lambda_function.api_proxy[0].environment[0].variables["ENDPOINT_NAME"] == "textclf-prod"
    error_message = "the proxy runs textclf.frontdoor.proxy against the project's endpoint"
  }

  assert {
    condition     = aws_iam_role.api_proxy[0].permissions_boundary == aws_iam_policy.boundary.arn
    error_message = "the proxy's role carries the permissions boundary"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.api_proxy[0].policy).Statement : [s.Action, s.Resource] if s.Sid == "InvokeTheProjectEndpointOnly"] == [
      ["sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/textclf-prod"]
    ]
    error_message = "the proxy may invoke the project's endpoint and nothing else of SageMaker"
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.api_proxy[0].policy).Statement :
      s.Resource != "*" || alltrue([for a in flatten([s.Action]) : startswith(a, "xray:")])
    ])
    error_message = "only X-Ray (which has no resource type) is on *"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.api_proxy[0].policy).Statement : s.Resource if s.Sid == "ItsOwnLog"] == [
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/textclf-prod-api-proxy:*"
    ]
    error_message = "the proxy writes its own log group only"
  }

  assert {
    condition     = output.api_invoke_resource_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/POST/predict"
    error_message = "the output names the execute-api ARN a caller's policy allows"
  }
}

run "bad_throttles_and_digests_are_refused" {
  command = plan

  variables {
    enable_api                 = true
    api_throttling_burst_limit = 0
    api_throttling_rate_limit  = -1
    ecs_model_sha256           = "not-a-digest"
  }

  expect_failures = [var.api_throttling_burst_limit, var.api_throttling_rate_limit, var.ecs_model_sha256]
}

run "the_container_service" {
  command = plan

  variables {
    enable_ecs          = true
    ecs_vpc_id          = "vpc-0123456789abcdef0"
    ecs_task_subnet_ids = ["subnet-0000000000000000a", "subnet-0000000000000000b"]
    ecs_alb_subnet_ids  = ["subnet-0000000000000000c", "subnet-0000000000000000d"]
    ecs_allowed_cidrs   = ["10.0.0.0/8"]
    ecs_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ecs_model_data_url  = "s3://textclf-prod-artifacts-123456789012/models/0123abcd/model.tar.gz"
    ecs_model_sha256    = "0000000000000000000000000000000000000000000000000000000000000001"
  }

  assert {
    condition = jsondecode(aws_ecs_task_definition.serving[0].container_definitions)[0].environment == [
      { name = "TEXTCLF_MODEL_URL", value = "s3://textclf-prod-artifacts-123456789012/models/0123abcd/model.tar.gz" },
      { name = "TEXTCLF_MODEL_SHA256", value = "0000000000000000000000000000000000000000000000000000000000000001" },
      { name = "TEXTCLF_MODEL_DIR", value = "/tmp/model" },
      { name = "MODEL_VERSION", value = "0123abcd" },
    ]
    error_message = "the task gets the released model's URL, its sha256 and the commit as its version"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.serving[0].container_definitions)[0].user == "10001:10001" && jsondecode(aws_ecs_task_definition.serving[0].container_definitions)[0].command == ["serve"]
    error_message = "the serving image's serve program, as its unprivileged user"
  }

  assert {
    condition     = one(aws_lb_target_group.ecs[0].health_check).path == "/ping" && aws_lb_target_group.ecs[0].port == 8080
    error_message = "the load balancer checks /ping on the server's port"
  }

  assert {
    condition     = aws_lb_listener.ecs_https[0].protocol == "HTTPS" && aws_lb.ecs[0].internal && aws_lb.ecs[0].drop_invalid_header_fields
    error_message = "an internal load balancer by default, HTTPS only"
  }

  assert {
    condition     = one(aws_ecs_service.serving[0].deployment_circuit_breaker).rollback && one(aws_ecs_service.serving[0].network_configuration).assign_public_ip == false
    error_message = "a failed roll rolls back; tasks get no public address"
  }

  assert {
    condition = (aws_appautoscaling_policy.ecs_cpu[0].policy_type == "TargetTrackingScaling"
      && one(one(aws_appautoscaling_policy.ecs_cpu[0].target_tracking_scaling_policy_configuration).predefined_metric_specification).predefined_metric_type == "ECSServiceAverageCPUUtilization"
    && aws_appautoscaling_target.ecs[0].min_capacity == 1 && aws_appautoscaling_target.ecs[0].max_capacity == 4)
    error_message = "target tracking on the service's CPU, 1 to 4 tasks"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.ecs_task[0].policy).Statement : s.Resource if s.Sid == "ReadReleasedModels"] == [
      "arn:aws:s3:::textclf-prod-artifacts-123456789012/models/*"
    ] && length(jsondecode(aws_iam_role_policy.ecs_task[0].policy).Statement) == 2
    error_message = "the task role reads the released models (and decrypts them), nothing else"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.ecs_execution[0].policy).Statement : s.Resource if s.Sid == "WriteTheContainerLog"] == [
      "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/textclf-prod-serving:*"
    ]
    error_message = "the execution role writes the service's log group only"
  }

  assert {
    condition     = aws_iam_role.ecs_task[0].permissions_boundary == aws_iam_policy.boundary.arn && aws_iam_role.ecs_execution[0].permissions_boundary == aws_iam_policy.boundary.arn
    error_message = "both ECS roles carry the permissions boundary"
  }

  assert {
    condition     = jsondecode(aws_iam_role.ecs_task[0].assume_role_policy).Statement[0].Principal.Service == "ecs-tasks.amazonaws.com" && jsondecode(aws_iam_role.ecs_task[0].assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "ECS tasks of this account only assume the task role"
  }

  assert {
    condition     = aws_cloudwatch_log_group.ecs[0].kms_key_id == aws_kms_key.project.arn
    error_message = "the service's log group is encrypted with the project key"
  }
}

run "the_container_service_needs_a_released_model_and_a_network" {
  command = plan

  variables {
    enable_ecs         = true
    ecs_model_data_url = "s3://somebody-elses-bucket/model.tar.gz"
    ecs_model_sha256   = "0000000000000000000000000000000000000000000000000000000000000001"
  }

  expect_failures = [aws_ecs_task_definition.serving, aws_security_group.ecs_alb]
}

run "the_batch_role" {
  command = plan

  variables {
    enable_batch = true
  }

  assert {
    condition     = aws_iam_role.github_batch[0].permissions_boundary == aws_iam_policy.boundary.arn
    error_message = "the batch role carries the permissions boundary"
  }

  assert {
    condition = jsondecode(aws_iam_role.github_batch[0].assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"] == [
      "repo:acme/text-classifier:environment:batch:ref:refs/heads/main"
    ]
    error_message = "only the batch workflow's job (batch environment, main) assumes the batch role"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.github_batch[0].policy).Statement : s.Resource if s.Sid == "RunTransformJobs"] == [
      "arn:aws:sagemaker:us-east-1:123456789012:transform-job/textclf-batch-*"
    ]
    error_message = "the role runs transform jobs named <prefix>-batch-* only"
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.github_batch[0].policy, "iam:PassRole") && !strcontains(aws_iam_role_policy.github_batch[0].policy, "\"*\"")
    error_message = "no PassRole (CreateTransformJob takes no role) and nothing on *"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.serving_batch[0].policy).Statement : s.Resource if s.Sid == "WriteTheBatchResults"] == [
      "arn:aws:s3:::textclf-prod-data-123456789012/batch/out/*"
    ]
    error_message = "the model's role writes batch results under the output prefix only"
  }

  assert {
    condition     = output.batch_role_arn == aws_iam_role.github_batch[0].arn
    error_message = "the role's ARN is an output (AWS_BATCH_ROLE_ARN)"
  }
}
