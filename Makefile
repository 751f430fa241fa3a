# Every step a workflow runs is a target here, so CI and a laptop run the same commands.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Offline by default: the default model comes from an installed package, never from the hub.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
# dvc.yaml's stage commands call `textclf`, so the project's venv comes first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Progress bars redraw their line with carriage returns: in a log (CI, a pipe, a file) the redraws
# run together into one line thousands of characters long. Off unless make's output is a terminal;
# the train stage's progress lines still print, one a line.
ifeq ($(shell test -t 2 && echo terminal),)
export TQDM_DISABLE := 1
export HF_DATASETS_DISABLE_PROGRESS_BARS := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
endif

.PHONY: help setup data repro summary metrics plots use-data test test-fast test-iam test-security lint \
	lint-python clean

# A yes/no setting (FORCE, DRY_RUN, DRIFT_CHECK, AUTO_APPROVE): $(call yes_no,NAME) is 1 for 1, true,
# yes or on, and empty for unset, empty, 0, false, no or off (any case); any other value stops make,
# naming the setting (FORCE=0 or DRY_RUN=TRUE never means the opposite). $(value NAME) is the text as
# given: never expanded as make syntax, so a value from outside runs nothing here.
YES_WORDS := 1 true yes on
NO_WORDS := 0 false no off
lowercase = $(subst Z,z,$(subst Y,y,$(subst X,x,$(subst W,w,$(subst V,v,$(subst U,u,$(subst T,t,$(subst S,s,$(subst R,r,$(subst Q,q,$(subst P,p,$(subst O,o,$(subst N,n,$(subst M,m,$(subst L,l,$(subst K,k,$(subst J,j,$(subst I,i,$(subst H,h,$(subst G,g,$(subst F,f,$(subst E,e,$(subst D,d,$(subst C,c,$(subst B,b,$(subst A,a,$1))))))))))))))))))))))))))
yes_no = $(call yes_no_word,$1,$(call lowercase,$(strip $(value $1))))
yes_no_word = $(if $(filter-out 0 1,$(words $2)),$(call not_yes_no,$1),$(if $(filter $(YES_WORDS),$2),1,$(if \
	$(filter-out $(NO_WORDS),$2),$(call not_yes_no,$1))))
not_yes_no = $(error $1 is '$(value $1)', neither yes nor no: set $1=1 (or true, yes, on) or $1=0 (or false, \
	no, off; unset is no))

# Tools with pins of their own (checkov, uv, act) get venvs here, outside the clone, so CI runs and
# fresh clones on one machine share them. Defined before the includes: their rules name files in it.
# The path is pasted into rule names and recipes, so it may hold only letters, digits and / . _ - + @:
# a space split it into two targets (two venvs, one inside the checkout), backticks in HOME or
# XDG_CACHE_HOME ran in the recipe's shell, and $(...) in them ran as make syntax while make read
# this file. HOME, XDG_CACHE_HOME and TOOLS_CACHE are read with $(value) (text, never expanded); an
# unusable path stands aside for a harmless one, and a target that needs the tools (TOOL_TARGETS,
# which each mk/ file extends next to its rule) stops before any recipe runs, naming the variable.
PATH_CHARS := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U \
	V W X Y Z 0 1 2 3 4 5 6 7 8 9 / . _ - + @
without_chars = $(if $2,$(call without_chars,$(subst $(firstword $2),,$1),$(wordlist 2,$(words $2),$2)),$1)
ifeq ($(origin TOOLS_CACHE),undefined)
TOOLS_CACHE_FROM := $(if $(value XDG_CACHE_HOME),XDG_CACHE_HOME,HOME)
TOOLS_CACHE_GIVEN := $(if $(value XDG_CACHE_HOME),$(value XDG_CACHE_HOME),$(value HOME)/.cache)/textclf-tools
else
TOOLS_CACHE_FROM := TOOLS_CACHE
TOOLS_CACHE_GIVEN := $(value TOOLS_CACHE)
endif
# What makes it unusable, said in the message: a space (make splits there), the other characters
# (here: ...), or no HOME at all (cron, systemd, `env -i`: the cache would land in /.cache).
TOOLS_CACHE_BAD_CHARS := $(strip $(call without_chars,$(TOOLS_CACHE_GIVEN),$(PATH_CHARS)))
TOOLS_CACHE_UNUSABLE := $(strip $(if $(filter HOME,$(TOOLS_CACHE_FROM)),$(if $(value HOME),,HOME is \
	unset or empty)) $(if $(filter-out 1,$(words $(TOOLS_CACHE_GIVEN))),a space$(if \
	$(TOOLS_CACHE_BAD_CHARS), and)) $(if $(TOOLS_CACHE_BAD_CHARS),the characters $(TOOLS_CACHE_BAD_CHARS)))
ifeq ($(TOOLS_CACHE_UNUSABLE),)
override TOOLS_CACHE := $(TOOLS_CACHE_GIVEN)
else
override TOOLS_CACHE := .tools-cache-unusable
TOOLS_CACHE_CHECK = $(error the tools' cache folder '$(TOOLS_CACHE_GIVEN)' (from $(TOOLS_CACHE_FROM)) cannot be \
	used ($(TOOLS_CACHE_UNUSABLE); only letters, digits and / . _ - + @ are allowed, so no recipe runs or splits \
	it): set TOOLS_CACHE to such a folder (e.g. TOOLS_CACHE=/var/tmp/textclf-tools) and run make again; nothing \
	was run)
endif
TOOL_TARGETS :=

# Targets per area (infrastructure, serving, SageMaker, report, CI rehearsals).
include $(sort $(wildcard mk/*.mk))

# Every target that needs a tool's venv stops here, before any of its prerequisites runs.
ifneq ($(and $(TOOLS_CACHE_UNUSABLE),$(filter $(TOOL_TARGETS),$(MAKECMDGOALS))),)
$(TOOLS_CACHE_CHECK)
endif

# Each target two columns in, its description from column 22, wrapped there within 100 columns.
# What a newcomer's first day uses (README, quick start and "Your own data"); `make help-all` lists
# the CI, release and AWS targets too.
FIRST_DAY := setup repro summary metrics plots use-data report gate serve test-fast test clean
# Each described target on a line, its description folded at 100 columns.
LIST_TARGETS = grep -hE '^[a-zA-Z_-]+:.*\#\# ' $(MAKEFILE_LIST) | awk -F':.*\#\# ' -v only="$(1)" '{ \
		if (only != "" && index(" " only " ", " " $$1 " ") == 0) next; \
		line = sprintf("  %-18s", $$1); n = split($$2, words, " "); fresh = 1; \
		for (i = 1; i <= n; i++) { \
			if (!fresh && length(line) + 1 + length(words[i]) > 100) { \
				print line; line = sprintf("%20s", ""); fresh = 1 } \
			line = line " " words[i]; fresh = 0 } \
		print line }'

help: ## List the first day's targets (make help-all: every target)
	@$(call LIST_TARGETS,$(FIRST_DAY))
	@echo "make help-all lists all $$(grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | wc -l) targets: CI, release, AWS, benchmarks"

help-all: ## List every target
	@$(call LIST_TARGETS,)

# The pinned dependencies are installed once per content of requirements.lock, not per timestamp:
# a checkout, a branch switch or a fresh clone with a restored .venv rewrites the file's time, and
# pip would then spend its time finding every pin already satisfied. The project itself (an
# editable install pointing at this checkout) is reinstalled whenever pyproject.toml changes.
LOCK_KEY := $(shell sha256sum requirements.lock 2>/dev/null | cut -c1-16)
LOCKED := $(VENV)/.locked-$(LOCK_KEY)

$(INSTALLED): $(LOCKED) pyproject.toml
	@# The project itself with the build backend the lock installed (setuptools, hash-checked): build
	@# isolation would fetch an unpinned setuptools from the index at every install.
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(LOCKED):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# Hash-checking mode (mk/lock.mk): pip refuses a file whose sha256 the lock does not list and
	@# any dependency the lock misses. torch's CPU build (2.13.0+cpu; PyPI's Linux torch is a CUDA
	@# build) comes from TORCH_INDEX, asked for torch alone (no other package is looked up there).
	@# Compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would otherwise
	@# recompile torch and transformers (seconds per process).
	@echo "installing the pinned dependencies into .venv (once per requirements.lock: minutes, about 2 GB)"
	awk '/^torch==/ {on = 1} on {print} on && !/\\$$/ {on = 0}' requirements.lock >$(VENV)/torch.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps \
		$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r $(VENV)/torch.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	@rm -f $(VENV)/.locked-*
	@touch $@

setup: $(INSTALLED) ## Create .venv and install the pinned dependencies (idempotent)

data: $(INSTALLED) ## Materialise data/raw: the bundled sample when data.dvc pins it, else dvc pull
	@test -d data/raw || $(BIN)/textclf data

# DVC's closing hint ("git add dvc.lock", "Use `dvc push`", which fails offline) is left out of its
# standard output, every other line passing at once (review/dvc_output.py): the summary ends the
# run with its own steps, `dvc push` only where a DVC remote is set up. Errors are on stderr, whole.
repro: $(INSTALLED) data ## Run prepare -> train -> evaluate on the sample, offline; ends with a summary
	@$(BASE_NOT_HEAD)
	@echo "$(BIN)/dvc repro"
	@PYTHONUNBUFFERED=1 $(BIN)/dvc repro | $(BIN)/python -m textclf.review.dvc_output
	@$(BIN)/textclf summary --base="$$REPORT_BASE" --champion="$${CHAMPION:-auto}"

summary: $(INSTALLED) ## The last run in 100 columns: metrics, classes, gate, training, next steps
	@$(BASE_NOT_HEAD)
	@$(BIN)/textclf summary --base="$$REPORT_BASE" --champion="$${CHAMPION:-auto}"

metrics: $(INSTALLED) ## Every metric of the last run in one wide table (dvc metrics show)
	$(BIN)/dvc metrics show

# The page loads vega from node_modules (tools/dvc-plots.html), so the node packages come first.
plots: $(INSTALLED) $(NODE_TOOLS) ## Draw the training curves and the confusion matrix: dvc_plots/index.html
	$(BIN)/dvc plots show

# Your own data in one step (README, "Your own data"): FILE=<csv/jsonl/parquet> [TEXT=<column>]
# [LABEL=<column>] [LABELS=a,b,c] [TASK=name] [FORCE=1]. FORCE is a yes/no setting (FORCE=0 keeps your files),
# checked when make starts, before the install runs. Other values reach textclf as environment variables;
# TEXTCLF_USE_DATA_VIA_MAKE=1 has its messages name these variables, not its options. FILE comes
# after `--`, so a FILE such as -h or --help is a file name, never an option (-h printed the help,
# exited 0, and make went on to a full repro). repro stays a line of its own: `make -n` runs a line
# holding $(MAKE), and would run use-data itself.
ifneq ($(filter use-data,$(MAKECMDGOALS)),)
USE_DATA_FORCE := $(call yes_no,FORCE)
endif
use-data: $(INSTALLED) ## FILE=<csv/jsonl/parquet> becomes the data (TEXT=, LABEL= columns), then repro
	@test -n "$${FILE:-}" || { echo "name your data file: make use-data FILE=path/to/data.csv [TEXT=text LABEL=label]" >&2; exit 2; }
	@# --option=value: a value starting with '-' (TEXT=--force) is the option's, named by its variable.
	@TEXTCLF_USE_DATA_VIA_MAKE=1 $(BIN)/textclf use-data --text-column="$${TEXT:-text}" \
		--label-column="$${LABEL:-label}" $${LABELS:+--labels="$$LABELS"} $${TASK:+--task="$$TASK"} \
		$${EMPTY_TEXT:+--empty-text="$$EMPTY_TEXT"} $(if $(call yes_no,FORCE),--force) -- "$$FILE"
	@$(MAKE) --no-print-directory repro

test: $(INSTALLED) data ## Run the whole test suite, slow tests included
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest

test-fast: $(INSTALLED) ## Run the tests not marked slow
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest -m "not slow"

test-iam: $(INSTALLED) ## IAM enforced: policy rules, each step as its principal on a Terraform-made account, service rules
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/iam tests/release/test_localcloud_endpoints.py tests/release/test_lambda_package.py \
		tests/infra/test_localcloud_extensions.py

test-security: $(INSTALLED) ## Attacks on the release's integrity (IAM enforced), rollback and import rules, GitHub settings
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/iam/test_attacks.py tests/workflows/test_release.py tests/workflows/test_retrain_keys.py \
		tests/workflows/test_github_settings.py

lint: lint-python lint-ci ## Lint everything: Python, workflows, YAML, shell scripts, Dockerfiles

lint-python: $(INSTALLED) ## Lint Python (ruff check, ruff format --check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Only what the pipeline and these targets write: dvc.yaml's outputs (the ones git tracks, the
# metrics and plot files, stay: `git checkout -- metrics plots` puts back the committed ones),
# work/ (checkpoints), build/, reports/, dvc_plots/ and the tools' caches. models/ itself stays,
# with any folder of your own in it (a local base model). A path to remove that holds a file git
# tracks, or that is a symbolic link, or that holds (links resolved) data.raw_dir or a local
# model.name, or what a link inside them leads to (`python -m textclf.cli clean-keep` names them;
# without the venv only data/raw is checked), stops the target before anything is removed.
# tests/workflows/test_make_clean.py checks the list against dvc.yaml.
clean: ## Remove pipeline outputs and caches (keeps .venv, data, your own files and tracked files)
	@outs=(data/prepared models/model metrics/data.json metrics/train.json metrics/eval.json \
		metrics/gate.json metrics/reference.json plots/train_loss.csv plots/validation.csv \
		plots/confusion.csv plots/heldout_probabilities.csv); \
	made=(work build reports dvc_plots .pytest_cache .ruff_cache); \
	in_git=$$(git rev-parse --is-inside-work-tree 2>/dev/null || true); remove=(); kept=(); keep=(); \
	if [[ -x $(BIN)/python ]]; then \
		listing=$$(mktemp); \
		if ! $(BIN)/python -m textclf.cli clean-keep >"$$listing"; then rm -f -- "$$listing"; \
			echo "make clean: cannot tell which folders hold data.raw_dir and model.name (above);" \
				"nothing was removed. Correct params.yaml, or remove the folders yourself" >&2; exit 2; fi; \
		while IFS= read -r -d '' setting && IFS= read -r -d '' folder; do keep+=("$$setting" "$$folder"); \
			done <"$$listing"; rm -f -- "$$listing"; \
	else \
		echo "make clean: $(BIN)/python is missing (make setup): only data/raw is kept safe, not" \
			"params.yaml's data.raw_dir or a local model.name" >&2; \
		if [[ -d data/raw ]]; then keep=("data.raw_dir's default (data/raw)" "$$(cd -P data/raw && pwd -P)"); fi; \
	fi; \
	for path in "$${outs[@]}" "$${made[@]}"; do \
		if [[ -L "$$path" ]]; then \
			echo "make clean: $$path is a symbolic link; nothing was removed. Remove it yourself" \
				"if what it points to may go" >&2; exit 2; fi; \
		[[ -e "$$path" ]] || continue; \
		for ((i = 0; i < $${#keep[@]}; i += 2)); do folder=$${keep[i+1]}; \
			while [[ -n "$$folder" ]]; do \
				if [[ "$$folder" -ef "$$path" ]]; then \
					echo "make clean: $$path holds $${keep[i]}, which is $${keep[i+1]}; nothing was" \
						"removed. Move it out of $$path and name it (or link to it) there" >&2; exit 2; fi; \
				folder=$${folder%/*}; \
			done; \
		done; \
		if [[ -n "$$in_git" && -f "$$path" ]] && git ls-files --error-unmatch -- "$$path" >/dev/null 2>&1; \
			then kept+=("$$path"); continue; fi; \
		tracked=$$([[ -z "$$in_git" ]] || git ls-files -- "$$path"); \
		if [[ -n "$$tracked" ]]; then \
			echo "make clean: $$path holds files git tracks ($$(echo $$tracked | head -c 200)); nothing" \
				"was removed. Move them out of $$path (or git rm them) first" >&2; exit 2; fi; \
		remove+=("$$path"); \
	done; \
	if (( $${#remove[@]} )); then echo "rm -rf $${remove[*]}"; rm -rf -- "$${remove[@]}"; fi; \
	if (( $${#kept[@]} )); then echo "kept (git tracks them): $${kept[*]}"; fi
