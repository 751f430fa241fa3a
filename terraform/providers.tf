# The production provider block stays plain: credentials come from the environment (OIDC role in
# GitHub Actions, a profile on a laptop). Against the local cloud, `make` and the tests add a
# generated localcloud_override.tf next to this file (see scripts/localcloud-override.sh).
provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
