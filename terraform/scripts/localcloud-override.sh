#!/usr/bin/env bash
# Write localcloud_override.tf into a Terraform folder so that its AWS provider works against the
# local cloud (moto on 127.0.0.1, reached through AWS_ENDPOINT_URL). Terraform merges *_override.tf
# files into the provider block; the committed provider block stays the production one, and the
# file is git-ignored. `--remove` deletes it again (make does so before any non-local run).
#
# usage: localcloud-override.sh DIR [--remove]
set -euo pipefail

dir="${1:?usage: localcloud-override.sh DIR [--remove]}"
file="$dir/localcloud_override.tf"

if [[ "${2:-}" == "--remove" ]]; then
  rm -f "$file"
  exit 0
fi

cat >"$file.tmp" <<'HCL'
# Generated for the local cloud by terraform/scripts/localcloud-override.sh; never committed.
provider "aws" {
  # Dummy credentials and no instance metadata: do not ask STS or IMDS about them.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  # Bucket names in the path: the local cloud has no per-bucket DNS names.
  s3_use_path_style = true
  # A few retries: the local cloud's HTTP server can drop a kept-alive connection under load (seen
  # as "use of closed network connection"); an API it lacks still fails after these few, not minutes.
  max_retries = 3
}
HCL
mv "$file.tmp" "$file"
