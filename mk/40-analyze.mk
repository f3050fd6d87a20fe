# analyze: the ten analysis dimensions into data/insights/ (issue 5)
.PHONY: analyze
ANALYZE_SOURCES = scripts/analyze.py $(ANALYSIS_CODE) schemas/insights.schema.json

analyze: $(VENV)/.installed  ## findings with their evidence into data/insights/<account>.json and all.json
	$(call PIPELINE,$(ANALYZE_STAMP))

$(ANALYZE_STAMP): $(BACKFILL_STAMP) $(ANALYZE_SOURCES)
	$(call RUN_STEP,$(STEP).analyze --root $(ROOT),analyze,$@)
