# Batch inference on the production model (docs/batch-and-api.md): a SageMaker Batch Transform job
# with the serving image, JSON lines in, each record joined to its prediction out.

.PHONY: batch-inputs batch-predict batch-stop test-batch

# Where batch-predict records the started job's name, so a cancelled run can stop it.
BATCH_JOB_FILE ?= build/batch/job
BATCH_REPORT ?= build/batch/report.json
# Read by the recipes as "$$NAME" (mk/ci.mk: values from outside are never recipe text).
export BATCH_JOB_FILE BATCH_REPORT

batch-inputs: $(INSTALLED) ## Fail unless INPUT and OUTPUT (environment) are strict s3://bucket/prefix values
	@$(BIN)/python -m textclf.s3uri check INPUT OUTPUT

batch-predict: $(INSTALLED) batch-inputs ## Batch Transform on the production model: make batch-predict INPUT=s3://... OUTPUT=s3://...
	@test -n "$${INPUT:-}" && test -n "$${OUTPUT:-}" || \
		{ echo "usage: INPUT=s3://bucket/prefix OUTPUT=s3://bucket/prefix make batch-predict" >&2; exit 2; }
	$(BIN)/textclf batch-predict --input "$$INPUT" --output "$$OUTPUT" \
		--report "$$BATCH_REPORT" --job-file "$$BATCH_JOB_FILE"

batch-stop: $(INSTALLED) ## Stop the transform job the last batch-predict started (a cancelled run)
	$(BIN)/textclf batch-stop --job-file "$$BATCH_JOB_FILE"

test-batch: $(INSTALLED) ## The batch client and the local cloud's transform jobs (tests/batch)
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/batch
