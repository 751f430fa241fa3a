# Staging: its own endpoint, redeploy Lambda, alarms and champion record, deploying the models
# production's PRs published (same bytes, digest checked again). The release deploys and checks
# it before production (.github/workflows/release.yml). `make infra-apply DEPLOY_ENV=staging`,
# after production's first apply (it reads production's bucket, key and GitHub OIDC provider).
environment                 = "staging"
github_release_environment  = "staging"
state_key                   = "staging/terraform.tfstate"
model_source_environment    = "prod"
github_oidc_provider_exists = true
# The account-per-environment layout (docs/infra.md): instead of model_source_environment, name the
# production account's bucket and key, and list this account's serving, redeploy and promote roles
# in production's model_reader_role_arns.
# model_source_bucket      = "textclf-prod-artifacts-111111111111"
# model_source_kms_key_arn = "arn:aws:kms:us-east-1:111111111111:key/..."
