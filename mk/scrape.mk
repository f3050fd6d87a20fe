
# make compress-raw [ROOT=dir]: a workspace from before scrape wrote .json.gz, converted once
# (docs/load.md). It holds the pipeline lock; the raw folders change, so the next load looks, and
# recognises every converted file as the one it loaded.
.PHONY: compress-raw _compress_raw
compress-raw: $(VENV)/.installed  ## gzip every raw envelope <stamp>.json into <stamp>.json.gz (verified; safe to rerun)
	$(call PIPELINE,_compress_raw)

_compress_raw: | $(VENV)/.installed
	$(call RUN_STEP,$(STEP).compress_raw --root $(ROOT),compress-raw,)
