# Least-privilege roles. Policies are written as HCL objects (jsonencode) so the unit tests can
# read every statement back; tests/unit.tftest.hcl asserts that no statement allows every action
# of a service (or all actions) on every resource.
#
# sagemaker: what training jobs run as (their data, checkpoints and output, logs)
# serving:   what the endpoint's models run as (read the released models, nothing else)
# redeploy:  the redeploy Lambda (only the SageMaker calls a redeploy needs, on this endpoint)
# pr:        GitHub pull-request workflows (read data, upload the prepared data write-once and the
#            run's evaluation; start, stop and publish their training job through the training-run
#            function, which verifies the run's OIDC token: the role writes no models/)
# release:   the release jobs' Terraform apply (and images); environments `production` and
#            `production-infra` (github_infra_environments) on main only
# promote:   the release job's promote step: invoke the redeploy Lambda, read models/, write production/
# state:     the scheduled comparison of production with deploy/production.yaml (state.yml): read
#            which model the endpoint serves, nothing else
# retrain:   the retrain workflow: read incoming/ data, add DVC objects
# events:    EventBridge calling the GitHub dispatch API destination
#
# Every role carries the permissions boundary (boundary.tf); the release role can create roles
# only with it, and cannot change its own role, the boundary or the state bucket's policy.

locals {
  github_oidc_host         = "token.actions.githubusercontent.com"
  github_oidc_provider_arn = coalesce(var.github_oidc_provider_arn, try(data.aws_iam_openid_connect_provider.github[0].arn, null), try(aws_iam_openid_connect_provider.github[0].arn, null))
  github_owner             = split("/", var.github_repository)[0]
  github_name              = split("/", var.github_repository)[1]

  # Subject prefixes a token from this repository can carry: the name form, and the immutable
  # id form when the ids are known. Exact matches only, so no other repository or fork matches.
  github_subject_prefixes = concat(
    ["repo:${var.github_repository}"],
    var.github_owner_id == null ? [] : ["repo:${local.github_owner}@${var.github_owner_id}/${local.github_name}@${var.github_repository_id}"],
  )
  # `make github-settings` customises the repository's OIDC subject to include the ref
  # (include_claim_keys = repo, context, ref), so a subject names the event or environment AND the
  # ref: a job bound to `production` on a branch other than main gets another subject, which no
  # trust policy below accepts. Without the customisation an environment's subject carries no ref
  # (GitHub's "About security hardening with OpenID Connect", subject claim examples).
  release_ref = "refs/heads/${var.github_release_branch}"
  pr_subjects = [for prefix in local.github_subject_prefixes : "${prefix}:pull_request:ref:refs/pull/*/merge"]
  release_subjects = [for prefix in local.github_subject_prefixes :
  "${prefix}:environment:${var.github_release_environment}:ref:${local.release_ref}"]
  # release.yml's production-infra job (Terraform apply and images on every push) runs in an
  # environment of its own, main only and without reviewers, so that production's required
  # reviewers do not hold it: its subject opens the release role only, never the promote role
  # (which changes the endpoint and stays behind production's approval) nor the state role.
  infra_environment = lookup(var.github_infra_environments, var.github_release_environment, null)
  infra_subjects = local.infra_environment == null ? [] : [for prefix in local.github_subject_prefixes :
  "${prefix}:environment:${local.infra_environment}:ref:${local.release_ref}"]
  # The retrain workflow runs on main (schedule, dispatch) in no environment: its context is the ref.
  retrain_subjects = [for prefix in local.github_subject_prefixes : "${prefix}:ref:${local.release_ref}:ref:${local.release_ref}"]

  # Which workflow file each role's jobs come from (the token's job_workflow_ref,
  # `<owner>/<repo>/.github/workflows/<file>@<ref>`, GitHub's OIDC reference), a claim STS checks in
  # trust policies since 2026 ("AWS STS supports validation of identity provider claims"): a job of
  # batch.yml or retrain.yml, or any other file on main, does not get the release role although its
  # subject may be the same.
  workflow_ref = "${var.github_repository}/.github/workflows"
  github_workflow_refs = {
    pr      = ["${local.workflow_ref}/pr.yml@refs/pull/*/merge"]
    release = ["${local.workflow_ref}/release.yml@${local.release_ref}"]
    # The release's promote steps only: the scheduled comparison of production with its declared
    # state (state.yml) reads the endpoint and needs none of the promote role's rights (it invokes
    # no Lambda and writes nothing), so it has a read-only role of its own.
    promote = ["${local.workflow_ref}/release.yml@${local.release_ref}"]
    state   = ["${local.workflow_ref}/state.yml@${local.release_ref}"]
    retrain = ["${local.workflow_ref}/retrain.yml@${local.release_ref}"]
    batch   = ["${local.workflow_ref}/batch.yml@${local.release_ref}"]
  }

  # The functions the PR and promote roles call, by name: the administrator creates those roles
  # (docs/infra.md, first apply) without the functions, which the release role creates later.
  redeploy_function_arn      = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.redeploy_function}"
  stop_training_function_arn = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.stop_training_function}"

  bucket_arns   = { for key, bucket in aws_s3_bucket.this : key => bucket.arn }
  artifacts_arn = local.bucket_arns["artifacts"]
  data_arn      = local.bucket_arns["data"]
  repo_arns     = [for repo in aws_ecr_repository.this : repo.arn]

  kms_use = {
    Sid      = "UseTheProjectKey"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    Resource = aws_kms_key.project.arn
  }
  # The project key through S3 only (its objects are SSE-KMS), for roles with no use of the key of
  # their own (AWS KMS developer guide, "kms:ViaService").
  kms_use_via_s3 = {
    Sid       = "UseTheProjectKeyThroughS3"
    Effect    = "Allow"
    Action    = local.kms_use.Action
    Resource  = local.kms_use.Resource
    Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
  }
  pass_sagemaker_role = {
    Sid      = "PassOnlyTheTrainingRole"
    Effect   = "Allow"
    Action   = "iam:PassRole"
    Resource = aws_iam_role.sagemaker.arn
    Condition = {
      StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" }
    }
  }
  pass_serving_role = {
    Sid      = "PassOnlyTheServingRole"
    Effect   = "Allow"
    Action   = "iam:PassRole"
    Resource = aws_iam_role.serving.arn
    Condition = {
      StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" }
    }
  }
  ecr_login = {
    Sid      = "EcrLoginHasNoResourceScope"
    Effect   = "Allow"
    Action   = "ecr:GetAuthorizationToken"
    Resource = "*"
  }
  # The Lambdas' active tracing. X-Ray's PutTraceSegments and PutTelemetryRecords have no resource
  # type (service authorization reference for AWS X-Ray): "*" is the only resource they accept.
  xray_tracing = {
    Sid      = "TracingHasNoResourceScope"
    Effect   = "Allow"
    Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    Resource = "*"
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null && !var.github_oidc_provider_exists ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

# An account has one provider per URL: the second environment's apply finds the first one's.
data "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null && var.github_oidc_provider_exists ? 1 : 0

  url = "https://${local.github_oidc_host}"
}

# The key of the published models: this environment's own, another environment's (by its alias,
# same account), or another account's (by ARN).
data "aws_kms_alias" "model_source" {
  count = var.model_source_environment != null && var.model_source_kms_key_arn == null ? 1 : 0

  name = "alias/${var.project}-${var.model_source_environment}"
}

locals {
  models_kms_key_arn = coalesce(var.model_source_kms_key_arn, try(data.aws_kms_alias.model_source[0].target_key_arn, null), aws_kms_key.project.arn)
  # Decrypt only: this environment reads the published models, never writes them.
  models_kms_read = {
    Sid      = "DecryptThePublishedModels"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:DescribeKey"]
    Resource = distinct([aws_kms_key.project.arn, local.models_kms_key_arn])
  }
}

# --- trust policies ---------------------------------------------------------------------------

locals {
  service_trust = { for service in ["sagemaker", "lambda", "events"] : service => {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "${service}.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  } }

  github_trust = { for role, subjects in {
    pr      = local.pr_subjects
    release = concat(local.release_subjects, local.infra_subjects)
    promote = local.release_subjects
    state   = local.release_subjects # state.yml's job is bound to the production environment on main
    retrain = local.retrain_subjects
    } : role => {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.github_oidc_host}:aud" = "sts.amazonaws.com" }
        # StringLike for the PR subject's one wildcard, the pull request's number in
        # refs/pull/<n>/merge; every other subject is an exact string.
        StringLike = {
          "${local.github_oidc_host}:sub"              = subjects
          "${local.github_oidc_host}:job_workflow_ref" = local.github_workflow_refs[role]
        }
      }
    }]
  } }
}

resource "aws_iam_role" "sagemaker" {
  name                 = "${local.name}-sagemaker"
  description          = "SageMaker training jobs of ${local.name}"
  assume_role_policy   = jsonencode(local.service_trust["sagemaker"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role" "serving" {
  name                 = "${local.name}-serving"
  description          = "The endpoint models of ${local.name}: read the released models only"
  assume_role_policy   = jsonencode(local.service_trust["sagemaker"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role" "redeploy" {
  name                 = "${local.name}-redeploy-lambda"
  description          = "The redeploy Lambda of ${local.name}"
  assume_role_policy   = jsonencode(local.service_trust["lambda"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role" "stop_training" {
  name                 = "${local.name}-stop-training-lambda"
  description          = "The stop-training Lambda of ${local.name}: stops the training job of a verified pull request run"
  assume_role_policy   = jsonencode(local.service_trust["lambda"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role" "events" {
  name                 = "${local.name}-events-dispatch"
  description          = "EventBridge: call the GitHub dispatch API destination of ${local.name}"
  assume_role_policy   = jsonencode(local.service_trust["events"])
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role" "github_pr" {
  name                 = "${local.name}-github-pr"
  description          = "GitHub Actions pull requests of ${var.github_repository}"
  assume_role_policy   = jsonencode(local.github_trust["pr"])
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = var.github_pr_session_seconds # the Spot job and the rest of the PR job (variables.tf)
}

resource "aws_iam_role" "github_release" {
  name                 = "${local.name}-github-release"
  description          = "Terraform apply in the release job of ${var.github_repository} (${var.github_release_branch} / ${var.github_release_environment})"
  assume_role_policy   = jsonencode(local.github_trust["release"])
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600
}

resource "aws_iam_role" "github_promote" {
  name                 = "${local.name}-github-promote"
  description          = "The promote step of ${var.github_repository}'s release job (${var.github_release_branch} / ${var.github_release_environment})"
  assume_role_policy   = jsonencode(local.github_trust["promote"])
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600
}

# Created by the release role like any project role (it carries the boundary); read-only.
resource "aws_iam_role" "github_state" {
  name                 = "${local.name}-github-state"
  description          = "The scheduled comparison of ${var.github_repository}'s production endpoint with deploy/production.yaml (state.yml, read-only)"
  assume_role_policy   = jsonencode(local.github_trust["state"])
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600
}

output "state_role_arn" {
  description = "Role the state workflow (state.yml) assumes through OIDC to read which model production serves (environment production, main only; repository variable AWS_STATE_ROLE_ARN)."
  value       = aws_iam_role.github_state.arn
}

resource "aws_iam_role" "github_retrain" {
  name                 = "${local.name}-github-retrain"
  description          = "The retrain workflow of ${var.github_repository} on ${var.github_release_branch}"
  assume_role_policy   = jsonencode(local.github_trust["retrain"])
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600
}

# --- permission policies ----------------------------------------------------------------------

locals {
  sagemaker_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListTheJobPrefixes"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.artifacts_arn
        Condition = {
          StringLikeIfExists = { "s3:prefix" = ["datasets/*", "checkpoints/*", "${var.training_output_prefix}*"] }
        }
      },
      {
        Sid      = "ReadInputsAndCheckpoints"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = ["${local.artifacts_arn}/datasets/*", "${local.artifacts_arn}/checkpoints/*"]
      },
      {
        # The job's model.tar.gz goes to jobs/, never to the write-once models/ prefix: publish
        # copies the reviewed archive there (storage.tf's bucket policy).
        Sid      = "WriteCheckpointsAndJobOutput"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = ["${local.artifacts_arn}/checkpoints/*", "${local.artifacts_arn}/${var.training_output_prefix}*"]
      },
      {
        Sid      = "PruneOldCheckpoints"
        Effect   = "Allow"
        Action   = "s3:DeleteObject"
        Resource = "${local.artifacts_arn}/checkpoints/*"
      },
      local.kms_use,
      {
        # CreateTrainingJob's OutputDataConfig.KmsKeyId: "the SageMaker execution role must include
        # permissions to call kms:Encrypt" (CreateTrainingJob API reference, OutputDataConfig).
        Sid      = "EncryptModelArtifacts"
        Effect   = "Allow"
        Action   = "kms:Encrypt"
        Resource = aws_kms_key.project.arn
      },
      local.ecr_login,
      {
        Sid      = "PullTheProjectImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
        Resource = local.repo_arns
      },
      {
        Sid      = "WriteSageMakerLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = ["${local.logs_arn_prefix}:/aws/sagemaker/*", "${local.logs_arn_prefix}:/aws/sagemaker/*:log-stream:*"]
      },
      {
        Sid      = "PublishSageMakerMetricsOnly"
        Effect   = "Allow"
        Action   = "cloudwatch:PutMetricData"
        Resource = "*"
        Condition = {
          StringLike = { "cloudwatch:namespace" = ["/aws/sagemaker/*", "AWS/SageMaker"] }
        }
      },
    ]
  }

  # The endpoint's model: its released archive (and the key it is encrypted with), its image, its logs.
  serving_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadReleasedModels"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.models_arn}/${var.artifact_prefix}*"
      },
      local.models_kms_read,
      local.ecr_login,
      {
        Sid      = "PullTheServingImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
        Resource = aws_ecr_repository.this["serving"].arn
      },
      {
        Sid      = "WriteEndpointLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.logs_arn_prefix}:/aws/sagemaker/Endpoints/*"]
      },
      {
        Sid      = "PublishEndpointMetricsOnly"
        Effect   = "Allow"
        Action   = "cloudwatch:PutMetricData"
        Resource = "*"
        Condition = {
          StringLike = { "cloudwatch:namespace" = ["/aws/sagemaker/*", "AWS/SageMaker"] }
        }
      },
    ]
  }

  redeploy_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "RollTheProjectEndpoint"
        Effect = "Allow"
        Action = [
          "sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel",
          "sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig",
          "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint",
          # A Failed endpoint accepts DeleteEndpoint only: the Lambda's repair deletes it and
          # recreates it on the previous configuration.
          "sagemaker:DeleteEndpoint",
          "sagemaker:AddTags", "sagemaker:ListTags",
        ]
        Resource = [
          "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
          "${local.sagemaker_arn_prefix}:endpoint-config/${local.endpoint_name}-*",
          "${local.sagemaker_arn_prefix}:model/${local.endpoint_name}-*",
        ]
      },
      {
        Sid      = "ListConfigsToKeepTheNewest"
        Effect   = "Allow"
        Action   = ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"]
        Resource = "*"
      },
      {
        Sid      = "ReadApprovedModelPackages"
        Effect   = "Allow"
        Action   = "sagemaker:DescribeModelPackage"
        Resource = "${local.sagemaker_arn_prefix}:model-package/${local.model_package_group}/*"
      },
      local.pass_serving_role,
      {
        # The Lambda checks that the released archive exists (HeadObject = s3:GetObject); it writes
        # nothing to S3 (the release workflow records the champion).
        Sid      = "SeeReleasedModels"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.models_arn}/${var.artifact_prefix}*"
      },
      {
        # Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key (GetObject API
        # reference): listing lets the Lambda say "does not exist" rather than "access denied".
        Sid      = "TellMissingModelsApart"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.models_arn
      },
      local.kms_use,
      local.models_kms_read,
      {
        Sid      = "EncryptNewEndpointConfigurations"
        Effect   = "Allow"
        Action   = "kms:CreateGrant"
        Resource = aws_kms_key.project.arn
        Condition = {
          Bool = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      {
        Sid      = "HoldTheDeployLock"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.deploy_lock.arn
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.redeploy.arn}:*"
      },
      {
        Sid      = "DeadLetterToTheAlarmTopic"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = aws_sns_topic.alarms.arn
      },
      local.xray_tracing,
    ]
  }

  github_pr_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # No CreateTrainingJob, StopTrainingJob, AddTags or PassRole, and no write to models/: one
        # role serves every PR, and IAM cannot tell one run's job, checkpoints or commit from
        # another's (CreateTrainingJob has no condition key for its checkpoint or output location).
        # A run starts, stops and publishes its own job through the training-run function, which
        # verifies the run's OIDC token and its merge commit (lambda.tf, textclf.training.stop_job).
        Sid      = "FollowTrainingJobs"
        Effect   = "Allow"
        Action   = "sagemaker:DescribeTrainingJob"
        Resource = "${local.sagemaker_arn_prefix}:training-job/${local.training_job_prefix}*"
      },
      {
        Sid      = "StartStopAndPublishItsRunsJobThroughTheFunction"
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = local.stop_training_function_arn
      },
      {
        Sid      = "ListTheDvcRemote"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.data_arn
        Condition = {
          # IfExists: a HEAD of a missing key is authorized as s3:ListBucket without a prefix, and
          # must get its 404 (DVC checks existence that way); listings stay within dvc/.
          StringLikeIfExists = { "s3:prefix" = ["dvc/*", "dvc"] }
        }
      },
      {
        # dvc pull the data only. A PR cannot write the DVC remote: objects main's data.dvc points
        # at stay what they were (DVC keys objects by content but would not notice a replaced one
        # without `verify`, which .dvc/config turns on). New data comes from its author's push or
        # the retrain role; the PR's model is released from models/<commit>/, not from DVC.
        Sid      = "PullData"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.data_arn}/dvc/*"
      },
      {
        Sid      = "ListArtifacts"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.artifacts_arn
      },
      {
        Sid      = "ReadArtifactsAndTheChampion"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = [for prefix in ["datasets/", "checkpoints/", var.training_output_prefix, var.artifact_prefix, "reports/", "production/"] : "${local.artifacts_arn}/${prefix}*"]
      },
      {
        # datasets/ is content-addressed and write-once (storage.tf's bucket policy), and a job checks
        # every file it trains on against its digest; candidates/ holds a run's evaluation files
        # until the training-run function copies them, sha256 checked, into models/<commit>/.
        Sid      = "WriteExperimentPrefixes"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = [for prefix in ["datasets/", "candidates/", "reports/"] : "${local.artifacts_arn}/${prefix}*"]
      },
      local.kms_use_via_s3, # the PR role has no use of the key of its own
      {
        # Log-group actions (DescribeLogStreams, FilterLogEvents) are authorized on the group's ARN
        # with a trailing ":*"; GetLogEvents on the stream's ARN (CloudWatch Logs, "Overview of
        # managing access permissions to your CloudWatch Logs resources").
        Sid      = "FollowTrainingJobLogs"
        Effect   = "Allow"
        Action   = ["logs:GetLogEvents", "logs:DescribeLogStreams", "logs:FilterLogEvents"]
        Resource = ["${local.logs_arn_prefix}:/aws/sagemaker/TrainingJobs:*", "${local.logs_arn_prefix}:/aws/sagemaker/TrainingJobs:log-stream:${local.training_job_prefix}*"]
      },
      {
        Sid      = "CheckTheTrainingImage"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImages", "ecr:BatchGetImage"]
        Resource = aws_ecr_repository.this["training"].arn
      },
    ]
  }

  # Applying this configuration needs broad rights, so they are bounded by resource names: every
  # statement names the project's own ARNs, except the few calls AWS cannot scope (listed last).
  github_release_policy = {
    Version = "2012-10-17"
    # The optional modules' statements (api.tf, ecs.tf) come last and only with their module: with
    # both off the document is the default configuration's, statement for statement.
    Statement = concat([
      {
        # Its own environment's state only (and its S3-native lock file, <key>.tflock): the
        # environments of one account share the state bucket, and staging's apply role must not
        # rewrite production's state.
        Sid      = "ListTheStateBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${local.partition}:s3:::${local.state_bucket}"
      },
      {
        Sid      = "ThisEnvironmentsTerraformState"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = [for key in [var.state_key, "${var.state_key}.tflock"] : "arn:${local.partition}:s3:::${local.state_bucket}/${key}"]
      },
      {
        Sid      = "ReadTheSourceEnvironmentsKeyAlias"
        Effect   = "Allow"
        Action   = "kms:DescribeKey"
        Resource = local.models_kms_key_arn
      },
      {
        Sid      = "ManageProjectBuckets"
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = flatten([for arn in values(local.bucket_arns) : [arn, "${arn}/*"]])
      },
      {
        Sid      = "ManageProjectImages"
        Effect   = "Allow"
        Action   = "ecr:*"
        Resource = local.repo_arns
      },
      {
        # Roles it creates or changes must carry the permissions boundary, so the apply role
        # cannot mint a role with more power than the boundary (IAM User Guide, "Permissions
        # boundaries for IAM entities", delegating with a boundary). Only actions whose requests
        # carry iam:PermissionsBoundary (Service Authorization Reference for IAM): on any other a
        # condition on it is false, and AWS refuses.
        Sid      = "ManageProjectRolesWithinTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:DeleteRole"]
        Resource = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = aws_iam_policy.boundary.arn }
        }
      },
      {
        # Managed policies: only the project's own (iam:PolicyARN), never the boundary as a grant.
        # The template attaches none; an AWS managed policy such as AdministratorAccess is refused.
        Sid      = "AttachOnlyTheProjectsOwnPolicies"
        Effect   = "Allow"
        Action   = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
        Resource = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = aws_iam_policy.boundary.arn }
          ArnLike      = { "iam:PolicyARN" = "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-*" }
          ArnNotEquals = { "iam:PolicyARN" = aws_iam_policy.boundary.arn }
        }
      },
      {
        # Tags (the provider's default_tags): TagRole and UntagRole carry no iam:PermissionsBoundary.
        Sid      = "TagProjectRoles"
        Effect   = "Allow"
        Action   = ["iam:TagRole", "iam:UntagRole"]
        Resource = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
      },
      {
        Sid      = "ReadProjectRoles"
        Effect   = "Allow"
        Action   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRoleTags"]
        Resource = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
      },
      {
        Sid      = "PassProjectRolesToTheirServices"
        Effect   = "Allow"
        Action   = "iam:PassRole"
        Resource = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
        Condition = {
          StringEquals = { "iam:PassedToService" = ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "events.amazonaws.com"] }
        }
      },
      {
        Sid      = "ManageTheGithubProvider"
        Effect   = "Allow"
        Action   = ["iam:GetOpenIDConnectProvider", "iam:CreateOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider"]
        Resource = "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.github_oidc_host}"
      },
      {
        Sid      = "ReadTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"]
        Resource = aws_iam_policy.boundary.arn
      },
      {
        # The apply role cannot loosen its own limits: its role, the boundary, the state bucket's policy.
        Sid    = "NeverLoosenItsOwnLimits"
        Effect = "Deny"
        Action = ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:DeleteRole", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]
        Resource = [
          "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-github-release",
          aws_iam_policy.boundary.arn,
          "arn:${local.partition}:s3:::${local.state_bucket}",
        ]
      },
      {
        # The dead-letter queues of the event rules (events.tf).
        Sid      = "ManageProjectQueues"
        Effect   = "Allow"
        Action   = "sqs:*"
        Resource = "arn:${local.partition}:sqs:${var.region}:${local.account_id}:${local.name}-*"
      },
      {
        Sid      = "ManageProjectFunctions"
        Effect   = "Allow"
        Action   = "lambda:*"
        Resource = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.name}-*"
      },
      {
        Sid    = "ManageProjectEvents"
        Effect = "Allow"
        Action = "events:*"
        Resource = [for kind in ["rule", "connection", "api-destination"] :
        "arn:${local.partition}:events:${var.region}:${local.account_id}:${kind}/${local.name}-*"]
      },
      {
        Sid    = "ManageProjectSageMaker"
        Effect = "Allow"
        Action = "sagemaker:*"
        Resource = [
          "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
          "${local.sagemaker_arn_prefix}:endpoint-config/${local.endpoint_name}-*",
          "${local.sagemaker_arn_prefix}:model/${local.endpoint_name}-*",
          "${local.sagemaker_arn_prefix}:model-package-group/${local.model_package_group}",
          "${local.sagemaker_arn_prefix}:model-package/${local.model_package_group}/*",
        ]
      },
      {
        Sid    = "ManageProjectMonitoring"
        Effect = "Allow"
        Action = ["cloudwatch:*", "sns:*"]
        Resource = [
          "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${local.name}-*",
          "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.name}",
          aws_sns_topic.alarms.arn,
        ]
      },
      {
        # The environment's log groups by name pattern: the Lambdas' (redeploy, drift check, API
        # proxy), the endpoint's, EventBridge's, the optional API access log and ECS service.
        Sid    = "ManageProjectLogGroups"
        Effect = "Allow"
        Action = "logs:*"
        Resource = flatten([for group in [
          "/aws/lambda/${local.name}-*", aws_cloudwatch_log_group.endpoint.name, "/aws/events/${local.name}-*",
          "/aws/apigateway/${local.name}-*", "/ecs/${local.name}-*",
          ] : [
          "${local.logs_arn_prefix}:${group}", "${local.logs_arn_prefix}:${group}:*",
        ]])
      },
      {
        Sid      = "ManageTheProjectKeyAndLockTable"
        Effect   = "Allow"
        Action   = ["kms:*", "dynamodb:*"]
        Resource = [aws_kms_key.project.arn, aws_dynamodb_table.deploy_lock.arn]
      },
      {
        Sid      = "ManageTheKeyAlias"
        Effect   = "Allow"
        Action   = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"]
        Resource = "arn:${local.partition}:kms:${var.region}:${local.account_id}:alias/${local.name}"
      },
      {
        Sid      = "ManageTheDispatchConnectionSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource"]
        Resource = "arn:${local.partition}:secretsmanager:${var.region}:${local.account_id}:secret:events!connection/${local.name}-*"
      },
      local.kms_use,
      local.ecr_login,
      {
        Sid    = "CallsWithoutResourceScope"
        Effect = "Allow"
        Action = [
          "kms:CreateKey", "kms:ListAliases", "logs:DescribeLogGroups", "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies", "logs:DeleteResourcePolicy", "sagemaker:ListTags",
          "iam:ListOpenIDConnectProviders", "cloudwatch:ListDashboards", "cloudwatch:DescribeAlarms",
        ]
        Resource = "*"
      },
    ], local.release_api_statements, local.release_ecs_statements)
  }

  # The promote step: the released model in, the redeploy Lambda, the endpoint's state, the smoke
  # request, the champion record out. Nothing else.
  github_promote_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # Invoked asynchronously; its configuration names the lock table where it writes the result.
        Sid      = "InvokeTheRedeployLambda"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionEventInvokeConfig"]
        Resource = local.redeploy_function_arn
      },
      {
        Sid      = "ReadTheDeployResult"
        Effect   = "Allow"
        Action   = "dynamodb:GetItem"
        Resource = aws_dynamodb_table.deploy_lock.arn
      },
      {
        # 404, not 403, for a commit that was never published (GetObject API reference).
        Sid      = "TellUnpublishedCommitsApart"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = distinct([local.artifacts_arn, local.models_arn])
      },
      {
        Sid      = "ReadReleasedModelsAndTheChampion"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = distinct(["${local.models_arn}/${var.artifact_prefix}*", "${local.artifacts_arn}/production/*"])
      },
      {
        Sid      = "RecordTheChampionAndTheDeployment"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "${local.artifacts_arn}/production/*"
      },
      local.kms_use,
      local.models_kms_read,
      {
        # The bake window after production switched (textclf bake). DescribeAlarms is read-only and
        # is authorized on "*" (its alarm names are a filter, not a resource).
        Sid      = "WatchTheAlarmsDuringTheBake"
        Effect   = "Allow"
        Action   = "cloudwatch:DescribeAlarms"
        Resource = "*"
      },
      {
        Sid    = "WatchAndSmokeTestTheEndpoint"
        Effect = "Allow"
        Action = ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel", "sagemaker:InvokeEndpoint"]
        Resource = [
          "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
          "${local.sagemaker_arn_prefix}:endpoint-config/${local.endpoint_name}-*",
          "${local.sagemaker_arn_prefix}:model/${local.endpoint_name}-*",
        ]
      },
    ]
  }

  # state.yml: which model the endpoint serves (textclf.release.desired compare reads the endpoint,
  # its config and its model), nothing else. Each Describe call is authorized on its own resource
  # type, endpoint, endpoint-config and model (Service Authorization Reference, "Actions, resources,
  # and condition keys for Amazon SageMaker AI").
  github_state_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid    = "ReadWhatTheEndpointServes"
      Effect = "Allow"
      Action = ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"]
      Resource = [
        "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
        "${local.sagemaker_arn_prefix}:endpoint-config/${local.endpoint_name}-*",
        "${local.sagemaker_arn_prefix}:model/${local.endpoint_name}-*",
      ]
    }]
  }

  # The retrain workflow: new raw data in, new DVC objects out (content-addressed, so adding never
  # replaces what main's data.dvc points at; DVC's remote is set to verify what it pulls).
  github_retrain_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListIncomingAndTheDvcRemote"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.data_arn
        Condition = {
          StringLikeIfExists = { "s3:prefix" = ["incoming/*", "incoming", "dvc/*", "dvc"] }
        }
      },
      {
        Sid      = "ReadIncomingAndDvcObjects"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = ["${local.data_arn}/incoming/*", "${local.data_arn}/dvc/*"]
      },
      {
        Sid      = "AddDvcObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.data_arn}/dvc/*"
      },
      local.kms_use,
    ]
  }

  # The training-run function's jobs: the limits params.yaml and the variables allow (condition
  # keys of CreateTrainingJob, SageMaker service authorization reference).
  training_job_limits = {
    # ForAllValues is true for a request that names no instance type ("Single-valued vs.
    # multivalued context keys", IAM User Guide): the Null condition requires one.
    "ForAllValues:StringEquals" = { "sagemaker:InstanceTypes" = var.training_instance_types }
    Null                        = { "sagemaker:InstanceTypes" = "false" }
    NumericLessThanEquals       = { "sagemaker:MaxRuntimeInSeconds" = tostring(var.training_max_runtime_seconds) }
    Bool                        = { "sagemaker:NetworkIsolation" = "true" }
  }
  # Families whose instances have local NVMe storage, as textclf.training.stop_job classifies them
  # (LOCAL_STORAGE_FAMILIES; tests/iam/test_volume_key_account.py holds the two lists equal).
  local_storage_families = [
    "c5d", "c6id", "g4dn", "g5", "g6", "g6e", "g7", "g7e", "m5d", "m6id", "p3dn", "p4d", "p4de", "p5",
    "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "r5d", "r6id", "trn1", "trn1n", "trn2",
  ]
  local_storage_training_types = [for t in var.training_instance_types : t if contains(local.local_storage_families, split(".", t)[1])]

  stop_training_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "StopTheProjectsTrainingJobs"
        Effect   = "Allow"
        Action   = ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
        Resource = "${local.sagemaker_arn_prefix}:training-job/${local.training_job_prefix}*"
      },
      {
        # A run's job, named after its verified head commit: only the training jobs a PR needs,
        # the project's name prefix, the instance types and the runtime params.yaml allows, network
        # isolation on, the storage volume and the output encrypted with the project's key
        # (condition keys of CreateTrainingJob in the SageMaker service authorization reference).
        # AddTags: a dependent action of CreateTrainingJob with Tags.
        Sid      = "StartRunsJobsWithinLimits"
        Effect   = "Allow"
        Action   = ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"]
        Resource = "${local.sagemaker_arn_prefix}:training-job/${local.training_job_prefix}*"
        Condition = merge(local.training_job_limits, {
          # The volume key required: the EBS-only instance types (the function always names the
          # project's key for them, textclf.training.stop_job).
          ArnEquals = { "sagemaker:VolumeKmsKey" = aws_kms_key.project.arn, "sagemaker:OutputKmsKey" = aws_kms_key.project.arn }
        })
      },
      ],
      # The instance types with local storage take no volume key (SageMaker refuses one: "You can't
      # request a VolumeKmsKeyId when using an instance type with local storage", API_ResourceConfig),
      # so their jobs are allowed only naming none. A statement only when such a type is allowed.
      [for types in(length(local.local_storage_training_types) > 0 ? [local.local_storage_training_types] : []) : {
        Sid      = "StartRunsJobsOnLocalStorage"
        Effect   = "Allow"
        Action   = ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"]
        Resource = "${local.sagemaker_arn_prefix}:training-job/${local.training_job_prefix}*"
        Condition = merge(local.training_job_limits, {
          "ForAllValues:StringEquals" = { "sagemaker:InstanceTypes" = types }
          Null                        = { "sagemaker:InstanceTypes" = "false", "sagemaker:VolumeKmsKey" = "true" }
          ArnEquals                   = { "sagemaker:OutputKmsKey" = aws_kms_key.project.arn }
        })
      }],
      [local.pass_sagemaker_role,
        {
          # 404, not 403, for a model not published yet (GetObject API reference).
          Sid      = "TellUnpublishedCommitsApart"
          Effect   = "Allow"
          Action   = "s3:ListBucket"
          Resource = local.artifacts_arn
        },
        {
          # The job's model.tar.gz and the run's files in; models/<commit>/ out, write-once.
          Sid      = "ReadJobOutputAndCandidates"
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = [for prefix in [var.training_output_prefix, "candidates/", var.artifact_prefix] : "${local.artifacts_arn}/${prefix}*"]
        },
        {
          # A model archive of more than one 16 MiB part goes up in parts (textclf.training.stop_job):
          # AbortMultipartUpload clears an upload whose copy failed or whose digest was wrong.
          Sid      = "PublishReleasedModelsWriteOnce"
          Effect   = "Allow"
          Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
          Resource = "${local.artifacts_arn}/${var.artifact_prefix}*"
        },
        local.kms_use_via_s3,
        {
          Sid      = "WriteItsLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.stop_training.arn}:*"
        },
        local.xray_tracing,
    ])
  }

  events_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid      = "CallTheDispatchDestination"
      Effect   = "Allow"
      Action   = "events:InvokeApiDestination"
      Resource = aws_cloudwatch_event_api_destination.github_dispatch.arn
    }]
  }

  role_policies = {
    sagemaker = { role = aws_iam_role.sagemaker.id, document = local.sagemaker_policy }
    serving   = { role = aws_iam_role.serving.id, document = local.serving_policy }
    promote   = { role = aws_iam_role.github_promote.id, document = local.github_promote_policy }
    state     = { role = aws_iam_role.github_state.id, document = local.github_state_policy }
    retrain   = { role = aws_iam_role.github_retrain.id, document = local.github_retrain_policy }
    redeploy  = { role = aws_iam_role.redeploy.id, document = local.redeploy_policy }
    pr        = { role = aws_iam_role.github_pr.id, document = local.github_pr_policy }
    release   = { role = aws_iam_role.github_release.id, document = local.github_release_policy }
    events    = { role = aws_iam_role.events.id, document = local.events_policy }
    stop      = { role = aws_iam_role.stop_training.id, document = local.stop_training_policy }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.role_policies

  name   = "${local.name}-${each.key}"
  role   = each.value.role
  policy = jsonencode(each.value.document)
}

# --- the release role's rights for the optional modules ----------------------------------------
#
# Only when the module is on (api.tf: enable_api, ecs.tf: enable_ecs), appended to
# github_release_policy. Each statement names the project's resources where the service authorizes
# on a resource (Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/
# latest/reference/: list_amazonapigatewaymanagementv2, list_amazonelasticcontainerservice,
# list_awselasticloadbalancingv2, list_awsapplicationautoscaling, list_amazonec2); "*" only for the
# calls whose action has no resource type there.

locals {
  apigateway_arn_prefix = "arn:${local.partition}:apigateway:${var.region}:" # API Gateway ARNs carry no account
  release_ecs_vpc_arn   = "arn:${local.partition}:ec2:${var.region}:${local.account_id}:vpc/${coalesce(var.ecs_vpc_id, "unset")}"
  release_ecs_sg_arns   = "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*"
  release_ecs_rule_arns = "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group-rule/*"
  release_ecs_targets   = "arn:${local.partition}:application-autoscaling:${var.region}:${local.account_id}:scalable-target/*"
  # Shared with the boundary (boundary.tf), which admits these EC2 actions and no other.
  ecs_security_group_changes = [
    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags",
  ]
  ecs_security_group_reads = [
    "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses",
    "ec2:DescribeInternetGateways",
  ]
  # The service-linked roles ECS, Elastic Load Balancing and Application Auto Scaling create on an
  # account's first use, which needs iam:CreateServiceLinkedRole from the caller (ELB "Elastic Load
  # Balancing API permissions", ECS "IAM permissions required for Amazon ECS service auto scaling").
  ecs_service_linked_roles = {
    "ecs.amazonaws.com"                         = "AWSServiceRoleForECS"
    "elasticloadbalancing.amazonaws.com"        = "AWSServiceRoleForElasticLoadBalancing"
    "ecs.application-autoscaling.amazonaws.com" = "AWSServiceRoleForApplicationAutoScaling_ECSService"
  }
  ecs_service_linked_role_statement = {
    Effect   = "Allow"
    Action   = "iam:CreateServiceLinkedRole"
    Resource = [for service, role in local.ecs_service_linked_roles : "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/${service}/${role}"]
    Condition = {
      StringEquals = { "iam:AWSServiceName" = keys(local.ecs_service_linked_roles) }
    }
  }

  # A for expression with a filter, not `cond ? [...] : []`: the statements differ in shape (some
  # have a Condition), which a conditional's two results may not.
  release_api_statements = [for statement in [
    {
      # The management API is authorized by HTTP verb on the resource's path: /apis to create,
      # /apis/<id>/... for the API, its integration, route and stage (Service Authorization
      # Reference, "Amazon API Gateway Management V2"). The id is made at creation, so /apis/* is
      # the narrowest pattern: the region's HTTP and WebSocket APIs, not REST APIs (/restapis),
      # custom domains or the account settings.
      Sid      = "ManageTheFrontDoorApi"
      Effect   = "Allow"
      Action   = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
      Resource = ["${local.apigateway_arn_prefix}:/apis", "${local.apigateway_arn_prefix}:/apis/*"]
    },
    {
      # Tag changes go to /tags/<URL-encoded ARN of the API> (the Tags resource type).
      Sid      = "TagTheFrontDoorApi"
      Effect   = "Allow"
      Action   = ["apigateway:GET", "apigateway:POST", "apigateway:DELETE"]
      Resource = "${local.apigateway_arn_prefix}:/tags/${urlencode("${local.apigateway_arn_prefix}:/apis/")}*"
    },
    {
      # HTTP API access logging is a vended log delivery: the caller needs these, which have no
      # resource type ("Configuring logging for an HTTP API",
      # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html; the log
      # group itself is ManageProjectLogGroups', the resource policy calls CallsWithoutResourceScope's).
      Sid      = "DeliverTheApiAccessLog"
      Effect   = "Allow"
      Action   = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries"]
      Resource = "*"
    },
  ] : statement if local.api_enabled]

  release_ecs_statements = [for statement in [
    {
      Sid    = "ManageTheContainerService"
      Effect = "Allow"
      Action = [
        "ecs:CreateCluster", "ecs:DescribeClusters", "ecs:UpdateCluster", "ecs:UpdateClusterSettings",
        "ecs:PutClusterCapacityProviders", "ecs:DeleteCluster",
        "ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService",
        "ecs:RegisterTaskDefinition", "ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource",
      ]
      Resource = [
        "arn:${local.partition}:ecs:${var.region}:${local.account_id}:cluster/${local.name}-*",
        "arn:${local.partition}:ecs:${var.region}:${local.account_id}:service/${local.name}-*/${local.name}-*",
        "arn:${local.partition}:ecs:${var.region}:${local.account_id}:task-definition/${local.name}-*:*",
      ]
    },
    {
      # DescribeTaskDefinition and DeregisterTaskDefinition have no resource type.
      Sid      = "EcsTaskDefinitionCallsWithoutResourceScope"
      Effect   = "Allow"
      Action   = ["ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition"]
      Resource = "*"
    },
    {
      # RegisterTaskDefinition passes the task role and the execution role to ECS tasks ("Amazon
      # ECS task IAM role", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
      Sid    = "PassTheServiceRolesToEcsTasks"
      Effect = "Allow"
      Action = "iam:PassRole"
      Resource = [
        "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-ecs-task",
        "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-ecs-execution",
      ]
      Condition = {
        StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" }
      }
    },
    {
      Sid    = "ManageTheLoadBalancer"
      Effect = "Allow"
      Action = [
        "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets", "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
      ]
      Resource = [
        "arn:${local.partition}:elasticloadbalancing:${var.region}:${local.account_id}:loadbalancer/app/${local.name}-*/*",
        "arn:${local.partition}:elasticloadbalancing:${var.region}:${local.account_id}:targetgroup/${local.name}-*/*",
        "arn:${local.partition}:elasticloadbalancing:${var.region}:${local.account_id}:listener/app/${local.name}-*/*/*",
      ]
    },
    {
      # Target tracking: scalable targets are named by an opaque id, so the scope is ECS services'
      # desired count (the service's condition keys); the policy's CloudWatch alarms are named
      # TargetTracking-service/<cluster>/<service>-... ("IAM permissions required for Amazon ECS
      # service auto scaling", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/auto-scaling-IAM.html).
      Sid      = "ScaleTheServicesDesiredCount"
      Effect   = "Allow"
      Action   = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"]
      Resource = local.release_ecs_targets
      Condition = {
        StringEquals = {
          "application-autoscaling:service-namespace"  = "ecs"
          "application-autoscaling:scalable-dimension" = "ecs:service:DesiredCount"
        }
      }
    },
    {
      # Tagging has no service-namespace key, only the scalable target.
      Sid      = "TagTheScalableTarget"
      Effect   = "Allow"
      Action   = ["application-autoscaling:TagResource", "application-autoscaling:UntagResource", "application-autoscaling:ListTagsForResource"]
      Resource = local.release_ecs_targets
    },
    {
      Sid      = "TheTargetTrackingAlarms"
      Effect   = "Allow"
      Action   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"]
      Resource = "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:TargetTracking-service/${local.name}-*"
    },
    {
      # Security groups have generated ids: the group is created in the configured VPC, and later
      # calls are allowed on groups of that VPC only (ec2:Vpc; Amazon VPC User Guide, "Amazon VPC
      # policy examples", manage security groups).
      Sid      = "CreateTheServiceSecurityGroupsInItsVpc"
      Effect   = "Allow"
      Action   = "ec2:CreateSecurityGroup"
      Resource = [local.release_ecs_vpc_arn, local.release_ecs_sg_arns]
    },
    {
      Sid      = "ManageSecurityGroupsOfThatVpc"
      Effect   = "Allow"
      Action   = local.ecs_security_group_changes
      Resource = local.release_ecs_sg_arns
      Condition = {
        ArnEquals = { "ec2:Vpc" = local.release_ecs_vpc_arn }
      }
    },
    {
      # A rule is authorized on its group (above) and on the rule itself, which has no VPC key; its
      # tags are written when the rule or the group is created (ec2:CreateAction; Amazon EC2 User
      # Guide, "Grant permission to tag Amazon EC2 resources during creation").
      Sid      = "TheirRules"
      Effect   = "Allow"
      Action   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"]
      Resource = local.release_ecs_rule_arns
    },
    {
      Sid      = "TagGroupsAndRulesWhenCreated"
      Effect   = "Allow"
      Action   = "ec2:CreateTags"
      Resource = [local.release_ecs_sg_arns, local.release_ecs_rule_arns]
      Condition = {
        StringEquals = { "ec2:CreateAction" = ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"] }
      }
    },
    merge(local.ecs_service_linked_role_statement, { Sid = "TheContainerServicesLinkedRoles" }),
    {
      # Reads without a resource type: what Terraform refreshes, and the EC2 reads CreateLoadBalancer
      # and CreateTargetGroup require of the caller (ELB "Elastic Load Balancing API permissions",
      # https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-permissions.html).
      Sid    = "ContainerServiceReadsWithoutResourceScope"
      Effect = "Allow"
      Action = concat([
        "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeCapacityReservation",
        "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScalingActivities",
      ], local.ecs_security_group_reads)
      Resource = "*"
    },
  ] : statement if local.ecs_enabled]
}
