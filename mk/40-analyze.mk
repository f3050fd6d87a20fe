# analyze: the ten analysis dimensions into data/insights/ (issue 5)
.PHONY: analyze
analyze: $(VENV)/.installed  ## findings with their evidence into data/insights/<account>.json and all.json
	$(call PIPELINE,$(INSIGHTS))

$(INSIGHTS): $(BACKFILL_STAMP) scripts/analyze.py
	$(call RUN_STEP,$(STEP).analyze --root $(ROOT),analyze)
