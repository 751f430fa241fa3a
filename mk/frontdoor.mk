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

# The service must already exist with its network (INFRA_ARGS='-var enable_ecs=true -var ecs_vpc_id=...'
# or a tfvars file). The task definition gets the commit's model URL and published sha256; the tasks
# verify it at start; a roll whose tasks never become healthy is rolled back by ECS (exit 1).
ecs-roll: $(INSTALLED) ## Roll the ECS service to a released model: make ecs-roll COMMIT=<sha> (INFRA_ARGS with the module's variables)
	@test -n "$(COMMIT)" || { echo "usage: make ecs-roll COMMIT=<released commit sha>" >&2; exit 2; }
	vars="$$($(BIN)/python -m textclf.frontdoor.ecs_roll vars --commit "$(COMMIT)")" && \
		$(MAKE) --no-print-directory infra-apply INFRA_ARGS="$(INFRA_ARGS) $$vars"
	$(TF) main output -json >$(BUILD_ECS_OUTPUTS)
	$(BIN)/python -m textclf.frontdoor.ecs_roll wait --outputs $(BUILD_ECS_OUTPUTS)

bench-cost: $(INSTALLED) ## Monthly cost: Serverless endpoint vs ECS Fargate vs a real-time instance (params.yaml costs)
	$(BIN)/python bench/cost_compare.py --out build/bench/cost.json
