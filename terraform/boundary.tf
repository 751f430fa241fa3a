# The permissions boundary every project role carries (IAM User Guide, "Permissions boundaries for
# IAM entities"). A role's effective permissions are its policy AND this boundary, so even a role the
# release (Terraform apply) role creates or edits cannot reach beyond the services the project uses,
# create users or keys, or touch IAM outside the project's own roles; and no project role can
# remove or rewrite this boundary.

locals {
  project_role_arns = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"
  # What changes a role's permissions or who may assume it.
  role_changes = [
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
  ]

  # The optional modules' services, only with their module (api.tf, ecs.tf): with both off the
  # boundary is the default configuration's, statement for statement.
  boundary_api_services = local.api_enabled ? ["apigateway:*"] : []
  boundary_ecs_services = local.ecs_enabled ? ["ecs:*", "elasticloadbalancing:*", "application-autoscaling:*"] : []

  boundary_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid    = "TheServicesTheProjectUses"
        Effect = "Allow"
        Action = concat([
          "s3:*", "sagemaker:*", "logs:*", "kms:*", "ecr:*", "lambda:*", "dynamodb:*", "sns:*", "sqs:*",
          "events:*", "cloudwatch:*", "xray:*", "secretsmanager:*", "sts:GetCallerIdentity",
        ], local.boundary_api_services, local.boundary_ecs_services)
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
}
