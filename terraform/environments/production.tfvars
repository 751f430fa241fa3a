# Production: pull requests train and publish here (its artifacts bucket holds models/<commit>/,
# write-once), and the release promotes to its endpoint after the `production` GitHub
# environment's required reviewers approved. `make infra-apply DEPLOY_ENV=production` (the default).
environment                = "prod"
github_release_environment = "production"
# Kept from the one-environment layout, so an existing deployment's state is found where it was.
state_key = "main/terraform.tfstate"
