# scrape: one Apify actor run per platform per day covering every account (issue 3)
.PHONY: scrape _scrape cron
scrape: $(VENV)/.installed  ## scrape every account through Apify into data/raw/ (needs APIFY_TOKEN)
	$(call PIPELINE,_scrape)

_scrape: | $(VENV)/.installed
	$(call RUN_STEP,$(STEP).scrape --root $(ROOT),scrape)
	$(MAKE) $(LOAD_STAMP) ROOT=$(ROOT)
