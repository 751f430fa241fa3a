#!/usr/bin/env bash
# Print the Terraform CLI config file to use (for TF_CLI_CONFIG_FILE), creating it when needed.
#
# With a local provider mirror (an offline machine or CI image), write one that installs
# hashicorp/aws from the mirror and everything else from the registry. Without one, print an
# existing TF_CLI_CONFIG_FILE or nothing: Terraform then uses the registry, as on a laptop.
#
# usage: export TF_CLI_CONFIG_FILE="$(terraform/scripts/tf-cli-config.sh [OUT_FILE])"
set -euo pipefail

out="${1:-.cache/terraformrc}"

# Generic places where provider mirrors live; the provider binary sits at
# <mirror>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*.
find_mirror() {
  local binary
  binary="$(find /usr/local/share /usr/share /opt "${HOME:-/nonexistent}/.terraform.d" -maxdepth 7 \
    -path '*/registry.terraform.io/hashicorp/aws/*' -name 'terraform-provider-aws_*' 2>/dev/null | sort | tail -n 1)"
  [[ -n "$binary" ]] || return 1
  # Unpacked layout: six levels below the mirror root; packed (.zip) layout: four.
  case "$binary" in
    *.zip) dirname "$(dirname "$(dirname "$(dirname "$binary")")")" ;;
    *) dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$binary")")")")")" ;;
  esac
}

if mirror="$(find_mirror)"; then
  mkdir -p "$(dirname "$out")"
  tmp="$(mktemp "${out}.XXXXXX")"
  cat >"$tmp" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
CONFIG
  mv "$tmp" "$out"
  echo "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
elif [[ -n "${TF_CLI_CONFIG_FILE:-}" && -f "${TF_CLI_CONFIG_FILE}" ]]; then
  echo "$TF_CLI_CONFIG_FILE"
fi
