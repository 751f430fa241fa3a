# SageMaker: the training and serving images in ECR, and the offline rehearsal of a training job.
# docs/sagemaker.md explains the `sagemaker` train backend these serve.

.PHONY: images images-build images-push images-lint sagemaker-local test-sagemaker

DOCKER ?= docker
# Images are tagged with the commit they are built from (the ECR repositories' tags are immutable).
IMAGE_TAG ?= $(shell git rev-parse HEAD 2>/dev/null)
# Terraform's repository names: <project>-<environment>-training / -serving (terraform/ecr.tf).
PROJECT ?= textclf
ENVIRONMENT ?= prod
TRAINING_REPOSITORY ?= $(PROJECT)-$(ENVIRONMENT)-training
SERVING_REPOSITORY ?= $(PROJECT)-$(ENVIRONMENT)-serving
# The offline rehearsal: a Spot interruption once this step's checkpoint exists (a multiple of
# train.save_steps); empty for none.
INTERRUPT_AT ?= 40

images-lint: $(INSTALLED) ## Lint the Dockerfiles (hadolint) and the images' entry point scripts (shellcheck)
	$(BIN)/hadolint docker/train.Dockerfile docker/serve.Dockerfile
	$(BIN)/shellcheck docker/train docker/serve

images-build: ## Build the training (CUDA) and serving (CPU) images, tagged with the git commit
	@test -n "$(IMAGE_TAG)" || { echo "IMAGE_TAG is empty: run in a git checkout or set IMAGE_TAG" >&2; exit 2; }
	$(DOCKER) build --file docker/train.Dockerfile --tag $(TRAINING_REPOSITORY):$(IMAGE_TAG) .
	$(DOCKER) build --file docker/serve.Dockerfile --tag $(SERVING_REPOSITORY):$(IMAGE_TAG) .

images-push: $(INSTALLED) images-build ## Build both images and push them to ECR (a tag already there is kept)
	@registry=$$($(BIN)/python docker/ecr.py registry); \
	$(BIN)/python docker/ecr.py password | $(DOCKER) login --username AWS --password-stdin "$$registry"; \
	for repository in $(TRAINING_REPOSITORY) $(SERVING_REPOSITORY); do \
		uri="$$registry/$$repository:$(IMAGE_TAG)"; \
		status=0; $(BIN)/python docker/ecr.py exists "$$repository" "$(IMAGE_TAG)" || status=$$?; \
		if [[ $$status -eq 0 ]]; then echo "$$uri already in ECR"; \
		elif [[ $$status -eq 1 ]]; then $(DOCKER) tag "$$repository:$(IMAGE_TAG)" "$$uri" && $(DOCKER) push "$$uri"; \
		else exit $$status; fi; \
	done; \
	echo "TEXTCLF_TRAINING_IMAGE_URI=$$registry/$(TRAINING_REPOSITORY):$(IMAGE_TAG)"; \
	echo "TEXTCLF_SERVING_IMAGE_URI=$$registry/$(SERVING_REPOSITORY):$(IMAGE_TAG)"

images: images-push ## Build the training and serving images and push them to ECR (= images-push)

sagemaker-local: $(INSTALLED) data ## Rehearse a SageMaker training job offline: the image's entry point, a Spot interruption, resume
	$(BIN)/dvc repro prepare
	$(BIN)/python -m textclf.local_runner $(if $(INTERRUPT_AT),--interrupt-at-step $(INTERRUPT_AT))

test-sagemaker: $(INSTALLED) ## Run the SageMaker backend's tests (slow ones included) against the local cloud
	$(BIN)/pytest tests/sagemaker
