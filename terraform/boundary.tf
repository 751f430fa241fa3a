# The permissions boundary every project role carries (IAM User Guide, "Permissions boundaries for
# IAM entities"). A role's effective permissions are its policy AND this boundary, so even a role the
# release (Terraform apply) role creates or edits cannot reach beyond this environment's own
# resources, create users or keys, or touch IAM outside the project's own roles; no project role can
# remove or rewrite this boundary, attach a policy that is not the project's, or change the
# release, promote or PR roles (those are the administrator's).
#
# "This environment's own resources" are named: ARNs that carry the environment's name
# (<project>-<environment>-..., .../<project>-<environment>, .../<project>-<environment>/...), its
# buckets (data, artifacts, its own key of the Terraform state bucket; the models it deploys and their
# key: read only), its KMS key, the training jobs (<project>-..., shared by the project's environments: a PR trains once
# for all), and the transform jobs and SageMaker's job log groups. Calls whose action has no
# resource type (Service Authorization Reference) are listed one by one on "*". So staging's roles
# cannot reach production's state, functions, endpoint or buckets whatever their own policy says.
# Environment names must not extend one another with a dash (prod and prod-eu): the name patterns
# below would overlap.

locals {
  project_role_arns = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
  arn_in_region     = "arn:${local.partition}:*:${var.region}:${local.account_id}"
  state_bucket_arn  = "arn:${local.partition}:s3:::${local.state_bucket}"
  boundary_resources = concat(
    # Resources named after the environment, in any of the services above.
    # (a log group's ARN ends in ":*", its streams in ":log-stream:NAME")
    ["${local.arn_in_region}:*${local.name}-*", "${local.arn_in_region}:*/${local.name}", "${local.arn_in_region}:*/${local.name}/*", "${local.arn_in_region}:*/${local.name}:*"],
    ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.name}"], # dashboards are global
    # Its own buckets; of the shared state bucket, its own state key (and the S3-native lock file).
    flatten([for bucket in values(local.bucket_names) : ["arn:${local.partition}:s3:::${bucket}", "arn:${local.partition}:s3:::${bucket}/*"]]),
    [local.state_bucket_arn, "${local.state_bucket_arn}/${var.state_key}", "${local.state_bucket_arn}/${var.state_key}.tflock"],
    [aws_kms_key.project.arn],
    [
      "${local.sagemaker_arn_prefix}:training-job/${local.training_job_prefix}*",
      "${local.sagemaker_arn_prefix}:transform-job/${var.batch_job_name_prefix}-batch-*",
    ],
    flatten([for group in ["TrainingJobs", "TransformJobs"] : [
      "${local.logs_arn_prefix}:/aws/sagemaker/${group}", "${local.logs_arn_prefix}:/aws/sagemaker/${group}:*",
    ]]),
  )
  # Actions with no resource type (Service Authorization Reference): authorized on "*" only.
  boundary_unscoped_actions = [
    "sts:GetCallerIdentity", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken",
    "s3:ListAllMyBuckets", "kms:CreateKey", "kms:ListAliases", "kms:ListKeys",
    "cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:ListDashboards",
    "cloudwatch:DescribeAlarms", "logs:DescribeLogGroups", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    "logs:DeleteResourcePolicy", "sagemaker:ListEndpointConfigs", "sagemaker:ListModels",
    "sagemaker:ListEndpoints", "sagemaker:ListTrainingJobs", "sagemaker:ListModelPackages", "sagemaker:ListTags",
    "lambda:ListFunctions", "lambda:ListEventSourceMappings", "sns:ListTopics", "events:ListRules",
    "events:ListConnections", "events:ListApiDestinations", "dynamodb:ListTables",
  ]
  # What changes a role's permissions or who may assume it.
  role_changes = [
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
  ]

  # The optional modules' services, only with their module (api.tf, ecs.tf): with both off the
  # boundary is the default configuration's, statement for statement.
  # The HTTP API's access log is a vended log delivery, whose calls have no resource type.
  boundary_api_services = local.api_enabled ? [
    "apigateway:*", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
  ] : []
  boundary_ecs_services = local.ecs_enabled ? ["ecs:*", "elasticloadbalancing:*", "application-autoscaling:*"] : []

  boundary_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid    = "TheServicesTheProjectUsesOnThisEnvironmentsResources"
        Effect = "Allow"
        Action = [
          "s3:*", "sagemaker:*", "logs:*", "kms:*", "ecr:*", "lambda:*", "dynamodb:*", "sns:*", "sqs:*",
          "events:*", "cloudwatch:*", "secretsmanager:*",
        ]
        Resource = local.boundary_resources
      },
      {
        # The models it deploys may be another environment's (model_source_environment): read them
        # and decrypt, nothing more, so no role here can write that bucket or manage that key.
        Sid    = "ReadTheModelsItDeploys"
        Effect = "Allow"
        Action = ["s3:GetObject", "s3:ListBucket", "kms:Decrypt", "kms:DescribeKey"]
        Resource = distinct([
          local.models_arn, "${local.models_arn}/${var.artifact_prefix}*", local.models_kms_key_arn,
        ])
      },
      {
        Sid      = "CallsWithoutAResourceType"
        Effect   = "Allow"
        Action   = local.boundary_unscoped_actions
        Resource = "*"
      },
      {
        Sid      = "IamOnTheProjectsOwnRolesAndProvider"
        Effect   = "Allow"
        Action   = ["iam:*"]
        Resource = [local.project_role_arns, "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.github_oidc_host}", "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-*"]
      },
      {
        Sid      = "IamListings"
        Effect   = "Allow"
        Action   = ["iam:ListOpenIDConnectProviders", "iam:ListRoles", "iam:ListPolicies"]
        Resource = "*"
      },
      {
        Sid      = "NoRoleWithoutThisBoundary"
        Effect   = "Deny"
        Action   = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"]
        Resource = local.project_role_arns
        Condition = {
          StringNotEquals = { "iam:PermissionsBoundary" = "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-boundary" }
        }
      },
      {
        # The release, promote and PR roles of every environment are the administrator's: no
        # project role (a release role included) changes their policies, trust or boundary, or
        # deletes or recreates them. The first apply (docs/infra.md) creates them as the administrator.
        Sid      = "TheGithubRolesAreTheAdministrators"
        Effect   = "Deny"
        Action   = local.role_changes
        Resource = [for role in ["release", "promote", "pr"] : "arn:${local.partition}:iam::${local.account_id}:role/${var.project}-*-github-${role}"]
      },
      {
        # Managed policies: the project's own only, and never the boundary as a grant (iam:PolicyARN,
        # Service Authorization Reference for IAM); AdministratorAccess on a project role is refused.
        Sid      = "OnlyTheProjectsOwnManagedPolicies"
        Effect   = "Deny"
        Action   = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
        Resource = "*"
        Condition = {
          ArnNotLike = { "iam:PolicyARN" = "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-*" }
        }
      },
      {
        Sid      = "NeverTheBoundaryAsAGrant"
        Effect   = "Deny"
        Action   = ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"]
        Resource = "*"
        Condition = {
          ArnEquals = { "iam:PolicyARN" = "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-boundary" }
        }
      },
      {
        Sid      = "TheBoundaryStays"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"]
        Resource = [local.project_role_arns, "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-boundary"]
      },
      ], [for statement in [
        {
          # API Gateway's, ECS's, the load balancer's and Application Auto Scaling's ARNs carry ids,
          # not names: their services are admitted on "*", only with their module (the release
          # role's own policy names what it may touch).
          Sid      = "TheOptionalModulesServices"
          Effect   = "Allow"
          Action   = concat(local.boundary_api_services, local.boundary_ecs_services)
          Resource = "*"
        },
        ] : statement if local.api_enabled || local.ecs_enabled], [for statement in [
        {
          # Of EC2, the container service's security groups only (and the reads around them); the
          # release role's own policy (iam.tf) limits them to the service's VPC.
          Sid      = "SecurityGroupsOfTheContainerService"
          Effect   = "Allow"
          Action   = concat(["ec2:CreateSecurityGroup"], local.ecs_security_group_changes, local.ecs_security_group_reads)
          Resource = "*"
        },
        # Outside the project's own roles, IAM only for the three service-linked roles (iam.tf).
        merge(local.ecs_service_linked_role_statement, { Sid = "TheContainerServicesLinkedRoles" }),
    ] : statement if local.ecs_enabled])
  }
}

# A boundary only limits: it grants nothing by itself, so the checks below, written for policies that
# grant, do not apply. Each role's own policy (iam.tf) is what grants, and is checked.
# The release workflow applies as this environment's release role, which may change neither its own
# policy nor this boundary (iam.tf, NeverLoosenItsOwnLimits). Turning enable_api or enable_ecs on or
# off changes both, so such an apply would fail half way at IAM: the plan stops first, saying so.
locals {
  applied_by_release_role = strcontains(data.aws_caller_identity.current.arn, ":assumed-role/${local.name}-github-release/")
  # Terraform evaluates both sides of ||: the policy is read only when the release role applies.
  applied_boundary_policy = try(data.aws_iam_policy.applied_boundary[0].policy, "")
}

data "aws_iam_policy" "applied_boundary" {
  count = local.applied_by_release_role ? 1 : 0

  arn = "arn:${local.partition}:iam::${local.account_id}:policy/${local.name}-boundary"
}

resource "aws_iam_policy" "boundary" {
  #checkov:skip=CKV_AWS_286:A permissions boundary grants nothing; it caps the roles' own (checked) policies
  #checkov:skip=CKV_AWS_288:A permissions boundary grants nothing; it caps the roles' own (checked) policies
  #checkov:skip=CKV_AWS_289:A permissions boundary grants nothing; it caps the roles' own (checked) policies
  #checkov:skip=CKV_AWS_290:A permissions boundary grants nothing; it caps the roles' own (checked) policies
  #checkov:skip=CKV_AWS_355:A permissions boundary grants nothing; it caps the roles' own (checked) policies
  #checkov:skip=CKV2_AWS_40:iam:* only on the project's roles, provider and policies; the boundary grants nothing by itself
  name        = "${local.name}-boundary"
  description = "Permissions boundary of every ${local.name} role"
  policy      = jsonencode(local.boundary_policy)

  lifecycle {
    precondition {
      condition = !local.applied_by_release_role || (
        strcontains(local.applied_boundary_policy, "apigateway:*") == local.api_enabled &&
        strcontains(local.applied_boundary_policy, "ecs:*") == local.ecs_enabled
      )
      error_message = "Turning enable_api or enable_ecs on or off changes the release role's own policy and the permissions boundary, which the release role may not change: apply this change as an administrator (make infra-apply with administrator credentials, docs/infra.md); the release workflow's applies then go on as before."
    }
  }
}
