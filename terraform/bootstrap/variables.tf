variable "project" {
  description = "Project name; the state bucket is <project>-tfstate-<account id>-<region> unless state_bucket_name is set."
  type        = string
  default     = "textclf"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project))
    error_message = "project must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the state bucket (and of the infrastructure)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-west-2."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket; null derives it from project, account and region."
  type        = string
  default     = null

  validation {
    condition = alltrue([for name in(var.state_bucket_name == null ? [] : [var.state_bucket_name]) :
      length(name) >= 3 && length(name) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", name)) &&
      !strcontains(name, "..") && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", name)) &&
      !startswith(name, "xn--") && !startswith(name, "sthree-") && !endswith(name, "-s3alias") && !endswith(name, "--ol-s3")
    ])
    error_message = "state_bucket_name breaks the S3 bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address."
  }
}

variable "enforce_tls" {
  description = "Deny plain-HTTP access in the bucket policy. Only the local cloud, which speaks plain HTTP and enforces bucket policies, sets it false."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for the state bucket."
  type        = map(string)
  default     = {}
}
