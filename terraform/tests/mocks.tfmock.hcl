# Values the mocked AWS provider returns for computed attributes the configuration passes on
# (ARNs and URLs must look like ARNs and URLs; names stay as configured).

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mocked-role"
  }
}

mock_resource "aws_iam_policy" {
  defaults = {
    arn = "arn:aws:iam::123456789012:policy/textclf-prod-boundary"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mocked-bucket"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/mocked"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mocked"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:mocked-alarms"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mocked"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mocked"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:mocked"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mocked/invocations"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/mocked"
  }
}

mock_resource "aws_cloudwatch_event_connection" {
  defaults = {
    arn        = "arn:aws:events:us-east-1:123456789012:connection/mocked/00000000-0000-0000-0000-000000000000"
    secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/mocked/00000000-0000-0000-0000-000000000000-AbCdEf"
  }
}

mock_resource "aws_cloudwatch_event_api_destination" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:api-destination/mocked/00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_sagemaker_model" {
  defaults = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/mocked"
  }
}
