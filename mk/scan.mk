# The policy scanners over what Terraform renders. checkov on terraform/'s source (make
# infra-checkov) cannot read the IAM documents built with jsonencode and for_each over locals, so
# these read the JSON of a saved plan, where every document is a concrete value: checkov's plan
# framework, and cloudsplaining over each role's policies. A plan made after an apply has no
# unknown values; tests/iam/test_rendered_policies.py makes one against the local cloud.
#
#   make infra-plan && make infra-plan-json      # .cache/infra-plan.json from the saved plan
#   make infra-checkov-plan infra-cloudsplaining # scan it (PLAN_JSON=... for another file)

.PHONY: infra-plan-json infra-checkov-plan infra-cloudsplaining

PLAN_JSON ?= .cache/infra-plan.json
export PLAN_JSON  # read as "$$PLAN_JSON" in the recipes
CLOUDSPLAINING_VERSION := 0.9.1
CLOUDSPLAINING_VENV ?= $(TOOLS_CACHE)/cloudsplaining-$(CLOUDSPLAINING_VERSION)
CHECKOV_PLAN_ARGS ?= --quiet --compact
# What cloudsplaining's findings must match: each one with its reason (the test reads it too).
IAM_FINDINGS := tests/infra/iam-findings.yaml

TOOL_TARGETS += infra-checkov-plan infra-cloudsplaining $(CLOUDSPLAINING_VENV)/bin/cloudsplaining
$(CLOUDSPLAINING_VENV)/bin/cloudsplaining:
	$(TOOLS_CACHE_CHECK)$(PYTHON) -m venv $(CLOUDSPLAINING_VENV)
	$(CLOUDSPLAINING_VENV)/bin/pip install --quiet cloudsplaining==$(CLOUDSPLAINING_VERSION)

infra-plan-json: ## Write $(PLAN_JSON) from the plan `make infra-plan` saved (terraform show -json)
	@mkdir -p "$$(dirname -- "$$PLAN_JSON")"
	$(TF) main show -json $(abspath $(INFRA_PLAN)) >"$$PLAN_JSON"

# A plan carries no `#checkov:skip` comments (checkov's plan enrichment did not apply them here):
# tests/iam/test_rendered_policies.py applies terraform/'s skips, with their reasons, to the result.
infra-checkov-plan: $(CHECKOV_VENV)/bin/checkov ## checkov over the rendered plan $(PLAN_JSON) (fails on terraform/'s commented skips too)
	$(CHECKOV_VENV)/bin/checkov --framework terraform_plan --file "$$PLAN_JSON" --skip-download $(CHECKOV_PLAN_ARGS)

infra-cloudsplaining: $(CLOUDSPLAINING_VENV)/bin/cloudsplaining ## cloudsplaining over every role's policies in $(PLAN_JSON) (JSON on stdout)
	$(CLOUDSPLAINING_VENV)/bin/python tools/policy_scan.py "$$PLAN_JSON"
