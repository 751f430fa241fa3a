# The evaluation gate and the pull-request report. docs/report.md explains each target.

.PHONY: report gate report-comment champion champion-record test-report render-tools \
	test-report-render plots-page

# The ref the report diffs against, and where production's metrics come from:
# auto (the artifacts bucket when AWS credentials are configured, else main), bucket or main.
REPORT_BASE ?= main
CHAMPION ?= auto
REPORT_MD := reports/report.md
# CML finds its comment by this hidden title, so every push edits the same comment.
REPORT_WATERMARK ?= textclf report
# Read by the recipes as "$$NAME", never pasted as $(NAME): quotes, backticks or $$(...) in a value
# are then data to the shell. A value given on make's command line is still read as make syntax
# when make exports it (`make summary CHAMPION='$(shell ...)'` runs it: GNU make's rule for
# command-line variables, which are exported expanded); one given in the environment is not.
export REPORT_BASE CHAMPION REPORT_WATERMARK
# The PR to comment on; empty: the PR of the commit CML runs for (the PR head on pull_request).
PR_NUMBER ?=
# REPORT_BASE naming HEAD's commit (HEAD, the branch checked out, its sha) on a branch main is not
# at, while metrics/eval.json is HEAD's own: the champion read from the base would be the model
# itself, and the gate's champion check would pass by comparing the model with itself. Refused,
# saying which base to use, unless CHAMPION=bucket (production's metrics are then the champion).
# On main itself, or a branch still at main, HEAD is main: the default compares the same, and runs;
# textclf then compares with origin/main when the local main is not at it (ahead: commits nothing
# released, perhaps this model's own metrics), and says so (textclf.review.champion.released_base).
# Metrics changed since HEAD (a new run not yet committed) may be compared with HEAD.
BASE_NOT_HEAD = base="$$(git rev-parse --verify --quiet --end-of-options "$$REPORT_BASE^{commit}" 2>/dev/null || true)"; \
	main="$$(git rev-parse --verify --quiet refs/heads/main || git rev-parse --verify --quiet refs/remotes/origin/main \
		|| true)"; \
	if [[ -n "$$base" && "$$CHAMPION" != bucket && "$$base" != "$$main" && "$$base" == "$$(git rev-parse --verify \
		--quiet HEAD)" ]] && git cat-file -e HEAD:$(EVAL_JSON) 2>/dev/null && git diff --quiet HEAD -- $(EVAL_JSON); then \
		echo "REPORT_BASE '$$REPORT_BASE' is this checkout's HEAD ($${base:0:12}), and $(EVAL_JSON) is HEAD's own:" \
			"the gate would compare the model with itself. Set REPORT_BASE to the branch this work merges into" \
			"(main, the default$${main:+, at $${main:0:12}}), or HEAD~1 for the commit before" >&2; exit 2; fi
EVAL_JSON := metrics/eval.json

report: $(INSTALLED) ## Write reports/report.md (this workspace vs main and production) and reports/gate.json
	@$(BASE_NOT_HEAD)
	$(BIN)/textclf report --base="$$REPORT_BASE" --champion="$${CHAMPION:-auto}" $${COMMIT:+--commit-sha="$$COMMIT"}

# GNU make exits 2 whenever a recipe fails, whatever the recipe's code ("The exit status of make is
# always one of three values", GNU make manual, "How to Run make"): make's last line carries the
# program's own code, `Error 1` for a failed gate, `Error 2` for a missing or malformed input.
gate: $(INSTALLED) ## Judge metrics/eval.json on thresholds and the champion (a fail fails make)
	@$(BASE_NOT_HEAD)
	$(BIN)/textclf gate --base="$$REPORT_BASE" --champion="$${CHAMPION:-auto}"

# --no-publish: nothing in the report is uploaded to CML's public asset host.
report-comment: ## Post reports/report.md on the PR, updating the same comment each push (needs cml)
	@test -s $(REPORT_MD) || { echo "$(REPORT_MD) is missing: run make report first" >&2; exit 2; }
	cml comment update --target="pr$${PR_NUMBER:+/$$PR_NUMBER}" \
		--watermark-title="$$REPORT_WATERMARK" --no-publish $(REPORT_MD)

champion: $(INSTALLED) ## Print the champion the gate compares with, and where it came from
	@$(BASE_NOT_HEAD)
	$(BIN)/textclf champion show --base="$$REPORT_BASE" --champion="$${CHAMPION:-auto}"

champion-record: $(INSTALLED) ## Record metrics/eval.json as production's (MODEL_VERSION=<released commit>)
	@test -n "$${MODEL_VERSION:-}" || { echo "set MODEL_VERSION=<git commit of the released model>" >&2; exit 2; }
	$(BIN)/textclf champion record --model-version="$$MODEL_VERSION"

test-report: $(INSTALLED) ## Run the gate and report tests (real git, DVC and the local cloud)
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/review

# --- seeing it: the report and the plots page in a real browser ---------------------------------

# Headless Chromium for the render test: Debian's package (GitHub's Ubuntu runners have Google
# Chrome instead; either works). apt-get needs root: sudo when not root.
CHROMIUM ?= $(firstword $(wildcard /usr/bin/chromium /usr/bin/google-chrome) /usr/bin/chromium)
export CHROMIUM
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The `dvc plots diff` page of the PR workflow's artifact: one file, vega inlined.
PLOTS_PAGE := build/plots

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "no $$CHROMIUM: install Chromium, or set CHROMIUM=<browser>" >&2; exit 2; }
	$(SUDO) apt-get update -qq
	@# The emoji font: the screenshots show the report's ✅ ❌ ⚠️ as GitHub does.
	$(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji

render-tools: $(CHROMIUM) $(NODE_TOOLS) ## Install what the render test needs: Chromium, the node packages (npm ci)

# `make test` runs every test under tests/, the render test among them: it needs these first.
test: render-tools

test-report-render: $(INSTALLED) render-tools ## Render the report (both themes) and the DVC plots page in Chromium; screenshots in build/render/
	$(WITHOUT_IMAGE_TAGS) $(BIN)/pytest tests/review/test_report_render.py

plots-page: $(INSTALLED) $(NODE_TOOLS) ## Write $(PLOTS_PAGE)/index.html: `dvc plots diff` vs REPORT_BASE, one self-contained file
	@mkdir -p build
	node tools/plots-template.mjs > build/dvc-plots-standalone.html
	@# The base's params.yaml, dvc.yaml and dvc.lock, checked before DVC reads them (an alias bomb in
	@# them grows DVC by gigabytes: R14A-8), as `make report` checks them.
	$(BIN)/textclf check-base --base="$$REPORT_BASE"
	$(BIN)/dvc plots diff -o $(PLOTS_PAGE) --html-template build/dvc-plots-standalone.html -- "$$REPORT_BASE"
