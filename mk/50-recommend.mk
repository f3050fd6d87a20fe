# recommend / apply / review: proposals as JSON-patch files, approval by git mv (issue 6)
.PHONY: recommend apply review approve reject
# a rejection (git mv into rejected/) or an apply changes these folders: recommend must look again
REC_DIRS = $(wildcard $(ROOT)/recommendations/rejected $(ROOT)/recommendations/applied)
RECOMMEND_SOURCES = scripts/recommend.py $(PROPOSALS_CODE) \
	schemas/performance_context.schema.json schemas/recommendation.schema.json

recommend: $(VENV)/.installed  ## 3-5 recommendations per account into recommendations/pending/
	$(call PIPELINE,$(RECOMMEND_STAMP))

$(RECOMMEND_STAMP): $(ANALYZE_STAMP) $(REC_DIRS) $(RECOMMEND_SOURCES)
	$(call RUN_STEP,$(STEP).recommend --root $(ROOT),recommend,$@)

apply: $(VENV)/.installed  ## apply recommendations/approved/ to each performance_context.json
	$(call PIPELINE,_apply)

.PHONY: _apply
_apply:
	$(call RUN_STEP,$(STEP).apply --root $(ROOT),apply,)

review: $(VENV)/.installed  ## approve/reject pending recommendations interactively (ACCOUNT=name)
	$(STEP).review --root $(ROOT) $(if $(ACCOUNT),--account $(ACCOUNT))

ID ?=
approve: $(VENV)/.installed  ## approve one pending proposal: make approve ID=<short id> (git mv into approved/)
	$(STEP).decide --root $(ROOT) --id "$(ID)" --to approved

reject: $(VENV)/.installed  ## reject one pending proposal: make reject ID=<short id> (never proposed again)
	$(STEP).decide --root $(ROOT) --id "$(ID)" --to rejected
