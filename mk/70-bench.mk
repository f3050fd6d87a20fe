# bench: how the pipeline scales, on a generated world under bench/ (gitignored) (issue 8)
.PHONY: bench
BENCH_ACCOUNTS ?= 50
BENCH_DAYS ?= 365
bench: $(VENV)/.installed  ## time load (vs a bare loader), analyze, recommend, dashboard, a no-op weekly; peak memory
	$(STEP).bench --dir bench --accounts $(BENCH_ACCOUNTS) --days $(BENCH_DAYS)
