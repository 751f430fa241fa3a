# The state bucket, with a mocked AWS provider (offline).

# Planned only (override_during = plan gives the mocked ARNs at plan time): the bucket has
# prevent_destroy, so an applied test run could not clean up after itself.
mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::textclf-tfstate-123456789012-eu-west-1" }
  }
}

run "state_bucket_is_versioned_encrypted_private_and_tls_only" {
  command = plan

  variables {
    region = "eu-west-1"
  }

  assert {
    condition     = output.state_bucket == "textclf-tfstate-123456789012-eu-west-1"
    error_message = "the state bucket name must follow <project>-tfstate-<account>-<region>, as the main configuration expects"
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.state.versioning_configuration).status == "Enabled"
    error_message = "state versions must be kept"
  }

  assert {
    condition = alltrue([for rule in aws_s3_bucket_server_side_encryption_configuration.state.rule :
    one(rule.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"])
    error_message = "the state bucket must be encrypted with KMS"
  }

  assert {
    condition = (aws_s3_bucket_public_access_block.state.block_public_acls && aws_s3_bucket_public_access_block.state.block_public_policy &&
    aws_s3_bucket_public_access_block.state.ignore_public_acls && aws_s3_bucket_public_access_block.state.restrict_public_buckets)
    error_message = "the state bucket must block all public access"
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_s3_bucket_policy.state[0].policy).Statement :
    statement.Effect == "Deny" && statement.Condition.Bool["aws:SecureTransport"] == "false"])
    error_message = "the state bucket must deny requests without TLS"
  }
}

run "bad_bucket_name" {
  command = plan

  variables {
    state_bucket_name = "Terraform_State"
  }

  expect_failures = [var.state_bucket_name]
}
