# The release role (iam.tf, github_release_policy: what the release job's `terraform apply` runs
# as) and the permissions boundary (boundary.tf) for the optional modules: with enable_api and
# enable_ecs off, both documents are exactly the default configuration's; with a module on, its
# statements are there, on the project's resources, and "*" only for the calls AWS cannot scope.
# tests/iam/test_apply_as_release.py applies the front door as the release role against the local cloud.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  github_repository  = "acme/text-classifier"
  api_proxy_zip_path = "tests/mocks.tfmock.hcl"
  # The container service's required settings (ecs.tf), used when enable_ecs is on.
  ecs_vpc_id          = "vpc-0123456789abcdef0"
  ecs_task_subnet_ids = ["subnet-0000000000000000a"]
  ecs_alb_subnet_ids  = ["subnet-0000000000000000c", "subnet-0000000000000000d"]
  ecs_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  ecs_model_data_url  = "s3://textclf-prod-artifacts-123456789012/models/0123abcd/model.tar.gz"
  ecs_model_sha256    = "0000000000000000000000000000000000000000000000000000000000000001"
}

run "modules_off_the_release_policy_and_boundary_are_the_defaults" {
  command = plan

  # The rendered documents of the default configuration (these mocks), byte for byte. A deliberate
  # change to the default release policy or boundary updates these digests; the failing assertion
  # prints the document.
  assert {
    condition     = sha256(aws_iam_role_policy.this["release"].policy) == "02db02e8225c04c41d8afd46d7ca256df86d5a5e007a58709b8ec12bfd31c0c3"
    error_message = "with enable_api and enable_ecs off, the release role's policy is the default configuration's, unchanged"
  }

  assert {
    condition     = sha256(aws_iam_policy.boundary.policy) == "4f8a28ee82acce93014565ddfaea4d4270715086360fa1bebf3a7d2d2497908c"
    error_message = "with enable_api and enable_ecs off, the permissions boundary is the default configuration's, unchanged"
  }

  assert {
    # The boundary allows on "*" only the calls without a resource type (and the IAM listings).
    condition = alltrue([for s in jsondecode(aws_iam_policy.boundary.policy).Statement :
    s.Effect == "Deny" || s.Resource != "*" || contains(["CallsWithoutAResourceType", "IamListings"], s.Sid)])
    error_message = "the boundary admits services on this environment's resources only, not on \"*\""
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Sid] == [
      "ListTheStateBucket", "ThisEnvironmentsTerraformState", "ReadTheSourceEnvironmentsKeyAlias", "ManageProjectBuckets",
      "ManageProjectImages", "ManageProjectRolesWithinTheBoundary", "AttachOnlyTheProjectsOwnPolicies", "TagProjectRoles",
      "ReadProjectRoles", "PassProjectRolesToTheirServices",
      "ManageTheGithubProvider", "ReadTheBoundary", "NeverLoosenItsOwnLimits", "ManageProjectQueues", "ManageProjectFunctions",
      "ManageProjectEvents", "ManageProjectSageMaker", "ManageProjectMonitoring", "ManageProjectLogGroups",
      "ManageTheProjectKeyAndLockTable", "ManageTheKeyAlias", "ManageTheDispatchConnectionSecret", "UseTheProjectKey",
      "EcrLoginHasNoResourceScope", "CallsWithoutResourceScope",
    ]
    error_message = "with the modules off the release policy has the default statements only"
  }

  assert {
    condition = length([for a in flatten(concat(
      [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Action],
      [for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action],
    )) : a if can(regex("^(apigateway|ecs|elasticloadbalancing|application-autoscaling|ec2):", a)) || strcontains(a, "LogDelivery") || a == "iam:CreateServiceLinkedRole"]) == 0
    error_message = "no API Gateway, ECS, load balancer, auto scaling or EC2 action (nor log delivery, nor service-linked roles) without the modules"
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.this["release"].policy, "ecs-tasks.amazonaws.com")
    error_message = "no role is passed to ECS tasks without the container service"
  }
}

run "the_api_front_door_adds_its_statements" {
  command = plan

  variables {
    enable_api = true
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "ManageTheFrontDoorApi"] == [
      ["arn:aws:apigateway:us-east-1::/apis", "arn:aws:apigateway:us-east-1::/apis/*"]
    ]
    error_message = "the release role manages HTTP APIs (/apis), not REST APIs, domains or the account's API Gateway settings"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "TagTheFrontDoorApi"] == [
      "arn:aws:apigateway:us-east-1::/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2F*"
    ]
    error_message = "tags of HTTP APIs only (the Tags resource names the URL-encoded ARN)"
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement :
    alltrue([for a in flatten([s.Action]) : can(regex("^logs:(Create|Get|Update|Delete)LogDelivery$|^logs:ListLogDeliveries$", a))]) if s.Sid == "DeliverTheApiAccessLog"])
    error_message = "the access log's vended delivery calls, nothing else of CloudWatch Logs on *"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Sid if s.Resource == "*"] == [
      "EcrLoginHasNoResourceScope", "CallsWithoutResourceScope", "DeliverTheApiAccessLog",
    ]
    error_message = "with the front door, only the log delivery calls are added on *"
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s if can(regex("Ecs|Container|LoadBalancer|Scal|SecurityGroup|TargetTracking", s.Sid))]) == 0
    error_message = "the front door alone adds nothing of the container service"
  }

  assert {
    condition     = contains(one([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action if s.Sid == "TheOptionalModulesServices"]), "apigateway:*") && !contains(one([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action if s.Sid == "TheOptionalModulesServices"]), "ecs:*")
    error_message = "the boundary admits API Gateway with the front door, not ECS"
  }

  assert {
    condition     = length(jsondecode(aws_iam_policy.boundary.policy).Statement) == 11
    error_message = "the front door adds one statement to the boundary: its service on \"*\" (API ids are not names)"
  }
}

run "the_container_service_adds_its_statements" {
  command = plan

  variables {
    enable_ecs = true
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "ManageTheContainerService"] == [[
      "arn:aws:ecs:us-east-1:123456789012:cluster/textclf-prod-*",
      "arn:aws:ecs:us-east-1:123456789012:service/textclf-prod-*/textclf-prod-*",
      "arn:aws:ecs:us-east-1:123456789012:task-definition/textclf-prod-*:*",
    ]]
    error_message = "ECS calls on the project's cluster, service and task definitions"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : [s.Resource, s.Condition] if s.Sid == "PassTheServiceRolesToEcsTasks"] == [[
      ["arn:aws:iam::123456789012:role/textclf-prod-ecs-task", "arn:aws:iam::123456789012:role/textclf-prod-ecs-execution"],
      { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } },
    ]]
    error_message = "the release role passes the task and execution roles, to ECS tasks only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "ManageTheLoadBalancer"] == [[
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/textclf-prod-*/*",
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/textclf-prod-*/*",
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/textclf-prod-*/*/*",
    ]]
    error_message = "load balancer calls on the project's load balancer, target group and listeners"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Condition if s.Sid == "ScaleTheServicesDesiredCount"] == [{
      StringEquals = { "application-autoscaling:service-namespace" = "ecs", "application-autoscaling:scalable-dimension" = "ecs:service:DesiredCount" }
    }]
    error_message = "auto scaling of ECS services' desired count only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : [s.Resource, s.Condition] if s.Sid == "ManageSecurityGroupsOfThatVpc"] == [[
      "arn:aws:ec2:us-east-1:123456789012:security-group/*",
      { ArnEquals = { "ec2:Vpc" = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0" } },
    ]]
    error_message = "security group changes in the service's VPC only"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Resource if s.Sid == "CreateTheServiceSecurityGroupsInItsVpc"] == [[
      "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0", "arn:aws:ec2:us-east-1:123456789012:security-group/*",
    ]]
    error_message = "security groups are created in the service's VPC"
  }

  assert {
    condition     = !contains(flatten([for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Action]), "ec2:*") && !contains(flatten([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action]), "ec2:*")
    error_message = "EC2: security groups and reads only, never ec2:*"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Sid if s.Resource == "*"] == [
      "EcrLoginHasNoResourceScope", "CallsWithoutResourceScope", "EcsTaskDefinitionCallsWithoutResourceScope", "ContainerServiceReadsWithoutResourceScope",
    ]
    error_message = "with the container service, only calls without a resource type are added on *"
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement :
    alltrue([for a in flatten([s.Action]) : can(regex("^(ec2|elasticloadbalancing|application-autoscaling):Describe", a))]) if s.Sid == "ContainerServiceReadsWithoutResourceScope"])
    error_message = "the container service's calls on * are reads (Describe*)"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s.Condition if s.Sid == "TheContainerServicesLinkedRoles"] == [{
      StringEquals = { "iam:AWSServiceName" = ["ecs.amazonaws.com", "ecs.application-autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"] }
    }]
    error_message = "service-linked roles of ECS, Application Auto Scaling and Elastic Load Balancing only"
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this["release"].policy).Statement : s if can(regex("FrontDoor|ApiAccessLog", s.Sid))]) == 0
    error_message = "the container service alone adds nothing of the front door"
  }

  assert {
    condition     = alltrue([for service in ["ecs:*", "elasticloadbalancing:*", "application-autoscaling:*"] : contains(one([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action if s.Sid == "TheOptionalModulesServices"]), service)])
    error_message = "the boundary admits ECS, the load balancer and auto scaling with the container service"
  }

  assert {
    condition     = !contains(one([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Action if s.Sid == "TheOptionalModulesServices"]), "apigateway:*")
    error_message = "the container service alone does not admit API Gateway"
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s.Sid if s.Sid == "SecurityGroupsOfTheContainerService" || s.Sid == "TheContainerServicesLinkedRoles"] == ["SecurityGroupsOfTheContainerService", "TheContainerServicesLinkedRoles"]
    error_message = "the boundary admits the service's security groups and its service-linked roles"
  }
}
