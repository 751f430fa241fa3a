# Watching the live model (docs/monitoring.md): the drift check's Lambda package, which the
# release's `make lambda-zip infra-apply` builds and hands to Terraform, and the drift issue.

.PHONY: drift-zip drift-issue

DRIFT_ZIP := build/drift.zip
# on: the release builds the drift check's zip and Terraform creates the check (terraform/drift.tf);
# off: Terraform leaves it out (or removes it). A yes/no setting (Makefile, yes_no): on, true, yes or
# 1 is on; off, false, no, 0 or empty is off (any case); any other value stops make, naming it.
DRIFT_CHECK ?= on

# Rebuilt only when the check or the package's __init__.py change; same sources, same bytes.
$(DRIFT_ZIP): src/textclf/__init__.py src/textclf/monitoring/__init__.py src/textclf/monitoring/drift.py | $(INSTALLED)
	$(BIN)/python -m textclf.lambda_zip textclf.monitoring.drift $@

drift-zip: $(DRIFT_ZIP) ## Build the drift check's Lambda package, build/drift.zip (deterministic)

ifneq ($(call yes_no,DRIFT_CHECK),)
# Relative to terraform/, like lambda_zip_path: the state does not depend on the checkout's folder.
export TF_VAR_drift_lambda_zip_path ?= ../$(DRIFT_ZIP)
endif

# The drift workflow's one step: DRIFT_PAYLOAD (the dispatch's client_payload), GITHUB_REPOSITORY
# and GITHUB_TOKEN come from the job. Standard library only: no install, no virtualenv.
drift-issue: ## Open or update the endpoint's drift issue from a model-drift dispatch payload (CI)
	PYTHONPATH=src python3 -m textclf.monitoring.issue
