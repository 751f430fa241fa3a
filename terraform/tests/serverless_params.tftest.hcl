# params.yaml is the one source of the Serverless settings: its deploy.serverless and
# deploy.keep_configs reach the redeploy Lambda's environment and the first endpoint configuration;
# an environment's tfvars may override them; values out of range stop the plan, naming them.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository      = "acme/text-classifier"
  initial_model_data_url = "s3://textclf-prod-artifacts-123456789012/models/0123abc/model.tar.gz"
  params_file            = "tests/fixtures/serverless-params.yaml"
}

run "params_yaml_reaches_the_lambda_and_the_endpoint" {
  command = plan

  assert {
    condition = {
      for name in ["SERVERLESS_MEMORY_MB", "SERVERLESS_MAX_CONCURRENCY", "SERVERLESS_PROVISIONED_CONCURRENCY", "KEEP_CONFIGS"] :
      name => aws_lambda_function.redeploy.environment[0].variables[name]
      } == {
      SERVERLESS_MEMORY_MB               = "5120"
      SERVERLESS_MAX_CONCURRENCY         = "3"
      SERVERLESS_PROVISIONED_CONCURRENCY = "1"
      KEEP_CONFIGS                       = "7"
    }
    error_message = "the redeploy Lambda must get params.yaml's deploy.serverless and deploy.keep_configs"
  }

  assert {
    condition = one(one(aws_sagemaker_endpoint_configuration.initial[0].production_variants).serverless_config) == {
      memory_size_in_mb       = 5120
      max_concurrency         = 3
      provisioned_concurrency = 1
    }
    error_message = "the first endpoint configuration must carry params.yaml's Serverless settings"
  }
}

run "an_environment_overrides_one_setting" {
  command = plan

  variables {
    serverless_max_concurrency = 2
  }

  assert {
    condition     = aws_lambda_function.redeploy.environment[0].variables["SERVERLESS_MAX_CONCURRENCY"] == "2" && aws_lambda_function.redeploy.environment[0].variables["SERVERLESS_MEMORY_MB"] == "5120"
    error_message = "an override replaces its own setting only"
  }
}

run "out_of_range_settings_in_params_yaml_stop_the_plan" {
  command = plan

  variables {
    params_file            = "tests/fixtures/serverless-params-bad.yaml"
    initial_model_data_url = null # no endpoint yet: the provider's own check of the size does not run first
  }

  expect_failures = [aws_lambda_function.redeploy]
}
