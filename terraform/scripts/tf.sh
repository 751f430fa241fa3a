#!/usr/bin/env bash
# Run Terraform on the main configuration or on the bootstrap one, against AWS or the local cloud.
# The make targets and the tests call this one script, so they all set Terraform up the same way.
#
# usage: terraform/scripts/tf.sh main|bootstrap TERRAFORM_ARGS...
#        terraform/scripts/tf.sh write-backend     (after bootstrap apply: write the backend file)
#
# Local cloud mode: AWS_ENDPOINT_URL is set, or .localcloud/env exists (`make local-cloud`). Then
# - the provider gets localcloud_override.tf (skip account checks, path-style S3, one retry),
# - TF_DATA_DIR and the bootstrap state live under .localcloud/, apart from the real account's,
# - the backend file is terraform/backend.localcloud.hcl instead of terraform/backend.hcl,
# - bucket policies do not deny plain HTTP (the local cloud speaks HTTP; TF_VAR_enforce_tls).
# Environment: TF_ROOT_DIR (default: this repository's terraform/), LOCALCLOUD_DIR (.localcloud),
# DEPLOY_ENV (production or staging: terraform/environments/<name>.tfvars; its state_key is the
# backend key, and each environment has its own TF_DATA_DIR so a command never reads another's state).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo/terraform/scripts"
tf_root="${TF_ROOT_DIR:-$repo/terraform}"
localcloud_dir="${LOCALCLOUD_DIR:-$repo/.localcloud}"

die() {
  echo "tf.sh: $*" >&2
  exit 2
}

[[ $# -ge 1 ]] || die "usage: tf.sh main|bootstrap TERRAFORM_ARGS... | tf.sh write-backend"
target="$1"
shift

if [[ -z "${AWS_ENDPOINT_URL:-}" && -f "$localcloud_dir/env" ]]; then
  set -a
  # shellcheck disable=SC1091
  source "$localcloud_dir/env"
  set +a
fi
local_cloud=false
if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
  local_cloud=true
  # A stale .localcloud/env (the server died) would otherwise end in connection errors much later.
  if [[ "$AWS_ENDPOINT_URL" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+) ]] &&
    ! (exec 3<>"/dev/tcp/127.0.0.1/${BASH_REMATCH[2]}") 2>/dev/null; then
    die "nothing listens at $AWS_ENDPOINT_URL (the local cloud): run \`make local-cloud\`, or \`make local-cloud-stop\` to use the AWS account"
  fi
fi

cli_config="$("$scripts/tf-cli-config.sh" "$repo/.cache/terraformrc")"
if [[ -n "$cli_config" ]]; then
  export TF_CLI_CONFIG_FILE="$cli_config"
fi

if $local_cloud; then
  backend_file="$tf_root/backend.localcloud.hcl"
  export TF_VAR_enforce_tls=false
else
  backend_file="$tf_root/backend.hcl"
fi

case "$target" in
  main) dir="$tf_root" ;;
  bootstrap) dir="$tf_root/bootstrap" ;;
  write-backend)
    bucket="$("$0" bootstrap output -raw state_bucket)"
    region="$("$0" bootstrap output -raw region)"
    tmp="$(mktemp "$backend_file.XXXXXX")"
    {
      echo "# Written by \`make bootstrap\`: the S3 backend of terraform/ (see versions.tf)."
      echo "bucket       = \"$bucket\""
      echo "key          = \"main/terraform.tfstate\""
      echo "region       = \"$region\""
      echo "use_lockfile = true # S3-native state locking: no DynamoDB table"
      if $local_cloud; then
        echo "endpoints                   = { s3 = \"$AWS_ENDPOINT_URL\" }"
        echo "use_path_style              = true"
        echo "skip_credentials_validation = true"
        echo "skip_requesting_account_id  = true"
        echo "skip_metadata_api_check     = true"
      fi
    } >"$tmp"
    mv "$tmp" "$backend_file"
    echo "wrote $backend_file (state bucket $bucket)"
    exit 0
    ;;
  *) die "unknown configuration '$target': use main, bootstrap or write-backend" ;;
esac

args=("$@")
deploy_env="${DEPLOY_ENV:-production}"
data_dir_name="$target"
if [[ "$target" == "main" ]]; then
  [[ "$deploy_env" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "DEPLOY_ENV '$deploy_env' is not an environment name"
  var_file="$tf_root/environments/$deploy_env.tfvars"
  [[ -f "$var_file" ]] || die "no $var_file: DEPLOY_ENV names a file of terraform/environments/ (production, staging)"
  state_key="$(sed -nE 's/^state_key[[:space:]]*=[[:space:]]*"([^"]+)".*$/\1/p' "$var_file")"
  [[ -n "$state_key" ]] || die "$var_file sets no state_key (the environment's key in the state bucket)"
  data_dir_name="main-$deploy_env"
fi
if $local_cloud; then
  "$scripts/localcloud-override.sh" "$dir"
  export TF_DATA_DIR="${TF_DATA_DIR:-$localcloud_dir/terraform/$data_dir_name}"
else
  "$scripts/localcloud-override.sh" "$dir" --remove
  [[ "$target" != "main" ]] || export TF_DATA_DIR="${TF_DATA_DIR:-$tf_root/.terraform/$deploy_env}"
fi

# The environment's variables for the commands that evaluate the configuration.
if [[ "$target" == "main" ]]; then
  case "${args[0]:-}" in
    plan | apply | destroy | refresh | import | console) args=("${args[0]}" "-var-file=$var_file" "${args[@]:1}") ;;
  esac
fi

# `init` never rewrites the committed .terraform.lock.hcl: a provider whose hash the lock does not
# hold fails here instead of being trusted on first use (`terraform providers lock` updates it).
if [[ "${args[0]:-}" == "init" && ! " ${args[*]} " =~ " -lockfile=" ]]; then
  args+=("-lockfile=readonly")
fi

# `init` gets the backend settings of the current mode (unless it skips the backend).
if [[ "${args[0]:-}" == "init" && ! " ${args[*]} " =~ " -backend=false " ]]; then
  if [[ "$target" == "main" ]]; then
    [[ -f "$backend_file" ]] || die "$backend_file does not exist: run \`make bootstrap\` first (it creates the state bucket and writes this file)."
    args+=("-backend-config=$backend_file" "-backend-config=key=$state_key" "-reconfigure")
  elif [[ "$target" == "bootstrap" ]] && $local_cloud; then
    mkdir -p "$localcloud_dir"
    args+=("-backend-config=path=$localcloud_dir/bootstrap.tfstate" "-reconfigure")
  fi
fi

exec terraform -chdir="$dir" "${args[@]}"
