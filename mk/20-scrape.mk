# scrape: one Apify run per actor per day covering every account (issue 3, issue 14); import: an export
.PHONY: scrape _scrape _daily cron import
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

# make import FILE=export.json [ACCOUNT=x] [PLATFORM=tiktok|instagram] [SCRAPED_AT=2026-11-20T08:00:00Z]
# (docs/scrape.md). It holds the pipeline lock: no scrape writes the same folders meanwhile.
FILE ?=
PLATFORM ?=
SCRAPED_AT ?=
import: $(VENV)/.installed  ## turn an Apify dataset export (FILE=x.json or .csv, ACCOUNT=x) into raw envelopes
	@$(LOCKED) $(STEP).import_export --root $(ROOT) $(if $(FILE),--file "$(FILE)") \
		$(if $(ACCOUNT),--account $(ACCOUNT)) $(if $(PLATFORM),--platform $(PLATFORM)) \
		$(if $(SCRAPED_AT),--scraped-at $(SCRAPED_AT))

# make compress-raw [ROOT=dir]: a workspace from before scrape wrote .json.gz, converted once
# (docs/load.md). It holds the pipeline lock; the raw folders change, so the next load looks, and
# recognises every converted file as the one it loaded.
.PHONY: compress-raw _compress_raw
compress-raw: $(VENV)/.installed  ## gzip every raw envelope <stamp>.json into <stamp>.json.gz (verified; safe to rerun)
	$(call PIPELINE,_compress_raw)

_compress_raw: | $(VENV)/.installed
	$(call RUN_STEP,$(STEP).compress_raw --root $(ROOT),compress-raw,)
