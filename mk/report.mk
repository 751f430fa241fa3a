# The evaluation gate and the pull-request report. docs/report.md explains each target.

.PHONY: report gate report-comment champion champion-record test-report

# The ref the report diffs against, and where production's metrics come from:
# auto (the artifacts bucket when AWS credentials are configured, else main), bucket or main.
REPORT_BASE ?= main
CHAMPION ?= auto
REPORT_MD := reports/report.md
# CML finds its comment by this hidden title, so every push edits the same comment.
REPORT_WATERMARK ?= textclf report
# The PR to comment on; empty: the PR of the commit CML runs for (the PR head on pull_request).
PR_NUMBER ?=

report: $(INSTALLED) ## Write reports/report.md (this workspace vs main and production) and reports/gate.json
	$(BIN)/textclf report --base "$(REPORT_BASE)" --champion "$(CHAMPION)" $(if $(COMMIT),--commit-sha "$(COMMIT)")

gate: $(INSTALLED) ## Judge metrics/eval.json on thresholds and against production; exits 1 on fail
	$(BIN)/textclf gate --base "$(REPORT_BASE)" --champion "$(CHAMPION)"

# --no-publish: nothing in the report is uploaded to CML's public asset host.
report-comment: ## Post reports/report.md on the PR, updating the same comment each push (needs cml)
	@test -s $(REPORT_MD) || { echo "$(REPORT_MD) is missing: run make report first" >&2; exit 2; }
	cml comment update --target="pr$(if $(PR_NUMBER),/$(PR_NUMBER))" \
		--watermark-title="$(REPORT_WATERMARK)" --no-publish $(REPORT_MD)

champion: $(INSTALLED) ## Print the champion the gate compares with, and where it came from
	$(BIN)/textclf champion show --base "$(REPORT_BASE)" --champion "$(CHAMPION)"

champion-record: $(INSTALLED) ## Record metrics/eval.json as production's (MODEL_VERSION=<released commit>)
	@test -n "$(MODEL_VERSION)" || { echo "set MODEL_VERSION=<git commit of the released model>" >&2; exit 2; }
	$(BIN)/textclf champion record --model-version "$(MODEL_VERSION)"

test-report: $(INSTALLED) ## Run the gate and report tests (real git, DVC and the local cloud)
	$(BIN)/pytest tests/review
