# The environments: production (the defaults, environments/production.tfvars) and staging
# (environments/staging.tfvars), which deploys the models production's PRs published. Mocked
# provider, planned only.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository = "acme/text-classifier"
}

override_data {
  target          = data.aws_kms_alias.model_source[0]
  override_during = plan
  values          = { target_key_arn = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555" }
}

override_data {
  target          = data.aws_iam_openid_connect_provider.github[0]
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
}

run "production_reads_its_own_models" {
  command = plan

  variables {
    environment                = "prod"
    github_release_environment = "production"
    state_key                  = "main/terraform.tfstate"
  }

  assert {
    condition     = output.models_bucket == "textclf-prod-artifacts-123456789012"
    error_message = "production deploys the models of its own artifacts bucket"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1
    error_message = "the first environment of an account creates the GitHub OIDC provider"
  }

  assert {
    condition     = aws_lambda_function.redeploy.environment[0].variables["ARTIFACT_BUCKET"] == "textclf-prod-artifacts-123456789012"
    error_message = "production's Lambda deploys models of its own bucket"
  }

  assert {
    condition = (
      strcontains(aws_iam_role.github_release.assume_role_policy, "repo:acme/text-classifier:environment:production-infra:ref:refs/heads/main") &&
      !strcontains(aws_iam_role.github_promote.assume_role_policy, "production-infra")
    )
    error_message = "production's release role (not its promote role) trusts release.yml's production-infra environment on main"
  }
}

run "staging_deploys_productions_published_models" {
  command = plan

  variables {
    environment                 = "staging"
    github_release_environment  = "staging"
    state_key                   = "staging/terraform.tfstate"
    model_source_environment    = "prod"
    github_oidc_provider_exists = true
  }

  assert {
    condition     = output.models_bucket == "textclf-prod-artifacts-123456789012" && output.artifacts_bucket != output.models_bucket
    error_message = "staging deploys production's published models and keeps its own artifacts bucket"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0
    error_message = "the account's one GitHub OIDC provider is looked up, not created twice"
  }

  assert {
    condition     = aws_lambda_function.redeploy.environment[0].variables["ARTIFACT_BUCKET"] == "textclf-prod-artifacts-123456789012"
    error_message = "staging's Lambda accepts models of production's bucket only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["serving"].policy).Statement : s.Resource if s.Sid == "ReadReleasedModels"] == [
      "arn:aws:s3:::textclf-prod-artifacts-123456789012/models/*",
    ]
    error_message = "staging's serving role reads the published models and nothing else"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["serving"].policy).Statement : s.Resource if s.Sid == "DecryptThePublishedModels"][0] == [
      "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
      "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555",
    ]
    error_message = "staging decrypts with its own key and production's (found by its alias)"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["promote"].policy).Statement : s.Action if s.Sid == "RecordTheChampionAndTheDeployment"] == ["s3:PutObject"] && [for s in jsondecode(aws_iam_role_policy.this["promote"].policy).Statement : s.Resource if s.Sid == "RecordTheChampionAndTheDeployment"] == [
      "${aws_s3_bucket.this["artifacts"].arn}/production/*",
    ]
    error_message = "staging's promote role records the champion in staging's own bucket only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "ThisEnvironmentsTerraformState"] == [[
      "arn:aws:s3:::textclf-tfstate-123456789012-us-east-1/staging/terraform.tfstate",
      "arn:aws:s3:::textclf-tfstate-123456789012-us-east-1/staging/terraform.tfstate.tflock",
    ]]
    error_message = "staging's apply role writes staging's state only, never production's"
  }

  assert {
    condition     = strcontains(aws_iam_role.github_release.assume_role_policy, "repo:acme/text-classifier:environment:staging:ref:refs/heads/main")
    error_message = "staging's roles trust the staging environment on main"
  }

  # Staging's one job applies and promotes in `staging` (no reviewers): no infra environment, and
  # production's production-infra job opens none of staging's roles.
  assert {
    condition = alltrue([for role in [aws_iam_role.github_release, aws_iam_role.github_promote] :
      jsondecode(role.assume_role_policy).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/text-classifier:environment:staging:ref:refs/heads/main",
    ]])
    error_message = "staging's release and promote roles trust the staging environment on main only, not production-infra"
  }

  # The boundary of every staging role (boundary.tf): production's bucket and key are read only,
  # production's state key and production-named resources are outside it.
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Effect == "Deny" || s.Resource == "*" || (
        s.Sid == "ReadTheModelsItDeploys" ? toset(s.Action) == toset(["s3:GetObject", "s3:ListBucket", "kms:Decrypt", "kms:DescribeKey"]) :
        length([for r in flatten([s.Resource]) : r if strcontains(r, "textclf-prod") || strcontains(r, "99999999-8888") || endswith(r, "main/terraform.tfstate")]) == 0
      )
    ])
    error_message = "staging's boundary reads production's published models and nothing else of production"
  }
}

run "another_accounts_models_need_bucket_and_key_together" {
  command = plan

  variables {
    model_source_bucket = "textclf-prod-artifacts-111111111111"
  }

  expect_failures = [var.model_source_kms_key_arn]
}

run "production_grants_another_accounts_readers_through_s3_only" {
  command = plan

  variables {
    model_reader_role_arns = ["arn:aws:iam::222222222222:role/textclf-staging-serving"]
  }

  assert {
    condition = [for s in jsondecode(aws_kms_key.project.policy).Statement : s.Condition if s.Sid == "OtherEnvironmentsReadThePublishedModels"] == [
      { StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" } },
    ]
    error_message = "other accounts' readers decrypt through S3 only"
  }

  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this["artifacts"].policy).Statement : [s.Action, s.Resource] if s.Sid == "OtherEnvironmentsReadThePublishedModels"] == [
      ["s3:GetObject", "arn:aws:s3:::mocked-bucket/models/*"],
    ]
    error_message = "other accounts' readers may read models/ of the artifacts bucket and nothing else"
  }
}

run "no_reader_grants_by_default" {
  command = plan

  assert {
    condition     = !strcontains(aws_s3_bucket_policy.this["artifacts"].policy, "OtherEnvironments") && !strcontains(aws_kms_key.project.policy, "OtherEnvironments")
    error_message = "without model_reader_role_arns no other account is granted anything"
  }
}
