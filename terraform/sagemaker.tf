# The Serverless endpoint's first configuration. After that the redeploy Lambda owns the endpoint:
# it creates a new model and endpoint configuration per release and switches the endpoint to it.
#
# An endpoint needs a model that starts, so nothing here is created until initial_model_data_url
# names a released model.tar.gz (a new account has none before its first training run).

locals {
  initial_name     = "${local.endpoint_name}-initial"
  endpoint_enabled = var.initial_model_data_url != null
}

resource "aws_sagemaker_model" "initial" {
  #checkov:skip=CKV_AWS_370:Serverless endpoints refuse models with network isolation (SageMaker's Serverless feature exclusions)
  count = local.endpoint_enabled ? 1 : 0

  name               = local.initial_name
  execution_role_arn = aws_iam_role.serving.arn
  # No network isolation: Serverless endpoints refuse models that have it ("Serverless Inference
  # feature exclusions" in the SageMaker developer guide), as the local cloud does.
  enable_network_isolation = false

  primary_container {
    image          = local.serving_image_uri
    model_data_url = var.initial_model_data_url
  }

  lifecycle {
    # The API (and the local cloud) answer with an empty vpc_config block that this configuration
    # never sets; without this every plan would want to replace the model.
    # The container is the first release's: later releases build their own models (the Lambda,
    # with the serving image tag each release applies), so a new tag must not replace this one.
    ignore_changes = [vpc_config, primary_container]

    precondition {
      condition     = startswith(coalesce(var.initial_model_data_url, "-"), "s3://${local.models_bucket}/${var.artifact_prefix}")
      error_message = "initial_model_data_url must be a released model of the models bucket: s3://${local.models_bucket}/${var.artifact_prefix}<commit>/model.tar.gz (the serving role reads nothing else)."
    }
  }
}

# The Serverless settings: params.yaml's deploy.serverless and deploy.keep_configs (the values the
# docs and `textclf` validate), unless this environment's tfvars override them (variables.tf).
locals {
  params_path       = startswith(var.params_file, "/") ? var.params_file : "${path.module}/${var.params_file}"
  params            = fileexists(local.params_path) ? yamldecode(file(local.params_path)) : null
  serverless_params = try(local.params.deploy.serverless, {})
  serverless = {
    memory_mb               = coalesce(var.serverless_memory_mb, try(local.serverless_params.memory_mb, null), 2048)
    max_concurrency         = coalesce(var.serverless_max_concurrency, try(local.serverless_params.max_concurrency, null), 5)
    provisioned_concurrency = coalesce(var.serverless_provisioned_concurrency, try(local.serverless_params.provisioned_concurrency, null), 0)
    keep_configs            = coalesce(var.keep_configs, try(local.params.deploy.keep_configs, null), 3)
  }
  serverless_valid = (
    contains([1024, 2048, 3072, 4096, 5120, 6144], local.serverless.memory_mb)
    && local.serverless.max_concurrency >= 1 && local.serverless.max_concurrency <= 200
    && floor(local.serverless.max_concurrency) == local.serverless.max_concurrency
    && local.serverless.provisioned_concurrency >= 0 && local.serverless.provisioned_concurrency <= local.serverless.max_concurrency
    && floor(local.serverless.provisioned_concurrency) == local.serverless.provisioned_concurrency
    && local.serverless.keep_configs >= 2 && local.serverless.keep_configs <= 50
    && floor(local.serverless.keep_configs) == local.serverless.keep_configs
  )
  serverless_invalid_message = "The Serverless settings from ${var.params_file} (deploy.serverless, deploy.keep_configs) or this environment's overrides are out of range: memory_mb ${local.serverless.memory_mb} (1024-6144, step 1024), max_concurrency ${local.serverless.max_concurrency} (1-200), provisioned_concurrency ${local.serverless.provisioned_concurrency} (0 to max_concurrency), keep_configs ${local.serverless.keep_configs} (2-50)."
}

resource "aws_sagemaker_endpoint_configuration" "initial" {
  count = local.endpoint_enabled ? 1 : 0

  name = local.initial_name
  # Serverless endpoints use it for the model image; configurations the Lambda creates pass the same
  # key (KMS_KEY_ARN).
  kms_key_arn = aws_kms_key.project.arn

  production_variants {
    variant_name = local.variant_name
    model_name   = aws_sagemaker_model.initial[0].name

    serverless_config {
      memory_size_in_mb       = local.serverless.memory_mb
      max_concurrency         = local.serverless.max_concurrency
      provisioned_concurrency = local.serverless.provisioned_concurrency > 0 ? local.serverless.provisioned_concurrency : null
    }
  }

  lifecycle {
    # Returned as an empty block though never set (see the model above).
    ignore_changes = [data_capture_config]
  }
}

resource "aws_sagemaker_endpoint" "this" {
  count = local.endpoint_enabled ? 1 : 0

  name                 = local.endpoint_name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.initial[0].name

  lifecycle {
    # The redeploy Lambda moves the endpoint to a new configuration on every release (and back on
    # a rollback). Terraform only creates the endpoint: reverting it to the initial configuration
    # would undo a release, so the configuration name is not Terraform's to manage.
    ignore_changes = [endpoint_config_name]
  }
}
