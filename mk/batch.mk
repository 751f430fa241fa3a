# Batch inference on the production model (docs/batch-and-api.md): a SageMaker Batch Transform job
# with the serving image, JSON lines in, each record joined to its prediction out.

.PHONY: batch-inputs batch-predict batch-stop batch-cancel test-batch

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
	$(BIN)/textclf batch-predict --input="$$INPUT" --output="$$OUTPUT" \
		--report="$$BATCH_REPORT" --job-file="$$BATCH_JOB_FILE"

batch-stop: $(INSTALLED) ## Stop the transform job the last batch-predict started (a cancelled run)
	$(BIN)/textclf batch-stop --job-file="$$BATCH_JOB_FILE"

# batch.yml's step for a cancelled run: batch-predict writes BATCH_JOB_FILE once SageMaker took the
# job, so without it no job was started (a cancel during setup or the input check), where
# batch-stop would refuse the missing file (it cannot tell that from a mistyped path).
batch-cancel: $(INSTALLED) ## A cancelled run: stop the job batch-predict started, if it started one
	@if [ -f "$$BATCH_JOB_FILE" ]; then $(BIN)/textclf batch-stop --job-file "$$BATCH_JOB_FILE"; \
		else echo "no transform job was started ($$BATCH_JOB_FILE is absent): nothing to stop"; fi

test-batch: $(INSTALLED) ## The batch client and the local cloud's transform jobs (tests/batch)
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/batch
