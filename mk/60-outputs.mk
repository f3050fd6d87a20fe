# outputs: terminal reports, Datasette, the self-contained HTML dashboard (issue 7)
.PHONY: report dashboard datasette metadata digest _digest
# the report tables, Datasette's canned queries and the dashboard's numbers are one set of SQL:
# sql/queries/<name>.sql (the folder too, so a removed query counts)
QUERY_FILES := sql/queries $(wildcard sql/queries/*.sql)
OUTPUT_SOURCES = $(QUERY_FILES) $(OUTPUTS_CODE)
DASHBOARD_SOURCES = scripts/dashboard.py $(OUTPUT_SOURCES)
DATASETTE_PORT ?= 8001
# the day-7 views read every snapshot: on a year of 50 accounts a canned query takes 1-5 s,
# past Datasette's default 1 s limit
DATASETTE_SETTINGS = --setting sql_time_limit_ms 20000
# post_id cells link to their post (posts is keyed by an integer id): scripts/outputs/datasette_plugins/
DATASETTE_PLUGINS := scripts/outputs/datasette_plugins

# DETAILS=1: the report also prints the statistics behind each finding and proposal
DETAILS ?=
report: $(VENV)/.installed  ## terminal report (ACCOUNT=name or all; FOCUS=formats|pillars|failures|hooks|...; DETAILS=1)
	$(STEP).report --root $(ROOT) $(if $(ACCOUNT),--account $(ACCOUNT),--all) $(if $(FOCUS),--focus $(FOCUS)) $(if $(DETAILS),--details)

dashboard: $(VENV)/.installed  ## data/dashboard/<account>.html and all.html
	$(call PIPELINE,$(DASHBOARD_STAMP))

$(DASHBOARD_STAMP): $(ANALYZE_STAMP) $(RECOMMEND_STAMP) $(DASHBOARD_SOURCES)
	$(call RUN_STEP,$(STEP).dashboard --root $(ROOT),dashboard,$@)

digest: $(VENV)/.installed  ## this week in plain words per account (what to approve, what changed), also data/digest.md
	$(call PIPELINE,_digest)

_digest:
	$(call RUN_STEP,$(STEP).digest --root $(ROOT),digest,)

datasette: $(VENV)/.installed metadata  ## browse data/analytics.db with charts on http://127.0.0.1:8001 (DATASETTE_PORT)
	$(VENV)/bin/datasette serve $(DB) --metadata metadata.yml --host 127.0.0.1 --port $(DATASETTE_PORT) $(DATASETTE_SETTINGS) --plugins-dir $(DATASETTE_PLUGINS)

# metadata.yml's queries section is generated; the script rewrites the file only when it changed
metadata: $(VENV)/.installed  ## metadata.yml's canned queries from sql/queries/*.sql (tests/test_queries.py checks it)
	$(PY) -m scripts.dev.metadata
