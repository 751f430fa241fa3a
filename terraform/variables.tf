# Every name, size and region is a variable with a default that works for a first deployment.
# Bad values fail at plan time with a message that names the variable.

variable "project" {
  description = "Short project name, the prefix of every resource name."
  type        = string
  default     = "textclf"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project))
    error_message = "project must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter (it prefixes bucket and role names)."
  }
}

variable "environment" {
  description = "Deployment environment (prod, staging, ...), the second part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-west-2."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may assume the PR and release roles, and that receives the retraining dispatch."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository)) && !contains([".", ".."], try(split("/", var.github_repository)[1], ""))
    error_message = "github_repository must be \"owner/name\" as on GitHub (for example acme/text-classifier): an owner of letters, digits and hyphens, then one slash, then the repository name."
  }
}

variable "github_owner_id" {
  description = "Numeric GitHub owner id. Set it with github_repository_id when the repository uses immutable OIDC subject claims (repo:OWNER@ID/NAME@ID:...), the default for repositories created from mid-2026 on."
  type        = number
  default     = null

  validation {
    condition     = var.github_owner_id == null || try(var.github_owner_id > 0 && floor(var.github_owner_id) == var.github_owner_id, false)
    error_message = "github_owner_id must be a positive whole number (the owner's id from the GitHub API), or null."
  }
}

variable "github_repository_id" {
  description = "Numeric GitHub repository id, for immutable OIDC subject claims; see github_owner_id."
  type        = number
  default     = null

  validation {
    condition     = (var.github_repository_id == null) == (var.github_owner_id == null)
    error_message = "Set github_repository_id and github_owner_id together (both numbers) or leave both null."
  }
}

variable "github_release_branch" {
  description = "Branch whose workflows may assume the release role."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,100}$", var.github_release_branch)) && !strcontains(var.github_release_branch, "*")
    error_message = "github_release_branch must be one branch name (no wildcards)."
  }
}

variable "github_release_environment" {
  description = "GitHub environment whose jobs may assume the release role (a job with `environment:` gets an environment subject instead of a branch subject)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_release_environment))
    error_message = "github_release_environment must be one environment name of letters, digits, dots, underscores and hyphens."
  }
}

variable "github_infra_environments" {
  description = "Per release environment (github_release_environment), the GitHub environment of the release job that applies its infrastructure and pushes its images without waiting for its approvals (release.yml's production-infra job, on every push to main): the release role trusts it too, the promote and state roles do not. Staging's one job does both in `staging` (no reviewers), so it has none."
  type        = map(string)
  default     = { production = "production-infra" }

  validation {
    condition = alltrue([for release, infra in var.github_infra_environments :
    can(regex("^[A-Za-z0-9._-]{1,100}$", infra)) && lower(infra) != lower(release)])
    error_message = "github_infra_environments maps a release environment to another environment name of letters, digits, dots, underscores and hyphens (not the release environment itself: its reviewers would hold the job again)."
  }
}

variable "github_batch_environment" {
  description = "GitHub environment of batch.yml's job, the only job that may assume the batch role (its own environment: a batch run neither waits for production's approvals nor shares the release jobs' subject)."
  type        = string
  default     = "batch"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_batch_environment))
    error_message = "github_batch_environment must be one environment name of letters, digits, dots, underscores and hyphens."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing GitHub Actions OIDC provider in the account (there can be only one per account). Null creates it."
  type        = string
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider, or null to create it."
  }
}

variable "github_oidc_provider_exists" {
  description = "True when another environment's apply in this account created the GitHub OIDC provider (one per account): this one looks it up instead of creating it (environments/staging.tfvars)."
  type        = bool
  default     = false
}

# --- environments -----------------------------------------------------------------------------
# One configuration, applied once per environment (environments/<name>.tfvars, state key
# environments/<name>.backend.hcl). PRs train and publish in one environment (production); another
# environment (staging) deploys the models published there, so the reviewed bytes are the same
# everywhere. docs/infra.md: the one-account and the account-per-environment layouts.

variable "model_source_environment" {
  description = "Environment (same account, default bucket and key names) whose artifacts bucket holds the published models this environment deploys. Null: this environment's own artifacts bucket."
  type        = string
  default     = null

  validation {
    condition     = var.model_source_environment == null || can(regex("^[a-z][a-z0-9]{1,11}$", var.model_source_environment))
    error_message = "model_source_environment must be an environment name (2-12 lowercase letters or digits), or null."
  }
}

variable "model_source_bucket" {
  description = "Bucket of the published models when they live in another account (the account-per-environment layout); its owner grants this environment's roles read (model_reader_role_arns there). Null: see model_source_environment."
  type        = string
  default     = null

  validation {
    condition     = var.model_source_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.model_source_bucket))
    error_message = "model_source_bucket must be an S3 bucket name, or null."
  }
}

variable "model_source_kms_key_arn" {
  description = "KMS key of model_source_bucket (a key ARN, not an alias: cross-account key use needs the ARN). Null: the source environment's key by its alias."
  type        = string
  default     = null

  validation {
    condition     = var.model_source_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.model_source_kms_key_arn))
    error_message = "model_source_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), or null."
  }

  validation {
    condition     = (var.model_source_kms_key_arn == null) == (var.model_source_bucket == null)
    error_message = "Set model_source_bucket and model_source_kms_key_arn together (another account's bucket and its key), or neither."
  }
}

variable "model_reader_role_arns" {
  description = "Roles of other accounts (their serving, redeploy and promote roles) allowed to read models/ in this environment's artifacts bucket and decrypt with its key: the account-per-environment layout."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.model_reader_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "model_reader_role_arns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "retrain_event_type" {
  description = "repository_dispatch event type sent to GitHub when new data lands under incoming/ (the retrain workflow listens for it)."
  type        = string
  default     = "new-data"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,99}$", var.retrain_event_type))
    error_message = "retrain_event_type must be lowercase letters, digits, hyphens or underscores."
  }
}

variable "data_bucket_name" {
  description = "Name of the data bucket (the DVC remote). Null: <project>-<environment>-data-<account id>."
  type        = string
  default     = null

  validation {
    condition = alltrue([for name in(var.data_bucket_name == null ? [] : [var.data_bucket_name]) :
      length(name) >= 3 && length(name) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", name)) &&
      !strcontains(name, "..") && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", name)) &&
      !startswith(name, "xn--") && !startswith(name, "sthree-") && !startswith(name, "amzn-s3-demo-") &&
      !endswith(name, "-s3alias") && !endswith(name, "--ol-s3") && !endswith(name, ".mrap") &&
      !endswith(name, "--x-s3") && !endswith(name, "--table-s3")
    ])
    error_message = "data_bucket_name breaks the S3 bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address, no xn--/sthree-/amzn-s3-demo- prefix or -s3alias/--ol-s3/.mrap/--x-s3/--table-s3 suffix."
  }
}

variable "artifacts_bucket_name" {
  description = "Name of the artifacts bucket (prepared data, checkpoints, models, reports, production metrics). Null: <project>-<environment>-artifacts-<account id>."
  type        = string
  default     = null

  validation {
    condition = alltrue([for name in(var.artifacts_bucket_name == null ? [] : [var.artifacts_bucket_name]) :
      length(name) >= 3 && length(name) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", name)) &&
      !strcontains(name, "..") && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", name)) &&
      !startswith(name, "xn--") && !startswith(name, "sthree-") && !startswith(name, "amzn-s3-demo-") &&
      !endswith(name, "-s3alias") && !endswith(name, "--ol-s3") && !endswith(name, ".mrap") &&
      !endswith(name, "--x-s3") && !endswith(name, "--table-s3")
    ])
    error_message = "artifacts_bucket_name breaks the S3 bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address, no xn--/sthree-/amzn-s3-demo- prefix or -s3alias/--ol-s3/.mrap/--x-s3/--table-s3 suffix."
  }
}

variable "state_bucket_name" {
  description = "Terraform state bucket (created by `make bootstrap`); the release role may read and write it. Null: <project>-tfstate-<account id>-<region>, the bootstrap default."
  type        = string
  default     = null
}

variable "state_key" {
  description = "Key of this environment's Terraform state in the state bucket: the `key` of environments/<name>.backend.hcl. The release role may write this state only."
  type        = string
  default     = "main/terraform.tfstate"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_.-]{0,200}\\.tfstate$", var.state_key)) && !strcontains(var.state_key, "..")
    error_message = "state_key must be a relative S3 key ending in .tfstate (for example staging/terraform.tfstate)."
  }
}

variable "enforce_tls" {
  description = "Deny plain-HTTP access in the bucket policies. Only the local cloud, which speaks plain HTTP and enforces bucket policies, sets it false."
  type        = bool
  default     = true
}

variable "checkpoint_expiration_days" {
  description = "Days after which training checkpoints (artifacts bucket, checkpoints/) expire."
  type        = number
  default     = 14

  validation {
    condition     = var.checkpoint_expiration_days >= 1 && var.checkpoint_expiration_days <= 365
    error_message = "checkpoint_expiration_days must be between 1 and 365."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions expire in both buckets."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650
    error_message = "noncurrent_version_expiration_days must be between 1 and 3650."
  }
}

variable "ecr_keep_images" {
  description = "How many images each ECR repository keeps (older ones expire)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1 && var.ecr_keep_images <= 1000
    error_message = "ecr_keep_images must be between 1 and 1000."
  }
}

# The Serverless endpoint's settings come from params.yaml (deploy.serverless, deploy.keep_configs:
# sagemaker.tf reads them), the one place the docs and `textclf` validate them. These variables
# override them for one environment (its tfvars), e.g. a smaller max_concurrency for staging so that
# both endpoints fit the account's Serverless concurrency quota (docs/serving.md); unset (null), the
# params.yaml value applies. Same ranges as params.yaml (textclf.config.ServerlessParams) and the
# redeploy Lambda (tests/release/test_serverless_settings.py compares the three).
variable "params_file" {
  description = "The project's params.yaml, relative to this folder (or absolute): deploy.serverless and deploy.keep_configs reach the endpoint and the redeploy Lambda from it. A missing file leaves params.yaml's defaults."
  type        = string
  default     = "../params.yaml"
}

variable "serverless_memory_mb" {
  description = "Overrides params.yaml deploy.serverless.memory_mb for this environment: memory of the Serverless endpoint, in MB (1024-6144, in steps of 1024). Null: params.yaml's."
  type        = number
  default     = null

  validation {
    condition     = var.serverless_memory_mb == null || contains([1024, 2048, 3072, 4096, 5120, 6144], coalesce(var.serverless_memory_mb, 2048))
    error_message = "serverless_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144 (SageMaker Serverless sizes)."
  }
}

variable "serverless_max_concurrency" {
  description = "Overrides params.yaml deploy.serverless.max_concurrency for this environment: maximum concurrent invocations of the Serverless endpoint (1-200), counted against the account's total Serverless concurrency quota. Null: params.yaml's."
  type        = number
  default     = null

  validation {
    condition     = var.serverless_max_concurrency == null || (coalesce(var.serverless_max_concurrency, 1) >= 1 && coalesce(var.serverless_max_concurrency, 1) <= 200 && floor(coalesce(var.serverless_max_concurrency, 1)) == coalesce(var.serverless_max_concurrency, 1))
    error_message = "serverless_max_concurrency must be a whole number between 1 and 200."
  }
}

variable "serverless_provisioned_concurrency" {
  description = "Overrides params.yaml deploy.serverless.provisioned_concurrency for this environment: provisioned (always warm) concurrency; 0 = none, pay per use with cold starts. Null: params.yaml's."
  type        = number
  default     = null

  validation {
    condition     = var.serverless_provisioned_concurrency == null || (coalesce(var.serverless_provisioned_concurrency, 0) >= 0 && coalesce(var.serverless_provisioned_concurrency, 0) <= coalesce(var.serverless_max_concurrency, 200) && floor(coalesce(var.serverless_provisioned_concurrency, 0)) == coalesce(var.serverless_provisioned_concurrency, 0))
    error_message = "serverless_provisioned_concurrency must be a whole number from 0 (none) to serverless_max_concurrency."
  }
}

variable "serving_image_tag" {
  description = "Tag of the serving image the endpoint's first configuration and the redeploy Lambda use; `make infra-apply` passes the checkout's (`make image-tags`)."
  type        = string
  default     = "initial"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.serving_image_tag))
    error_message = "serving_image_tag must be a valid image tag (letters, digits, _ . -; at most 128 characters)."
  }
}

variable "initial_model_data_url" {
  description = "The released model.tar.gz the endpoint starts with (s3://<artifacts bucket>/models/<commit>/model.tar.gz). Null: no endpoint yet (a new account has no model); the first release creates it, or set this once and apply."
  type        = string
  default     = null

  validation {
    condition     = var.initial_model_data_url == null || can(regex("^s3://[a-z0-9.-]{3,63}/.+\\.tar\\.gz$", var.initial_model_data_url))
    error_message = "initial_model_data_url must be an s3://bucket/key.tar.gz URL, or null."
  }
}

variable "artifact_prefix" {
  description = "Prefix of released models in the artifacts bucket (models/<git commit>/model.tar.gz)."
  type        = string
  default     = "models/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*/$", var.artifact_prefix))
    error_message = "artifact_prefix must be one folder name ending with a slash, such as models/."
  }
}

variable "keep_configs" {
  description = "Overrides params.yaml deploy.keep_configs for this environment: how many endpoint configurations (and their models) the redeploy Lambda keeps for rollback (2-50). Null: params.yaml's."
  type        = number
  default     = null

  # At least 2: the redeploy Lambda never deletes the live config or the one before it (its
  # rollback target), and refuses KEEP_CONFIGS below 2 or above 50.
  validation {
    condition     = var.keep_configs == null || (coalesce(var.keep_configs, 3) >= 2 && coalesce(var.keep_configs, 3) <= 50 && floor(coalesce(var.keep_configs, 3)) == coalesce(var.keep_configs, 3))
    error_message = "keep_configs must be a whole number between 2 and 50 (the live config and the one before it are always kept)."
  }
}

variable "lambda_zip_path" {
  description = "The Lambda package of the redeploy and stop-training functions (built by `make lambda-zip`). Relative paths are relative to this folder."
  type        = string
  default     = "../build/redeploy.zip"

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "github_pr_session_seconds" {
  description = "Longest AWS session of the pr workflow's train job (the PR role's max_session_duration). It must cover params.yaml's sagemaker.max_wait_seconds (the longest a Spot job may take) plus about 45 minutes for the rest of the job: `make pr-session-seconds` prints what the workflow asks for."
  type        = number
  default     = 10800 # 3 h: the default max_wait_seconds (2 h) plus 45 min, with room

  # IAM's MaxSessionDuration is 3600 to 43200 seconds (1 to 12 hours); a job that cannot finish in
  # 12 h must wait less for Spot capacity (sagemaker.max_wait_seconds).
  validation {
    condition     = var.github_pr_session_seconds >= 3600 && var.github_pr_session_seconds <= 43200 && floor(var.github_pr_session_seconds) == var.github_pr_session_seconds
    error_message = "github_pr_session_seconds must be whole seconds between 3600 and 43200 (12 h, AWS's cap for a role session); lower sagemaker.max_wait_seconds in params.yaml if the job does not fit."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the redeploy Lambda: it waits for the endpoint to come up and rolls back if it does not."
  type        = number
  default     = 900

  validation {
    condition     = var.lambda_timeout_seconds >= 60 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 60 and 900 (the Lambda maximum)."
  }
}

variable "redeploy_poll_seconds" {
  description = "How often the redeploy Lambda asks the endpoint's status while it updates. A Serverless endpoint takes minutes, so 15 s costs little; the local cloud's endpoints switch in a second."
  type        = number
  default     = 15

  validation {
    condition     = var.redeploy_poll_seconds >= 1 && var.redeploy_poll_seconds <= 300
    error_message = "redeploy_poll_seconds must be between 1 and 300."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the redeploy Lambda, in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "log_retention_days" {
  description = "Retention of the project's CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the project KMS key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic, or null to subscribe later."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address, or null."
  }
}

variable "endpoint_alarm_period_seconds" {
  description = "Period of the endpoint's 5xx and latency alarms, which production's bake watches: the 5xx alarm needs one breaching period, the latency alarm 3 of 5, and the bake refuses a window (params.yaml deploy.staging.bake_seconds) shorter than Period x DatapointsToAlarm. SageMaker publishes endpoint metrics per minute: 10 and 30 are for the local cloud's rehearsals only."
  type        = number
  default     = 60

  validation {
    # PutMetricAlarm: "Valid values are 10, 20, 30, and any multiple of 60", and Period x
    # EvaluationPeriods at most 604,800 s (one day under an hour's Period): the latency alarm
    # evaluates 5 periods, so at most 120,960 s (CloudWatch API reference, PutMetricAlarm).
    condition     = (contains([10, 20, 30], var.endpoint_alarm_period_seconds) || (var.endpoint_alarm_period_seconds >= 60 && var.endpoint_alarm_period_seconds % 60 == 0)) && var.endpoint_alarm_period_seconds <= 120960
    error_message = "endpoint_alarm_period_seconds must be 10, 20, 30 or a multiple of 60 (CloudWatch alarm periods), at most 120960 (the latency alarm's 5 periods within CloudWatch's 7 days)."
  }
}

variable "error_alarm_threshold" {
  description = "5xx errors of the endpoint within one alarm period (endpoint_alarm_period_seconds) that raise the error alarm."
  type        = number
  default     = 5

  validation {
    condition     = var.error_alarm_threshold >= 1
    error_message = "error_alarm_threshold must be at least 1."
  }
}

variable "latency_alarm_threshold_ms" {
  description = "p90 model latency, in milliseconds, above which the latency alarm fires (3 periods of endpoint_alarm_period_seconds out of 5)."
  type        = number
  default     = 1000

  validation {
    condition     = var.latency_alarm_threshold_ms >= 10 && var.latency_alarm_threshold_ms <= 60000
    error_message = "latency_alarm_threshold_ms must be between 10 and 60000."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "training_output_prefix" {
  description = "Prefix in the artifacts bucket where training jobs write their output (params.yaml sagemaker.models_prefix plus a slash). Not the write-once release prefix."
  type        = string
  default     = "jobs/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*/$", var.training_output_prefix)) && var.training_output_prefix != var.artifact_prefix
    error_message = "training_output_prefix must be one folder name ending with a slash, such as jobs/, and differ from artifact_prefix (released models are write-once)."
  }
}

variable "training_instance_types" {
  description = "Instance types the PR role may start training jobs on (params.yaml sagemaker.instance_type must be one)."
  type        = list(string)
  default     = ["ml.g4dn.xlarge"]

  validation {
    condition     = length(var.training_instance_types) > 0 && alltrue([for t in var.training_instance_types : can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", t))])
    error_message = "training_instance_types must list SageMaker instance types such as ml.g4dn.xlarge."
  }
}

variable "training_max_runtime_seconds" {
  description = "The longest MaxRuntimeInSeconds the PR role may ask for (params.yaml sagemaker.max_runtime_seconds must not exceed it)."
  type        = number
  default     = 3600

  validation {
    condition     = var.training_max_runtime_seconds >= 60 && var.training_max_runtime_seconds <= 432000
    error_message = "training_max_runtime_seconds must be between 60 and 432000 (SageMaker's limit, 5 days)."
  }
}

variable "training_max_instances" {
  description = "The most instances a pull request's training job may ask for (params.yaml sagemaker.instance_count must not exceed it). IAM has no condition key for the count: the training-run function checks it."
  type        = number
  default     = 4

  validation {
    condition     = var.training_max_instances >= 1 && var.training_max_instances <= 32 && floor(var.training_max_instances) == var.training_max_instances
    error_message = "training_max_instances must be a whole number from 1 to 32 (params.yaml's own limit)."
  }
}

variable "training_max_volume_gb" {
  description = "The largest ML storage volume, in GB, a pull request's training job may ask for (params.yaml sagemaker.volume_size_gb must not exceed it). Checked by the training-run function."
  type        = number
  default     = 200

  validation {
    condition     = var.training_max_volume_gb >= 1 && var.training_max_volume_gb <= 16384 && floor(var.training_max_volume_gb) == var.training_max_volume_gb
    error_message = "training_max_volume_gb must be a whole number from 1 to 16384 (params.yaml's own limit)."
  }
}

# --- the drift check (drift.tf, docs/monitoring.md) ---------------------------------------------

variable "drift_lambda_zip_path" {
  description = "The drift-check Lambda's zip (`python -m textclf.lambda_zip textclf.monitoring.drift build/drift.zip`), relative to this folder; null leaves the drift check out."
  type        = string
  default     = null

  validation {
    condition     = var.drift_lambda_zip_path == null || endswith(coalesce(var.drift_lambda_zip_path, "x.zip"), ".zip")
    error_message = "drift_lambda_zip_path must name a .zip file (or be null)."
  }
}

variable "drift_check_schedule" {
  description = "When the drift check runs (EventBridge schedule expression); each run reads the last monitor_window_hours."
  type        = string
  default     = "rate(1 day)"

  validation {
    condition     = can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.drift_check_schedule))
    error_message = "drift_check_schedule must be an EventBridge schedule expression: rate(...) or cron(...)."
  }
}

variable "drift_alarm_period_seconds" {
  description = "The drift alarms' period: the schedule's interval (a day by default), so each check is one datapoint."
  type        = number
  default     = 86400

  validation {
    condition     = var.drift_alarm_period_seconds >= 60 && var.drift_alarm_period_seconds % 60 == 0 && var.drift_alarm_period_seconds <= 86400
    error_message = "drift_alarm_period_seconds must be a multiple of 60 between 60 and 86400 (CloudWatch alarm periods)."
  }
}

variable "drift_event_type" {
  description = "repository_dispatch event type sent to GitHub when the drift alarm fires (a workflow on it opens the issue)."
  type        = string
  default     = "model-drift"
}

# The same values as params.yaml `monitor` (textclf.config.MonitorParams): keep them in step.
variable "monitor_window_hours" {
  description = "Hours of traffic one drift check reads (params.yaml monitor.window_hours)."
  type        = number
  default     = 24

  validation {
    condition     = var.monitor_window_hours >= 1 && var.monitor_window_hours <= 336
    error_message = "monitor_window_hours must be between 1 and 336 (14 days), as in params.yaml."
  }
}

variable "monitor_min_predictions" {
  description = "Fewer predictions in a window are reported as too little traffic, never drift (monitor.min_predictions)."
  type        = number
  default     = 200

  validation {
    condition     = var.monitor_min_predictions >= 1
    error_message = "monitor_min_predictions must be at least 1."
  }
}

variable "monitor_psi_prediction_mix" {
  description = "PSI above which the prediction mix counts as drifted (monitor.psi_prediction_mix)."
  type        = number
  default     = 0.25
}

variable "monitor_psi_score" {
  description = "PSI above which the score distribution counts as drifted (monitor.psi_score)."
  type        = number
  default     = 0.25
}

variable "monitor_psi_length" {
  description = "PSI above which the text length distribution counts as drifted (monitor.psi_length)."
  type        = number
  default     = 0.25
}

variable "github_oidc_jwks_url" {
  description = "Where the stop-training function reads the keys that sign GitHub's OIDC tokens (the issuer's jwks_uri in https://token.actions.githubusercontent.com/.well-known/openid-configuration)."
  type        = string
  default     = "https://token.actions.githubusercontent.com/.well-known/jwks"

  # HTTPS, or a key server on the test machine's loopback (the local cloud's tests serve their own).
  validation {
    condition     = startswith(var.github_oidc_jwks_url, "https://") || startswith(var.github_oidc_jwks_url, "http://127.0.0.1:")
    error_message = "github_oidc_jwks_url must be an https:// URL (GitHub's: https://token.actions.githubusercontent.com/.well-known/jwks)."
  }
}
