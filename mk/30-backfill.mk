# backfill: generation metadata and text classes for every post (issue 4)
.PHONY: backfill
backfill: $(VENV)/.installed  ## match posts to generator output folders; classify hooks, CTAs, pillars
	$(call PIPELINE,$(BACKFILL_STAMP))

$(BACKFILL_STAMP): $(LOAD_STAMP) $(ACCOUNT_FILES) scripts/backfill.py $(STORE_CODE)
	$(call RUN_STEP,$(STEP).backfill --root $(ROOT),backfill,$@)
