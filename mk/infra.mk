# Infrastructure: Terraform for the AWS account, and the local cloud the same Terraform applies to
# offline. Every target goes through terraform/scripts/tf.sh, which picks the local cloud when
# .localcloud/env exists (or AWS_ENDPOINT_URL is set) and the real account otherwise.

.PHONY: setup-cloud infra-unlock infra-apply-release-role local-cloud local-cloud-stop bootstrap infra-init infra-plan infra-apply infra-output \
	infra-destroy infra-fmt infra-test infra-checkov

TF := terraform/scripts/tf.sh
# Which environment the infra-* targets act on: terraform/environments/<DEPLOY_ENV>.tfvars, its
# own state key and Terraform data folder (docs/infra.md, "Environments").
DEPLOY_ENV ?= production
export DEPLOY_ENV
LOCALCLOUD_DIR := .localcloud
LOCALCLOUD_PORT ?= 0
export LOCALCLOUD_PORT
# The repository the OIDC roles trust and the retraining dispatch targets: GitHub Actions sets
# GITHUB_REPOSITORY; on a laptop it comes from the origin remote.
GITHUB_REPOSITORY ?= $(shell git remote get-url origin 2>/dev/null | sed -E 's#\.git$$##; s#^.*github\.com[:/]##')
export TF_VAR_github_repository ?= $(GITHUB_REPOSITORY)
# The redeploy Lambda builds each release's model on the serving image this checkout names
# (mk/sagemaker.mk: a hash of what the image is built from), unless TF_VAR_serving_image_tag says.
# SERVING_IMAGE_TAG is exported and read from the environment, never pasted into the recipe; none
# (not a git checkout) leaves Terraform's default. Terraform's validation checks the tag.
SERVING_IMAGE_VAR = { [[ -z "$${SERVING_IMAGE_TAG:-}" ]] || \
	export TF_VAR_serving_image_tag="$${TF_VAR_serving_image_tag:-$$SERVING_IMAGE_TAG}"; };
# Extra arguments for plan/apply, e.g. INFRA_ARGS='-var initial_model_data_url=s3://...'.
INFRA_ARGS ?=
# -auto-approve for applies and destroys: AUTO_APPROVE, a yes/no setting (Makefile, yes_no), decides
# when given; unset or empty, in CI and against the local cloud, while a person approves a real
# apply. CI means CI=true exactly, what GitHub Actions sets ("CI: Always set to true",
# https://docs.github.com/en/actions/reference/variables-reference): CI=false or CI=0, common on
# laptops, is no CI. $(value) reads these as text, never as make syntax.
ifeq ($(value CI),true)
ON_CI_RUNNER := 1
endif
APPROVE_FLAG = $(if $(if $(strip $(value AUTO_APPROVE)),$(call yes_no,AUTO_APPROVE),$(or $(ON_CI_RUNNER),$(wildcard \
	$(LOCALCLOUD_DIR)/env),$(strip $(value AWS_ENDPOINT_URL)))),-auto-approve)
# Checked when make starts, before a prerequisite runs: an AUTO_APPROVE that is neither yes nor no,
# and setup-cloud's DRY_RUN (1/true/yes/on plans only; unset, empty, 0/false/no/off is a real run).
ifneq ($(filter bootstrap infra-apply infra-apply-release-role infra-destroy,$(MAKECMDGOALS)),)
INFRA_APPROVE := $(APPROVE_FLAG)
endif
ifneq ($(filter setup-cloud,$(MAKECMDGOALS)),)
SETUP_DRY_RUN := $(call yes_no,DRY_RUN)
endif
# The shell reads DEPLOY_ENV (tf.sh checks it is an environment name before the file is used).
INFRA_PLAN := .cache/infra-$${DEPLOY_ENV}.tfplan
# checkov pins its own dependencies, so it gets a venv of its own, outside the clone so that CI
# runs and fresh clones on the same machine reuse it (like pre-commit's cache).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV ?= $(TOOLS_CACHE)/checkov-$(CHECKOV_VERSION)
CHECKOV_ARGS ?= --quiet --compact

# What `make local-cloud` leaves in LOCALCLOUD_DIR, so that local-cloud-stop removes files there only
# in a folder it made: LOCALCLOUD_DIR=. deleted the repository's terraform/ (R14B-35).
LOCALCLOUD_MARK := .textclf-local-cloud
# server.pid names the local cloud only while that process is `textclf local-cloud`: after a crash or
# a reboot the number may be another program's, which local-cloud-stop killed (R14B-34).
LOCALCLOUD_IS_RUNNING = ps -p "$$(cat $(LOCALCLOUD_DIR)/server.pid)" -o args= 2>/dev/null | grep -q -- 'textclf local-cloud'

# LOCALCLOUD_PORT is checked first, by name (the program's own refusal names its --port option);
# any other refusal is the program's `error:` line, which argparse prefixes with the program's name.
local-cloud: $(INSTALLED) ## Start the local cloud (moto on 127.0.0.1) in the background; writes .localcloud/env
	@[[ "$$LOCALCLOUD_PORT" =~ ^[0-9]{1,5}$$ ]] && (( 10#$$LOCALCLOUD_PORT <= 65535 )) || { echo "LOCALCLOUD_PORT is" \
		"'$$LOCALCLOUD_PORT': set it to a port number 0-65535 (0, the default, picks a free one), e.g." \
		"make local-cloud LOCALCLOUD_PORT=5000; nothing was started" >&2; exit 2; }
	@mkdir -p $(LOCALCLOUD_DIR) && touch $(LOCALCLOUD_DIR)/$(LOCALCLOUD_MARK)
	@if [[ -f $(LOCALCLOUD_DIR)/server.pid ]] && $(LOCALCLOUD_IS_RUNNING); then \
		echo "local cloud already running (pid $$(cat $(LOCALCLOUD_DIR)/server.pid))"; exit 0; fi; \
	if [[ -f $(LOCALCLOUD_DIR)/server.pid ]]; then echo "$(LOCALCLOUD_DIR)/server.pid named pid" \
		"$$(cat $(LOCALCLOUD_DIR)/server.pid), which is not the local cloud (it stopped earlier): starting it"; fi; \
	rm -f $(LOCALCLOUD_DIR)/env; \
	nohup $(BIN)/textclf local-cloud --port="$$LOCALCLOUD_PORT" --env-file $(LOCALCLOUD_DIR)/env \
		>$(LOCALCLOUD_DIR)/server.log 2>&1 & echo $$! >$(LOCALCLOUD_DIR)/server.pid; \
	pid="$$(cat $(LOCALCLOUD_DIR)/server.pid)"; \
	for _ in $$(seq 100); do [[ -f $(LOCALCLOUD_DIR)/env ]] && break; kill -0 "$$pid" 2>/dev/null || break; \
		sleep 0.2; done; \
	if [[ ! -f $(LOCALCLOUD_DIR)/env ]]; then \
		kill "$$pid" 2>/dev/null || true; rm -f $(LOCALCLOUD_DIR)/server.pid; \
		echo "the local cloud did not start: $$(grep -m1 -E '(^|: )error: ' $(LOCALCLOUD_DIR)/server.log \
			|| echo "see $(LOCALCLOUD_DIR)/server.log")" >&2; exit 1; fi; \
	echo "local cloud running (pid $$(cat $(LOCALCLOUD_DIR)/server.pid)); make infra-* targets now use it;" \
		"'source $(LOCALCLOUD_DIR)/env' points boto3, DVC and the AWS CLI at it"

local-cloud-stop: ## Stop the local cloud and forget the Terraform state that lived in it
	@if [[ "$(LOCALCLOUD_DIR)" != .localcloud && -d $(LOCALCLOUD_DIR) && ! -f $(LOCALCLOUD_DIR)/$(LOCALCLOUD_MARK) ]]; then \
		echo "LOCALCLOUD_DIR=$(LOCALCLOUD_DIR) is no folder \`make local-cloud\` made (no $(LOCALCLOUD_MARK) in it):" \
			"nothing was stopped or removed (its terraform/ and env are not the local cloud's)" >&2; exit 2; fi
	@if [[ -f $(LOCALCLOUD_DIR)/server.pid ]]; then \
		pid="$$(cat $(LOCALCLOUD_DIR)/server.pid)"; \
		if ! $(LOCALCLOUD_IS_RUNNING); then \
			echo "$(LOCALCLOUD_DIR)/server.pid named pid $$pid, which is not the local cloud: nothing was killed"; \
		elif kill "$$pid" 2>/dev/null; then \
			for _ in $$(seq 50); do kill -0 "$$pid" 2>/dev/null || break; sleep 0.2; done; \
			echo "stopped the local cloud (pid $$pid)"; fi; fi
	@rm -rf $(LOCALCLOUD_DIR)/server.pid $(LOCALCLOUD_DIR)/env $(LOCALCLOUD_DIR)/terraform \
		$(LOCALCLOUD_DIR)/bootstrap.tfstate* terraform/backend.localcloud.hcl
	@terraform/scripts/localcloud-override.sh terraform --remove
	@terraform/scripts/localcloud-override.sh terraform/bootstrap --remove

bootstrap: ## Create the Terraform state bucket (once per account) and write terraform/backend.hcl
	$(TF) bootstrap init -input=false
	$(TF) bootstrap apply -input=false $(APPROVE_FLAG)
	$(TF) write-backend

# One command from a new account and repository to the first pull request (docs/workflows.md,
# "Setting up a repository"): bootstrap, both environments, GitHub settings and variables, the DVC
# remote and first push, the first images, then a read-back. Idempotent; DRY_RUN=1 plans only
# (a yes/no setting: DRY_RUN=TRUE plans, DRY_RUN=maybe is refused).
# Against the local cloud when .localcloud/env exists, as the infra-* targets.
setup-cloud: $(INSTALLED) ## A new account and repository, ready for the first PR: make setup-cloud REPO=owner/name [REVIEWERS=a,b] [DRY_RUN=1]
	@if [[ -z "$${AWS_ENDPOINT_URL:-}" && -f $(LOCALCLOUD_DIR)/env ]]; then set -a; source $(LOCALCLOUD_DIR)/env; set +a; fi; \
	REPO="$${REPO:-}" REVIEWERS="$${REVIEWERS:-}" GITHUB_REPOSITORY="$${REPO:-}" TF_VAR_github_repository="$${REPO:-}" \
		$(BIN)/python -m textclf.release.setup_cloud $(if $(call yes_no,DRY_RUN),--dry-run)

# Plain make check (not a file target): the variable has no default, so say where it comes from.
.PHONY: infra-repository
infra-repository:
	@if [[ ! "$${TF_VAR_github_repository:-}" =~ ^[^/]+/[^/]+$$ ]]; then \
		echo "GITHUB_REPOSITORY is '$${TF_VAR_github_repository:-}': set it to owner/name (GitHub Actions sets it;" \
			"locally it comes from the origin remote), e.g. make infra-plan GITHUB_REPOSITORY=acme/text-classifier" >&2; \
		exit 2; fi

infra-init: ## Initialise terraform/ with the S3 backend written by make bootstrap
	$(TF) main init -input=false

infra-plan: infra-repository infra-init lambda-zip ## Plan DEPLOY_ENV's infrastructure (saved to .cache/infra-<env>.tfplan)
	@mkdir -p $(dir $(INFRA_PLAN))
	$(SERVING_IMAGE_VAR) $(TF) main plan -input=false -out=$(abspath $(INFRA_PLAN)) $(INFRA_ARGS)

infra-apply: infra-repository infra-init lambda-zip ## Apply the infrastructure (prints the outputs)
	$(SERVING_IMAGE_VAR) $(TF) main apply -input=false $(APPROVE_FLAG) $(INFRA_ARGS)

# A new account's first apply can stop at the release, promote and PR roles (and what their
# policies name: the key, buckets, lock table, OIDC provider, boundary): no project role may change
# those three (terraform/boundary.tf), so they are the administrator's; the release job then
# creates the rest with its own limited rights (tests/infra/test_localcloud_apply.py does that).
infra-apply-release-role: infra-repository infra-init lambda-zip ## First apply on a new account: DEPLOY_ENV's release, promote and PR roles; the release job applies the rest
	$(SERVING_IMAGE_VAR) $(TF) main apply -input=false $(APPROVE_FLAG) -target='aws_iam_role_policy.this["release"]' \
		-target='aws_iam_role_policy.this["promote"]' -target='aws_iam_role_policy.this["pr"]' $(INFRA_ARGS)

# The way out of a lock a killed apply left (docs/workflows.md, "When something fails out of
# sight"): the lock's ID, as Terraform's "Error acquiring the state lock" printed it.
infra-unlock: infra-init ## Remove DEPLOY_ENV's state lock left by a killed apply: LOCK_ID=<the ID Terraform printed>
	@[[ "$${LOCK_ID:-}" =~ ^[0-9a-f-]{36}$$ ]] || { echo "set LOCK_ID to the lock's ID (a UUID) from Terraform's 'Error acquiring the state lock'" >&2; exit 2; }
	$(TF) main force-unlock -force "$$LOCK_ID"

infra-output: ## Print the outputs (bucket names, role ARNs, repositories, endpoint) as JSON
	@$(TF) main output -json

infra-destroy: infra-repository infra-init ## Destroy the infrastructure (buckets must be empty; the state bucket stays)
	$(TF) main destroy -input=false $(APPROVE_FLAG) $(INFRA_ARGS)

infra-fmt: ## Format the Terraform files
	$(TF) main fmt -recursive

# Unit tests need a Lambda zip to upload (to a mock); without make lambda-zip's, a tiny real one.
.cache/infra-test/redeploy.zip:
	@mkdir -p $(@D)/src/textclf/release
	@touch $(@D)/src/textclf/__init__.py $(@D)/src/textclf/release/__init__.py
	@printf 'def handler(event, context):\n    return {"built_by": "infra-test"}\n' >$(@D)/src/textclf/release/redeploy.py
	@cd $(@D)/src && python3 -m zipfile -c ../redeploy.zip textclf

INFRA_TEST_ZIP = $(abspath $(or $(wildcard build/redeploy.zip),.cache/infra-test/redeploy.zip))

infra-test: .cache/infra-test/redeploy.zip ## Terraform fmt check, validate and unit tests (mock provider, offline)
	$(TF) main fmt -check -recursive -diff
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data) $(TF) main init -backend=false -input=false
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data) $(TF) main validate
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data) $(TF) main test -var=lambda_zip_path=$(INFRA_TEST_ZIP)
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data-bootstrap) $(TF) bootstrap init -backend=false -input=false
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data-bootstrap) $(TF) bootstrap validate
	TF_DATA_DIR=$(abspath .cache/infra-test/tf-data-bootstrap) $(TF) bootstrap test

TOOL_TARGETS += infra-checkov $(CHECKOV_VENV)/bin/checkov
$(CHECKOV_VENV)/bin/checkov:
	$(TOOLS_CACHE_CHECK)$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

infra-checkov: $(CHECKOV_VENV)/bin/checkov ## Scan terraform/ with checkov, offline (own venv; skips are commented on their resources)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $(CHECKOV_ARGS)

github-settings: $(INSTALLED) ## Apply and verify the GitHub settings releases rely on (REPO=owner/name REVIEWERS=a,b; needs gh with admin rights)
	$(BIN)/textclf github-settings --repository="$${REPO:-}" --reviewers="$${REVIEWERS:-}"

# The figures also go to build/staging-summary.md: the production pull request's body quotes them.
staging-check: $(INSTALLED) ## Replay COMMIT's published test split through the staging endpoint, latency p95, a burst (docs/staging.md)
	@mkdir -p build
	$(BIN)/textclf staging-check $${COMMIT:+--commit="$$COMMIT"} | tee build/staging-summary.md

bake: $(INSTALLED) ## Watch production's alarms (TEXTCLF_BAKE_ALARMS) for the bake window; an alarm rolls back to PREVIOUS_COMMIT
	$(BIN)/textclf bake $${TEXTCLF_BAKE_ALARMS:+--alarms="$$TEXTCLF_BAKE_ALARMS"}

production-commit: $(INSTALLED) ## Print the commit production serves (the champion record; empty before the first release)
	@$(BIN)/textclf production-commit
