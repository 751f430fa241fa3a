# SageMaker: the training and serving images in ECR, and the offline rehearsal of a training job.
# docs/sagemaker.md explains the `sagemaker` train backend these serve.

.PHONY: images images-build images-push images-lint image-tags training-image-uri sagemaker-local \
	test-sagemaker

DOCKER ?= docker
# Each image is tagged with a hash of the committed files it is built from, so any checkout can
# name its images without asking anyone, a release whose commit left them alone reuses the images
# in ECR (its tags are immutable), and a change to the code in them gives new tags.
IMAGE_REF ?= HEAD
# A value from outside in a $(shell ...) (which, in make 4.3, sees neither exported nor command-line
# variables): single-quoted for the shell and its text never expanded by make ($(value)).
shell_quoted = '$(subst ','\'',$(value $(1)))'
# README.md is not an input: the package's metadata does not read it (pyproject.toml), so a
# documentation-only merge keeps the images, and the PRs that train on main's image find it.
TRAINING_IMAGE_INPUTS := docker/train.Dockerfile docker/train docker/hashed_requirements.py pyproject.toml \
	requirements.lock src
# The serving image also carries params.yaml: the server's settings (`serve` section) come from it.
SERVING_IMAGE_INPUTS := docker/serve.Dockerfile docker/serve docker/build-backend.lock pyproject.toml \
	requirements.lock src params.yaml
image_tag = $(shell ref=$(call shell_quoted,IMAGE_REF); \
	sha="$$(git rev-parse --quiet --verify "$$ref^{commit}" 2>/dev/null)" && \
	git ls-tree -r "$$sha" -- $(1) | git hash-object --stdin | cut -c1-20)
# Computed once per make run, the first time a recipe starts (every recipe gets them exported, and
# reads them as "$$NAME"); a value given from outside is passed on as it is.
TRAINING_IMAGE_TAG ?= $(eval TRAINING_IMAGE_TAG := $(call image_tag,$(TRAINING_IMAGE_INPUTS)))$(TRAINING_IMAGE_TAG)
SERVING_IMAGE_TAG ?= $(eval SERVING_IMAGE_TAG := $(call image_tag,$(SERVING_IMAGE_INPUTS)))$(SERVING_IMAGE_TAG)
export IMAGE_REF TRAINING_IMAGE_TAG SERVING_IMAGE_TAG
# Exported, the tags would reach every program a recipe starts, and a make that program runs in
# another checkout (the tests' and the rehearsal's) would take this checkout's tags as given:
# recipes that run such programs start them without the three.
WITHOUT_IMAGE_TAGS := env -u IMAGE_REF -u TRAINING_IMAGE_TAG -u SERVING_IMAGE_TAG
# Production's training repository, by Terraform's naming (<project>-<environment>-training,
# terraform/ecr.tf): the pr workflow's role cannot read Terraform's state, so it names it.
# PROJECT (default textclf) or the whole TRAINING_REPOSITORY, from the environment or make's
# command line; the recipe checks the name against ECR's rule.
export PROJECT TRAINING_REPOSITORY
# ECR's repositoryName pattern, 2 to 256 characters (docs.aws.amazon.com/AmazonECR/latest/APIReference/
# API_CreateRepository.html).
ECR_REPOSITORY_NAME := ^([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*$$
# Images are built for the hosts that run them (SageMaker and Fargate: x86_64), whatever the
# machine that builds them; ECR tags are immutable, so a wrong architecture could not be replaced.
IMAGE_PLATFORM := linux/amd64
# The offline rehearsal: a Spot interruption once this step's checkpoint exists (a multiple of
# train.save_steps); empty for none.
INTERRUPT_AT ?= 40
export INTERRUPT_AT

images-lint: $(INSTALLED) ## Lint the Dockerfiles (hadolint) and the images' entry point scripts (shellcheck)
	$(BIN)/hadolint docker/train.Dockerfile docker/serve.Dockerfile
	$(BIN)/shellcheck docker/train docker/serve

# The tags are computed from git: IMAGE_REF must name a commit of this checkout.
.PHONY: image-ref
image-ref:
	@test -n "$$TRAINING_IMAGE_TAG" || { echo "IMAGE_REF '$$IMAGE_REF' is not a commit of this git checkout" >&2; exit 2; }

image-tags: image-ref ## Print the two images' tags for IMAGE_REF (default HEAD): hashes of the files they are built from
	@echo "TRAINING_IMAGE_TAG=$$TRAINING_IMAGE_TAG"
	@echo "SERVING_IMAGE_TAG=$$SERVING_IMAGE_TAG"

training-image-uri: $(INSTALLED) image-ref ## Print the training image's ECR URI for IMAGE_REF (the pr workflow: IMAGE_REF=main)
	@repository="$${TRAINING_REPOSITORY:-$${PROJECT:-textclf}-prod-training}"; \
	[[ "$$repository" =~ $(ECR_REPOSITORY_NAME) && $${#repository} -ge 2 && $${#repository} -le 256 ]] || { echo "TRAINING_REPOSITORY / PROJECT: '$$repository'" \
		"is not an ECR repository name (lowercase letters, digits, . _ - /, at most 256)" >&2; exit 2; }; \
	registry="$$($(BIN)/python docker/ecr.py registry)"; echo "$$registry/$$repository:$$TRAINING_IMAGE_TAG"

# The tags name committed files: building from a working tree that differs would give an image
# that does not match its tag, and the immutable tag could never be corrected.
.PHONY: images-committed
images-committed: image-ref
	@if [[ "$$(git rev-parse "$$IMAGE_REF^{commit}")" != "$$(git rev-parse HEAD)" ]]; then \
		echo "images are built from the checkout: check out $$IMAGE_REF first" >&2; exit 2; fi
	@if [[ -n "$$(git status --porcelain -- $(sort $(TRAINING_IMAGE_INPUTS) $(SERVING_IMAGE_INPUTS)))" ]]; then \
		echo "the images' inputs have uncommitted changes (git status): commit them first, the tags name committed files" >&2; \
		git status --short -- $(sort $(TRAINING_IMAGE_INPUTS) $(SERVING_IMAGE_INPUTS)) >&2; exit 2; fi

images-build: images-committed ## Build the training (CUDA) and serving (CPU) images, tagged with their inputs' hash
	$(DOCKER) build --platform $(IMAGE_PLATFORM) --file docker/train.Dockerfile --tag "textclf-training:$$TRAINING_IMAGE_TAG" .
	$(DOCKER) build --platform $(IMAGE_PLATFORM) --file docker/serve.Dockerfile --tag "textclf-serving:$$SERVING_IMAGE_TAG" .

# Pushes to DEPLOY_ENV's own repositories, read from its Terraform outputs (the job applied it), so
# staging's release role pushes to staging's and production's to production's. Asks ECR first and
# builds only what it lacks: a release that changed neither image builds nothing.
images-push: $(INSTALLED) images-committed ## Build and push to DEPLOY_ENV's ECR each image whose tag it lacks
	@outputs="$$($(TF) main output -json)" && \
	training="$$($(BIN)/python docker/ecr.py output training_repository_url <<<"$$outputs")" && \
	serving="$$($(BIN)/python docker/ecr.py output serving_repository_url <<<"$$outputs")" || \
		{ echo "no ECR repositories in DEPLOY_ENV=$$DEPLOY_ENV's Terraform outputs: run make infra-apply first" >&2; exit 2; }; \
	logged_in=false; \
	for image in "train $$training $$TRAINING_IMAGE_TAG" "serve $$serving $$SERVING_IMAGE_TAG"; do \
		read -r kind repository_url tag <<<"$$image"; \
		registry="$${repository_url%%/*}"; repository="$${repository_url#*/}"; uri="$$repository_url:$$tag"; \
		status=0; $(BIN)/python docker/ecr.py exists "$$repository" "$$tag" || status=$$?; \
		if [[ $$status -eq 0 ]]; then echo "$$uri already in ECR"; continue; \
		elif [[ $$status -ne 1 ]]; then exit $$status; fi; \
		if [[ $$logged_in == false ]]; then \
			$(BIN)/python docker/ecr.py password | $(DOCKER) login --username AWS --password-stdin "$$registry" || exit 1; \
			logged_in=true; fi; \
		$(DOCKER) build --platform $(IMAGE_PLATFORM) --file "docker/$$kind.Dockerfile" --tag "$$uri" . && \
			$(DOCKER) push "$$uri" || exit 1; \
	done; \
	echo "TEXTCLF_TRAINING_IMAGE_URI=$$training:$$TRAINING_IMAGE_TAG"; \
	echo "TEXTCLF_SERVING_IMAGE_URI=$$serving:$$SERVING_IMAGE_TAG"

images: images-push ## Build the training and serving images and push them to ECR (= images-push)

sagemaker-local: $(INSTALLED) data ## Rehearse a SageMaker training job offline: the image's entry point, a Spot interruption, resume
	$(BIN)/dvc repro prepare
	$(BIN)/python -m textclf.training.local_runner $${INTERRUPT_AT:+--interrupt-at-step="$$INTERRUPT_AT"}

test-sagemaker: $(INSTALLED) ## Run the SageMaker backend's tests (slow ones included) against the local cloud
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/training
