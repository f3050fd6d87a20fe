# beliefs: the analyzer's format/pillar beliefs into performance_context.json, for the generator's
# Thompson sampling (issue 16, docs/followups.md); make weekly runs it after analyze
.PHONY: beliefs
BELIEFS_SOURCES = scripts/beliefs.py $(PROPOSALS_CODE) schemas/performance_context.schema.json

beliefs: $(VENV)/.installed  ## analyzer beliefs (format/pillar effects) into each performance_context.json
	$(call PIPELINE,$(BELIEFS_STAMP))

$(BELIEFS_STAMP): $(ANALYZE_STAMP) $(BELIEFS_SOURCES)
	$(call RUN_STEP,$(STEP).beliefs --root $(ROOT),beliefs,$@)
