# Serving: the inference server, the endpoint-redeploy Lambda's package, the serving benchmark.
# docs/serving.md explains each target.

.PHONY: serve lambda-zip bench-serve

SERVE_MODEL_DIR ?= models/model
SERVE_PORT ?= 8080
export SERVE_MODEL_DIR SERVE_PORT  # read as "$$NAME": the program checks them
LAMBDA_ZIP := build/redeploy.zip

serve: $(INSTALLED) ## Serve models/model on http://127.0.0.1:8080 (GET /ping, POST /invocations)
	$(BIN)/textclf serve --model-dir="$$SERVE_MODEL_DIR" --port="$$SERVE_PORT"

# Rebuilt only when the handler or the package's __init__.py change; same sources, same bytes.
$(LAMBDA_ZIP): src/textclf/__init__.py src/textclf/release/__init__.py src/textclf/release/redeploy.py | $(INSTALLED)
	$(BIN)/python -m textclf.lambda_zip textclf.release.redeploy $@

# The drift check's zip too (mk/monitoring.mk): a release turns the drift check on.
lambda-zip: $(LAMBDA_ZIP) $(DRIFT_ZIP) ## Build the Lambda packages: build/redeploy.zip and build/drift.zip (deterministic)

bench-serve: $(INSTALLED) ## Benchmark the ONNX Runtime server against the PyTorch one: cold start, latency, size, memory, accuracy
	$(BIN)/python bench/serve_bench.py --model-dir="$$SERVE_MODEL_DIR" --out build/bench/serve.json

# The serving image installs requirements-serve.lock: a change to it is a new image.
SERVING_IMAGE_INPUTS += requirements-serve.lock
