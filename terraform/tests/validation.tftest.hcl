# Bad input fails at plan time, naming the variable (or resource precondition) to fix.
# Each run plans with one bad value and expects exactly that check to fail.

mock_provider "aws" {
  source = "./tests"
}

variables {
  github_repository = "acme/text-classifier"
}

run "valid_input_plans" {
  command = plan

  variables {
    serverless_memory_mb               = 6144
    serverless_max_concurrency         = 200
    serverless_provisioned_concurrency = 200
    data_bucket_name                   = "acme.textclf-data-01"
    github_repository                  = "Acme-Labs/text_classifier.v2"
  }
}

run "memory_not_a_serverless_size" {
  command = plan

  variables {
    serverless_memory_mb = 1536
  }

  expect_failures = [var.serverless_memory_mb]
}

run "memory_above_6144" {
  command = plan

  variables {
    serverless_memory_mb = 7168
  }

  expect_failures = [var.serverless_memory_mb]
}

run "concurrency_zero" {
  command = plan

  variables {
    serverless_max_concurrency = 0
  }

  expect_failures = [var.serverless_max_concurrency]
}

run "concurrency_above_200" {
  command = plan

  variables {
    serverless_max_concurrency = 201
  }

  expect_failures = [var.serverless_max_concurrency]
}

run "provisioned_above_max" {
  command = plan

  variables {
    serverless_max_concurrency         = 4
    serverless_provisioned_concurrency = 5
  }

  expect_failures = [var.serverless_provisioned_concurrency]
}

run "repository_without_owner" {
  command = plan

  variables {
    github_repository = "text-classifier"
  }

  expect_failures = [var.github_repository]
}

run "repository_with_two_slashes" {
  command = plan

  variables {
    github_repository = "acme/text/classifier"
  }

  expect_failures = [var.github_repository]
}

run "repository_dot_dot" {
  command = plan

  variables {
    github_repository = "acme/.."
  }

  expect_failures = [var.github_repository]
}

run "repository_url_instead_of_name" {
  command = plan

  variables {
    github_repository = "https://github.com/acme/text-classifier"
  }

  expect_failures = [var.github_repository]
}

run "bucket_uppercase" {
  command = plan

  variables {
    data_bucket_name = "Textclf-Data"
  }

  expect_failures = [var.data_bucket_name]
}

run "bucket_too_short" {
  command = plan

  variables {
    data_bucket_name = "ab"
  }

  expect_failures = [var.data_bucket_name]
}

run "bucket_too_long" {
  command = plan

  variables {
    artifacts_bucket_name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  }

  expect_failures = [var.artifacts_bucket_name]
}

run "bucket_double_dot" {
  command = plan

  variables {
    artifacts_bucket_name = "textclf..artifacts"
  }

  expect_failures = [var.artifacts_bucket_name]
}

run "bucket_ip_address" {
  command = plan

  variables {
    data_bucket_name = "192.168.10.12"
  }

  expect_failures = [var.data_bucket_name]
}

run "bucket_reserved_prefix" {
  command = plan

  variables {
    data_bucket_name = "xn--textclf"
  }

  expect_failures = [var.data_bucket_name]
}

run "owner_id_without_repository_id" {
  command = plan

  variables {
    github_owner_id = 1234
  }

  expect_failures = [var.github_repository_id]
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
