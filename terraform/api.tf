# The API front door (docs/batch-and-api.md), off unless enable_api: an API Gateway HTTP API whose
# one route, POST /predict, needs IAM authorization (callers sign with SigV4 and need
# execute-api:Invoke on the route), is throttled per route and writes access logs to a KMS-encrypted
# log group; it invokes the proxy Lambda (textclf.frontdoor.proxy), which checks the request's size
# and shape and calls InvokeEndpoint on the project's endpoint as a role that may do only that.
# The proxy's zip is built by `make proxy-zip` (python -m textclf.lambda_zip textclf.frontdoor.proxy
# build/api-proxy.zip); like the other Lambdas, Terraform only uploads the file.
# Variables and outputs of the module are in this file.

variable "enable_api" {
  description = "Create the API front door (HTTP API -> proxy Lambda -> the endpoint). Turning it on or off changes the release role's own policy and the permissions boundary: apply that change as an administrator (the release role's plan stops saying so)."
  type        = bool
  default     = false
}

variable "api_proxy_zip_path" {
  description = "The proxy Lambda's zip (`make proxy-zip`), relative to terraform/ or absolute."
  type        = string
  default     = "../build/api-proxy.zip"
}

variable "api_throttling_burst_limit" {
  description = "Requests the route accepts at once above its steady rate (API Gateway's token bucket size)."
  type        = number
  default     = 20

  validation {
    condition     = var.api_throttling_burst_limit >= 1 && var.api_throttling_burst_limit <= 5000 && floor(var.api_throttling_burst_limit) == var.api_throttling_burst_limit
    error_message = "api_throttling_burst_limit must be a whole number from 1 to 5000 (the account's default burst quota)."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady requests per second the route accepts; above it (and the burst) callers get 429."
  type        = number
  default     = 10

  validation {
    condition     = var.api_throttling_rate_limit > 0 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be above 0 and at most 10000 requests per second (the account's default quota)."
  }
}

locals {
  api_enabled  = var.enable_api
  api_function = "${local.name}-api-proxy"
  api_zip      = startswith(var.api_proxy_zip_path, "/") ? var.api_proxy_zip_path : "${path.module}/${var.api_proxy_zip_path}"
  api_route    = "POST /predict"
  # HTTP APIs: "$default" is the stage served at the API's root URL.
  api_stage = "$default"
  # The API's execute-api ARN, built here rather than read from the provider's execution_arn, which
  # is empty of the account when the provider skips requesting it (as against the local cloud).
  api_execution_arn = local.api_enabled ? "arn:${local.partition}:execute-api:${var.region}:${local.account_id}:${aws_apigatewayv2_api.this[0].id}" : null

  # Access log fields ($context variables of HTTP APIs, "Customizing HTTP API access logs",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html):
  # who called (the IAM caller's ARN), what, the answer and the times. No body: no raw text.
  api_access_log_format = {
    requestId          = "$context.requestId"
    requestTime        = "$context.requestTime"
    caller             = "$context.identity.userArn"
    sourceIp           = "$context.identity.sourceIp"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    integrationStatus  = "$context.integrationStatus"
    integrationLatency = "$context.integrationLatency"
    responseLatency    = "$context.responseLatency"
    error              = "$context.error.message"
  }

  api_proxy_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeTheProjectEndpointOnly"
        Effect   = "Allow"
        Action   = "sagemaker:InvokeEndpoint"
        Resource = "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}"
      },
      {
        # Stream actions are authorized on the log group's ARN with ":*" (CloudWatch Logs,
        # "Overview of managing access permissions to your CloudWatch Logs resources"); the group
        # itself is Terraform's, so no logs:CreateLogGroup.
        Sid      = "ItsOwnLog"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.logs_arn_prefix}:/aws/lambda/${local.api_function}:*"
      },
      local.xray_tracing,
    ]
  }
}

resource "aws_cloudwatch_log_group" "api_proxy" {
  count = local.api_enabled ? 1 : 0

  name              = "/aws/lambda/${local.api_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_cloudwatch_log_group" "api_access" {
  count = local.api_enabled ? 1 : 0

  # The project key's policy lets CloudWatch Logs use it for any project log group (kms.tf).
  name              = "/aws/apigateway/${local.name}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_iam_role" "api_proxy" {
  count = local.api_enabled ? 1 : 0

  name                 = "${local.name}-api-proxy"
  description          = "The API front door's proxy Lambda of ${local.name}: InvokeEndpoint on ${local.endpoint_name}, its own log"
  assume_role_policy   = jsonencode(local.service_trust["lambda"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role_policy" "api_proxy" {
  count = local.api_enabled ? 1 : 0

  name   = "${local.name}-api-proxy"
  role   = aws_iam_role.api_proxy[0].id
  policy = jsonencode(local.api_proxy_policy)
}

resource "aws_lambda_function" "api_proxy" {
  count = local.api_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_117:It calls only the SageMaker runtime API; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:Reserved concurrency fails on new accounts (quota 10); the route's throttling bounds concurrency.
  #checkov:skip=CKV_AWS_272:The zip is built from the reviewed commit; code signing needs a Signer profile (optional hardening).
  #checkov:skip=CKV_AWS_116:API Gateway invokes it synchronously and gets the error; a dead-letter queue applies to asynchronous invocations only.
  function_name = local.api_function
  description   = "The API front door of ${local.endpoint_name}: check the request, InvokeEndpoint"
  role          = aws_iam_role.api_proxy[0].arn
  handler       = "textclf.frontdoor.proxy.handler"
  runtime       = "python3.13"
  timeout       = 30 # HTTP APIs stop waiting for an integration after 30 s (API Gateway quotas)
  memory_size   = 256

  filename         = local.api_zip
  source_code_hash = fileexists(local.api_zip) ? filebase64sha256(local.api_zip) : null
  kms_key_arn      = aws_kms_key.project.arn

  environment {
    variables = {
      ENDPOINT_NAME = local.endpoint_name
    }
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.api_zip)
      error_message = "The API proxy zip ${var.api_proxy_zip_path} does not exist: run `make proxy-zip` first, or set api_proxy_zip_path."
    }
  }

  depends_on = [aws_cloudwatch_log_group.api_proxy]
}

resource "aws_apigatewayv2_api" "this" {
  count = local.api_enabled ? 1 : 0

  name          = "${local.name}-api"
  description   = "The front door of ${local.endpoint_name}: POST /predict, IAM authorization"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "proxy" {
  count = local.api_enabled ? 1 : 0

  api_id                 = aws_apigatewayv2_api.this[0].id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.api_proxy[0].invoke_arn
  payload_format_version = "2.0" # the event textclf.frontdoor.proxy reads
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "predict" {
  count = local.api_enabled ? 1 : 0

  api_id    = aws_apigatewayv2_api.this[0].id
  route_key = local.api_route
  target    = "integrations/${aws_apigatewayv2_integration.proxy[0].id}"
  # IAM authorization: API Gateway checks the SigV4 signature and the caller's execute-api:Invoke
  # on arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/POST/predict before the Lambda runs
  # ("Control access to HTTP APIs with IAM authorization",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
  authorization_type = "AWS_IAM"
}

resource "aws_apigatewayv2_stage" "this" {
  count = local.api_enabled ? 1 : 0

  api_id      = aws_apigatewayv2_api.this[0].id
  name        = local.api_stage
  auto_deploy = true

  # Throttling per route (token bucket: burst, then rate per second; beyond it 429), "Throttle
  # requests to your HTTP APIs",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html.
  default_route_settings {
    throttling_burst_limit = var.api_throttling_burst_limit
    throttling_rate_limit  = var.api_throttling_rate_limit
  }

  route_settings {
    route_key              = aws_apigatewayv2_route.predict[0].route_key
    throttling_burst_limit = var.api_throttling_burst_limit
    throttling_rate_limit  = var.api_throttling_rate_limit
  }

  # Access logs to the encrypted log group, its ARN without ":*" ("Configure logging for HTTP APIs",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html).
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access[0].arn
    format          = jsonencode(local.api_access_log_format)
  }
}

# API Gateway may invoke the proxy for this API's route only: the permission's source ARN is the
# route's execute-api ARN (any stage), not every API of the account
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
resource "aws_lambda_permission" "api" {
  count = local.api_enabled ? 1 : 0

  statement_id  = "AllowTheFrontDoorRoute"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api_proxy[0].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${local.api_execution_arn}/*/POST/predict"
}

output "api_endpoint" {
  description = "The front door's URL (POST <url>/predict, SigV4-signed for service execute-api); null unless enable_api."
  value       = local.api_enabled ? aws_apigatewayv2_stage.this[0].invoke_url : null
}

output "api_id" {
  description = "The HTTP API's id; null unless enable_api."
  value       = local.api_enabled ? aws_apigatewayv2_api.this[0].id : null
}

output "api_invoke_resource_arn" {
  description = "What a caller's policy allows execute-api:Invoke on; null unless enable_api."
  value       = local.api_enabled ? "${local.api_execution_arn}/${local.api_stage}/POST/predict" : null
}

output "api_proxy_function_name" {
  description = "The proxy Lambda behind the front door; null unless enable_api."
  value       = local.api_enabled ? aws_lambda_function.api_proxy[0].function_name : null
}
