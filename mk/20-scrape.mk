# scrape: one Apify actor run per platform per day covering every account (issue 3)
.PHONY: scrape _scrape _daily cron
# make cron PLIST_DIR=~/Library/LaunchAgents also writes the launchd plists there
PLIST_DIR ?=

scrape: $(VENV)/.installed  ## scrape every account through Apify into data/raw/ (needs APIFY_TOKEN)
	$(call PIPELINE,_scrape)

# after scraping, a second make sees the new raw folders (this one listed them before they
# existed); it makes every later stamp itself, so a failed load is not run twice in one target
_scrape _daily: | $(VENV)/.installed
	$(call RUN_STEP,$(STEP).scrape --root $(ROOT),scrape,)
	$(MAKE) $(if $(filter _daily,$@),$(BACKFILL_STAMP),$(LOAD_STAMP)) ROOT=$(ROOT)

cron: $(VENV)/.installed  ## print crontab lines and launchd plists: daily 08:00, weekly Monday 09:00
	@$(STEP).cron --root $(ROOT) --make "$(MAKE)" $(if $(PLIST_DIR),--plist-dir $(PLIST_DIR))
