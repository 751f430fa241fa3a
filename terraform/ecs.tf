# The container service (docs/batch-and-api.md), off unless enable_ecs: the serving image on ECS
# Fargate behind an Application Load Balancer (HTTPS, health checks on /ping), scaled by target
# tracking on CPU. Tasks download the released model.tar.gz at start and refuse to serve when its
# sha256 is not the one the release published (textclf.serving.fetch: TEXTCLF_MODEL_URL,
# TEXTCLF_MODEL_SHA256); `make ecs-roll COMMIT=<sha>` sets both from the commit's manifest and
# applies, and ECS replaces the tasks, rolling back if the new ones never pass the health check.
# The network (VPC, subnets) is the account's: pass it in. Variables and outputs are in this file.

variable "enable_ecs" {
  description = "Create the ECS Fargate service behind a load balancer. Turning it on or off changes the release role's own policy and the permissions boundary: apply that change as an administrator (the release role's plan stops saying so)."
  type        = bool
  default     = false
}

variable "ecs_vpc_id" {
  description = "VPC of the service (required with enable_ecs)."
  type        = string
  default     = null
}

variable "ecs_task_subnet_ids" {
  description = "Subnets of the tasks: private ones, with a route to S3, ECR and CloudWatch Logs (NAT or VPC endpoints)."
  type        = list(string)
  default     = []
}

variable "ecs_alb_subnet_ids" {
  description = "Subnets of the load balancer (two availability zones or more)."
  type        = list(string)
  default     = []
}

variable "ecs_alb_internal" {
  description = "An internal load balancer (reachable inside the VPC only); false for an internet-facing one."
  type        = bool
  default     = true
}

variable "ecs_allowed_cidrs" {
  description = "Networks allowed to reach the load balancer on 443."
  type        = list(string)
  default     = []
}

variable "ecs_certificate_arn" {
  description = "ACM certificate of the HTTPS listener (required with enable_ecs; the service speaks HTTPS only)."
  type        = string
  default     = null
}

variable "ecs_model_data_url" {
  description = "The released model the tasks serve: s3://<artifacts>/<artifact_prefix><commit>/model.tar.gz (make ecs-roll sets it)."
  type        = string
  default     = null
}

variable "ecs_model_sha256" {
  description = "sha256 of that model.tar.gz, from its manifest; tasks refuse other bytes (make ecs-roll sets it)."
  type        = string
  default     = null

  validation {
    condition     = var.ecs_model_sha256 == null || can(regex("^[0-9a-f]{64}$", coalesce(var.ecs_model_sha256, "-")))
    error_message = "ecs_model_sha256 must be 64 lower-case hex digits (the manifest's sha256)."
  }
}

variable "ecs_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.ecs_cpu)
    error_message = "ecs_cpu must be one of Fargate's 256, 512, 1024, 2048, 4096."
  }
}

variable "ecs_memory_mb" {
  description = "Fargate task memory in MB (the server takes about 0.3-0.6 GB with the default model)."
  type        = number
  default     = 2048
}

variable "ecs_min_tasks" {
  description = "Fewest tasks (and the first desired count)."
  type        = number
  default     = 1

  validation {
    condition     = var.ecs_min_tasks >= 1
    error_message = "ecs_min_tasks must be at least 1 (scaling to zero leaves the load balancer without targets)."
  }
}

variable "ecs_max_tasks" {
  description = "Most tasks target tracking may start."
  type        = number
  default     = 4

  validation {
    condition     = var.ecs_max_tasks >= var.ecs_min_tasks
    error_message = "ecs_max_tasks must be at least ecs_min_tasks."
  }
}

variable "ecs_cpu_target_percent" {
  description = "Average CPU of the service that target tracking keeps."
  type        = number
  default     = 60

  validation {
    condition     = var.ecs_cpu_target_percent >= 10 && var.ecs_cpu_target_percent <= 90
    error_message = "ecs_cpu_target_percent must be from 10 to 90."
  }
}

locals {
  ecs_enabled   = var.enable_ecs
  ecs_name      = "${local.name}-serving"
  ecs_port      = 8080
  ecs_log_group = "/ecs/${local.ecs_name}"
  # Fargate bind mounts are owned by root with mode 0755 ("Use bind mounts with Amazon ECS",
  # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html): the image's
  # unprivileged user could not write a downloaded model to one, so it goes under /tmp.
  ecs_model_dir = "/tmp/model"
  ecs_version   = try(regex("/([^/]+)/model\\.tar\\.gz$", coalesce(var.ecs_model_data_url, "-"))[0], "unknown")

  # ECS asks for these conditions in task role trust policies to avoid the confused deputy
  # ("Amazon ECS task IAM role", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
  ecs_tasks_trust = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${var.region}:${local.account_id}:*" }
      }
    }]
  }

  # What the task's program does: download the released model (like the serving role: models only).
  ecs_task_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadReleasedModels"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.artifacts_arn}/${var.artifact_prefix}*"
      },
      {
        Sid      = "DecryptWithTheProjectKey"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = aws_kms_key.project.arn
      },
    ]
  }

  # What ECS does to start the task: pull the serving image, write the container's log.
  ecs_execution_policy = {
    Version = "2012-10-17"
    Statement = [
      local.ecr_login,
      {
        Sid      = "PullTheServingImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
        Resource = aws_ecr_repository.this["serving"].arn
      },
      {
        Sid      = "DecryptTheImage"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = aws_kms_key.project.arn
      },
      {
        Sid      = "WriteTheContainerLog"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.logs_arn_prefix}:${local.ecs_log_group}:*"
      },
    ]
  }
}

resource "aws_cloudwatch_log_group" "ecs" {
  count = local.ecs_enabled ? 1 : 0

  name              = local.ecs_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.project.arn
}

resource "aws_iam_role" "ecs_task" {
  count = local.ecs_enabled ? 1 : 0

  name                 = "${local.name}-ecs-task"
  description          = "The ECS serving tasks of ${local.name}: read the released models only"
  assume_role_policy   = jsonencode(local.ecs_tasks_trust)
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role_policy" "ecs_task" {
  count = local.ecs_enabled ? 1 : 0

  name   = "${local.name}-ecs-task"
  role   = aws_iam_role.ecs_task[0].name
  policy = jsonencode(local.ecs_task_policy)
}

resource "aws_iam_role" "ecs_execution" {
  count = local.ecs_enabled ? 1 : 0

  name                 = "${local.name}-ecs-execution"
  description          = "ECS starting the serving tasks of ${local.name}: pull the image, write the log"
  assume_role_policy   = jsonencode(local.ecs_tasks_trust)
  permissions_boundary = aws_iam_policy.boundary.arn
}

resource "aws_iam_role_policy" "ecs_execution" {
  count = local.ecs_enabled ? 1 : 0

  name   = "${local.name}-ecs-execution"
  role   = aws_iam_role.ecs_execution[0].name
  policy = jsonencode(local.ecs_execution_policy)
}

resource "aws_ecs_cluster" "this" {
  count = local.ecs_enabled ? 1 : 0

  name = local.ecs_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "serving" {
  count = local.ecs_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_336:The server downloads the model at start and Fargate's bind mounts are root-owned 0755, unwritable by the image's unprivileged user; it writes /tmp only, and uid 10001 owns none of the image's code.
  family                   = local.ecs_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.ecs_cpu
  memory                   = var.ecs_memory_mb
  task_role_arn            = aws_iam_role.ecs_task[0].arn
  execution_role_arn       = aws_iam_role.ecs_execution[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64" # the serving image is built for linux/amd64
  }

  container_definitions = jsonencode([{
    name      = "serve"
    image     = local.serving_image_uri
    command   = ["serve"] # docker/serve, as SageMaker starts it
    essential = true
    portMappings = [{
      containerPort = local.ecs_port
      protocol      = "tcp"
    }]
    environment = [
      { name = "TEXTCLF_MODEL_URL", value = coalesce(var.ecs_model_data_url, "") },
      { name = "TEXTCLF_MODEL_SHA256", value = coalesce(var.ecs_model_sha256, "") },
      { name = "TEXTCLF_MODEL_DIR", value = local.ecs_model_dir },
      { name = "MODEL_VERSION", value = local.ecs_version },
    ]
    user = "10001:10001" # the image's unprivileged user
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.ecs_log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = "serve"
      }
    }
  }])

  lifecycle {
    # The first revision only: later ones (a release's model and serving image) are registered by
    # make ecs-roll, so a release's apply with a new serving image tag does not replace this one.
    ignore_changes = [container_definitions]

    precondition {
      condition     = var.ecs_model_data_url != null && var.ecs_model_sha256 != null && startswith(coalesce(var.ecs_model_data_url, "-"), "s3://${aws_s3_bucket.this["artifacts"].bucket}/${var.artifact_prefix}")
      error_message = "enable_ecs needs the service's first model: ecs_model_data_url (a released model: s3://${aws_s3_bucket.this["artifacts"].bucket}/${var.artifact_prefix}<commit>/model.tar.gz) and its ecs_model_sha256 (`python -m textclf.frontdoor.ecs_roll vars --commit <sha>` prints both); releases roll it with make ecs-roll."
    }
  }
}

resource "aws_security_group" "ecs_alb" {
  count = local.ecs_enabled ? 1 : 0

  name        = "${local.ecs_name}-alb"
  description = "The serving load balancer: HTTPS in from the allowed networks, to the tasks"
  vpc_id      = var.ecs_vpc_id

  lifecycle {
    precondition {
      condition     = var.ecs_vpc_id != null && length(var.ecs_task_subnet_ids) > 0 && length(var.ecs_alb_subnet_ids) >= 2 && var.ecs_certificate_arn != null
      error_message = "enable_ecs needs ecs_vpc_id, ecs_task_subnet_ids, two or more ecs_alb_subnet_ids and ecs_certificate_arn."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "ecs_alb_https" {
  for_each = local.ecs_enabled ? toset(var.ecs_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.ecs_alb[0].id
  description       = "HTTPS from an allowed network"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "ecs_alb_to_tasks" {
  count = local.ecs_enabled ? 1 : 0

  security_group_id            = aws_security_group.ecs_alb[0].id
  description                  = "To the serving tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.ecs_port
  to_port                      = local.ecs_port
  referenced_security_group_id = aws_security_group.ecs_tasks[0].id
}

resource "aws_security_group" "ecs_tasks" {
  count = local.ecs_enabled ? 1 : 0

  name        = "${local.ecs_name}-tasks"
  description = "The serving tasks: from the load balancer only; out to AWS APIs over HTTPS"
  vpc_id      = var.ecs_vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "ecs_tasks_from_alb" {
  count = local.ecs_enabled ? 1 : 0

  security_group_id            = aws_security_group.ecs_tasks[0].id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.ecs_port
  to_port                      = local.ecs_port
  referenced_security_group_id = aws_security_group.ecs_alb[0].id
}

resource "aws_vpc_security_group_egress_rule" "ecs_tasks_https" {
  count = local.ecs_enabled ? 1 : 0

  security_group_id = aws_security_group.ecs_tasks[0].id
  description       = "HTTPS to S3, ECR and CloudWatch Logs (through NAT or VPC endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_lb" "ecs" {
  count = local.ecs_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_91:Access logs need a log bucket with the ELB account's policy; the access of record is the target's own log (one line a request).
  #checkov:skip=CKV2_AWS_28:WAF is the team's choice per deployment (internal by default); attach a web ACL to this ARN when internet-facing.
  #checkov:skip=CKV_AWS_150:Deletion protection would stop enable_ecs = false from removing the module; turn it on per deployment.
  name                       = substr("${local.ecs_name}-alb", 0, 32)
  internal                   = var.ecs_alb_internal
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.ecs_alb[0].id]
  subnets                    = var.ecs_alb_subnet_ids
  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "ecs" {
  count = local.ecs_enabled ? 1 : 0

  name        = substr("${local.ecs_name}-tg", 0, 32)
  port        = local.ecs_port
  protocol    = "HTTP" # TLS ends at the load balancer; the tasks are reachable from it only
  target_type = "ip"   # awsvpc tasks
  vpc_id      = var.ecs_vpc_id

  # /ping answers 200 once the verified model is loaded and warmed up, 503 before.
  health_check {
    path                = "/ping"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  deregistration_delay = 30 # the server drains its requests in flight on SIGTERM
}

resource "aws_lb_listener" "ecs_https" {
  count = local.ecs_enabled ? 1 : 0

  load_balancer_arn = aws_lb.ecs[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.ecs_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ecs[0].arn
  }
}

resource "aws_ecs_service" "serving" {
  count = local.ecs_enabled ? 1 : 0

  name             = local.ecs_name
  cluster          = aws_ecs_cluster.this[0].id
  task_definition  = aws_ecs_task_definition.serving[0].arn
  desired_count    = var.ecs_min_tasks
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  network_configuration {
    subnets          = var.ecs_task_subnet_ids
    security_groups  = [aws_security_group.ecs_tasks[0].id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.ecs[0].arn
    container_name   = "serve"
    container_port   = local.ecs_port
  }

  # A new task definition (make ecs-roll) replaces tasks one by one; tasks that never pass the
  # health check (a model whose sha256 differs never becomes healthy) roll the service back to the
  # previous one ("Amazon ECS deployment circuit breaker",
  # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 120 # download, verify and load the model

  lifecycle {
    # Target tracking owns the task count after the first apply; the release owns the task
    # definition (make ecs-roll registers a revision with the released model and image), as the
    # redeploy Lambda owns the endpoint's configuration: an apply never moves the served model.
    ignore_changes = [desired_count, task_definition]
  }

  depends_on = [aws_lb_listener.ecs_https]
}

resource "aws_appautoscaling_target" "ecs" {
  count = local.ecs_enabled ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this[0].name}/${aws_ecs_service.serving[0].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.ecs_min_tasks
  max_capacity       = var.ecs_max_tasks
}

# Target tracking: Application Auto Scaling adds tasks when the average CPU is above the target and
# removes them (more slowly) below it ("Target tracking scaling policies for Amazon ECS",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
resource "aws_appautoscaling_policy" "ecs_cpu" {
  count = local.ecs_enabled ? 1 : 0

  name               = "${local.ecs_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.ecs[0].service_namespace
  resource_id        = aws_appautoscaling_target.ecs[0].resource_id
  scalable_dimension = aws_appautoscaling_target.ecs[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.ecs_cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

output "ecs_url" {
  description = "The container service's HTTPS URL (the load balancer's DNS name); null unless enable_ecs."
  value       = local.ecs_enabled ? "https://${aws_lb.ecs[0].dns_name}" : null
}

output "ecs_cluster_name" {
  description = "The ECS cluster of the container service; null unless enable_ecs."
  value       = local.ecs_enabled ? aws_ecs_cluster.this[0].name : null
}

output "ecs_service_name" {
  description = "The ECS service make ecs-roll rolls; null unless enable_ecs."
  value       = local.ecs_enabled ? aws_ecs_service.serving[0].name : null
}

output "ecs_task_role_arn" {
  description = "The serving tasks' role (reads released models only); null unless enable_ecs."
  value       = local.ecs_enabled ? aws_iam_role.ecs_task[0].arn : null
}
