# account-analytics: a file-based pipeline. Every target works on a workspace root:
#   make daily ROOT=some/dir      (default ROOT=. , this repository)
# Make chains the steps by file dependencies, so a rerun with nothing new does nothing.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules --no-print-directory
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.SUFFIXES:

ROOT ?= .
VENV := .venv
PY := $(VENV)/bin/python
PYTHON3 ?= python3
# how long a pipeline run waits for another one to finish before giving up (seconds)
LOCK_WAIT ?= 0
ACCOUNT ?=
FOCUS ?=

DATA := $(ROOT)/data
DB := $(DATA)/analytics.db
LOAD_STAMP := $(DATA)/.load.stamp
BACKFILL_STAMP := $(DATA)/.backfill.stamp
ANALYZE_STAMP := $(DATA)/.analyze.stamp
RECOMMEND_STAMP := $(DATA)/.recommend.stamp
DASHBOARD_STAMP := $(DATA)/.dashboard.stamp
BELIEFS_STAMP := $(DATA)/.beliefs.stamp
# The inputs the stamps depend on. Listing them costs time on a big workspace (36,500 raw files,
# 37,000 generator files), so only the make that builds the stamps (FILE_RULES=1, set by
# _pipeline and inherited by its sub-makes) lists them; the outer levels never read them.
# Raw envelopes are never rewritten (each scrape is a new stamped file, renamed into place), so
# their folders' mtimes say when one arrived: 100 stats instead of 36,500. make reload rereads all.
FILE_RULES ?=
RAW_FILES = $(if $(FILE_RULES),$(wildcard $(ROOT)/data/raw/*/*/))
# Generator folders likewise: a new folder, or a file renamed into one, changes the mtime of
# output/ or of the folder (output/<post>/, or output/<date>/ for output/<date>/<post>/). A file
# edited in place is seen by backfill's own fingerprint the next time the step runs.
ACCOUNT_FILES = $(if $(FILE_RULES),$(wildcard $(ROOT)/accounts/*/config.yml $(ROOT)/accounts/*/output/ $(ROOT)/accounts/*/output/*/))
# Account configs: the timezone feeds load's published_local, the pillars feed backfill.
CONFIG_FILES = $(if $(FILE_RULES),$(wildcard $(ROOT)/accounts/*/config.yml))
# The code a step runs: its entry point plus its stage's package and every package before it
# (a package imports only core/ and the stages before it: docs/architecture.md), so a change to
# any code a step uses re-runs the step.
CORE_CODE := $(wildcard scripts/core/*.py)
SOURCES_CODE := $(CORE_CODE) $(wildcard scripts/sources/*.py)
STORE_CODE := $(SOURCES_CODE) $(wildcard scripts/store/*.py)
ANALYSIS_CODE := $(STORE_CODE) $(wildcard scripts/analysis/*.py)
PROPOSALS_CODE := $(ANALYSIS_CODE) $(wildcard scripts/proposals/*.py)
OUTPUTS_CODE := $(PROPOSALS_CODE) $(wildcard scripts/outputs/*.py scripts/outputs/templates/*)
STEP = $(PY) -m scripts
LOCKED = $(STEP).lock --root $(ROOT) --wait $(LOCK_WAIT) --

.PHONY: help venv demo test daily weekly load reload
help:  ## list the targets
	@grep -hE '^[a-z][a-z_-]*:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- the virtualenv, bootstrapped from pyproject.toml --------------------------------------
$(VENV)/.installed: pyproject.toml
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed  ## create .venv from pyproject.toml

# --- how steps run -----------------------------------------------------------------------
# A step that partly fails (one bad account, one bad file) has still done all the good work, so
# the chain goes on: one bad account never stops the others. But a step's stamp is touched only
# when the step succeeded. On failure the stamp is removed: the steps after it in this run still
# see new work, and the next run does the failed step again. Each step keeps its problems in
# data/problems.json until it runs clean (a step killed before it could say so is recorded by
# the line below); every public target prints them at its end and exits non-zero while any is
# open, for cron. With nothing open the file does not exist, which costs a clean run nothing.
GOALS ?=
PROBLEMS := $(DATA)/problems.json
# $(1) the command, $(2) the step's name, $(3) its stamp (empty for steps that always run)
RUN_STEP = @echo '$(1)'; if $(1); then $(if $(3),touch $(3),:); else code=$$?; $(if $(3),rm -f $(3);) \
	$(STEP).problems --root $(ROOT) --stopped $(2) $$code; fi
PIPELINE = $(LOCKED) $(MAKE) _pipeline ROOT=$(ROOT) GOALS="$(1)"

.PHONY: _pipeline FORCE
FORCE:
_pipeline:
	$(MAKE) $(GOALS) ROOT=$(ROOT) FILE_RULES=1
	@if [ -e $(PROBLEMS) ]; then $(STEP).problems --root $(ROOT); fi

# --- pipelines ---------------------------------------------------------------------------
daily: $(VENV)/.installed  ## scrape -> load -> backfill (cron, 08:00)
	$(call PIPELINE,_daily)

weekly: $(VENV)/.installed  ## analyze -> recommend -> beliefs -> dashboard -> digest (cron, Monday 09:00)
	$(call PIPELINE,_weekly)

# the digest comes last: it reads what the steps before it wrote. It is a file like every other
# step's output, remade when they or the proposal folders (a git mv) changed, so a weekly with
# nothing new runs no step; the weekly always prints it for cron's mail
.PHONY: _weekly
DIGEST_FILE := $(DATA)/digest.md
DIGEST_INPUTS = $(wildcard $(addprefix $(ROOT)/recommendations/,pending approved applied rejected))
_weekly: $(DIGEST_FILE)
	@cat $(DIGEST_FILE)

$(DIGEST_FILE): $(RECOMMEND_STAMP) $(BELIEFS_STAMP) $(DASHBOARD_STAMP) $(DIGEST_INPUTS) scripts/digest.py $(OUTPUTS_CODE)
	$(call RUN_STEP,$(STEP).digest --root $(ROOT) --quiet,digest,$@)

# everything after scraping: what the demo, and envelopes dropped into data/raw/, run
.PHONY: _offline
_offline: $(BACKFILL_STAMP) $(RECOMMEND_STAMP) $(BELIEFS_STAMP) $(DASHBOARD_STAMP)

# --- load: raw envelopes -> SQLite ------------------------------------------------------
load: $(VENV)/.installed  ## load new raw envelopes into data/analytics.db
	$(call PIPELINE,$(LOAD_STAMP))

# a missing database is rebuilt from data/raw/ by the next load, whatever the stamps say
$(LOAD_STAMP): $(if $(wildcard $(DB)),,FORCE) $(RAW_FILES) $(CONFIG_FILES) scripts/load.py $(STORE_CODE) $(wildcard sql/*/*.sql) \
		schemas/raw_envelope.schema.json | $(VENV)/.installed
	$(call RUN_STEP,$(STEP).load --root $(ROOT),load,$@)

reload: $(VENV)/.installed  ## rebuild data/analytics.db from data/raw (raw files are kept)
	$(call PIPELINE,_reload)

.PHONY: _reload
_reload:
	rm -f $(LOAD_STAMP) $(BACKFILL_STAMP)
	$(call RUN_STEP,$(STEP).load --root $(ROOT) --rebuild,load,$(LOAD_STAMP))
	$(call RUN_STEP,$(STEP).backfill --root $(ROOT),backfill,$(BACKFILL_STAMP))

include $(sort $(wildcard mk/*.mk))

# --- demo and tests ----------------------------------------------------------------------
DEMO := demo
demo: $(VENV)/.installed  ## build the synthetic demo workspace under demo/ and run the whole pipeline
	$(STEP).demo --root $(DEMO) --force
	$(MAKE) _pipeline ROOT=$(DEMO) GOALS=_offline
	$(STEP).demo --root $(DEMO) --repository
	$(STEP).summary --root $(DEMO)

# one worker per CPU; tests of one module stay together (they share
# its workspace fixtures), the slowest modules first (the order tests/conftest.py gives, not xdist's)
test: $(VENV)/.installed  ## run the test suite
	$(PY) -m pytest -q -n auto --dist loadscope --no-loadscope-reorder
