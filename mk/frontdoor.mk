# Beyond the endpoint (docs/batch-and-api.md): the API front door's proxy zip, rolling the ECS
# service to a released model, and the monthly cost comparison.

.PHONY: proxy-zip ecs-roll bench-cost

PROXY_ZIP := build/api-proxy.zip
BUILD_ECS_OUTPUTS := build/ecs-roll-outputs.json

# Rebuilt only when the handler or the package's __init__.py change; same sources, same bytes.
$(PROXY_ZIP): src/textclf/__init__.py src/textclf/frontdoor/__init__.py src/textclf/frontdoor/proxy.py | $(INSTALLED)
	$(BIN)/python -m textclf.lambda_zip textclf.frontdoor.proxy $@

proxy-zip: $(PROXY_ZIP) ## Build the API front door's proxy Lambda package, build/api-proxy.zip (deterministic)

# terraform/api.tf uploads it when enable_api is set: plan and apply build it first.
infra-plan infra-apply: proxy-zip

# After the service exists (enable_ecs and its network in the environment's tfvars, with a first
# model's ecs_model_data_url and ecs_model_sha256): a new task definition with COMMIT's model URL
# and published sha256 and this checkout's serving image, the service updated to it, followed to
# the end; tasks that never pass /ping are rolled back by ECS (exit 1). The release workflow runs it
# after production's bake when the repository variable ECS_ENABLED is true.
ecs-roll: $(INSTALLED) ## Roll the ECS service to a released model: make ecs-roll COMMIT=<sha> (after images-push)
	@test -n "$${COMMIT:-}" || { echo "usage: COMMIT=<released commit sha> make ecs-roll" >&2; exit 2; }
	@mkdir -p $(dir $(BUILD_ECS_OUTPUTS))
	$(TF) main output -json >$(BUILD_ECS_OUTPUTS)
	$(BIN)/python -m textclf.frontdoor.ecs_roll roll --commit="$$COMMIT" --outputs $(BUILD_ECS_OUTPUTS) \
		--image-tag="$$SERVING_IMAGE_TAG"
	$(BIN)/python -m textclf.frontdoor.ecs_roll wait --outputs $(BUILD_ECS_OUTPUTS)

bench-cost: $(INSTALLED) ## Monthly cost: Serverless endpoint vs ECS Fargate vs a real-time instance (params.yaml costs)
	$(BIN)/python bench/cost_compare.py --out build/bench/cost.json
