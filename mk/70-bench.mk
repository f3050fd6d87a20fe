# bench: how the pipeline scales, on a generated world under bench/ (gitignored) (issue 8)
.PHONY: bench
BENCH_ACCOUNTS ?= 50
BENCH_DAYS ?= 365
bench: $(VENV)/.installed  ## time load (vs a bare loader), analyze, recommend, dashboard, a no-op weekly; peak memory
	$(STEP).bench --dir bench --accounts $(BENCH_ACCOUNTS) --days $(BENCH_DAYS)

# calibrate: the analyzer's power and honesty on generated signal and null worlds (issue 15)
.PHONY: calibrate
CALIBRATE_SEEDS ?= 10
calibrate: $(VENV)/.installed  ## power on planted 1.5x/2x/0.6x effects and claims in null worlds (docs/calibration.md)
	$(STEP).calibrate --seeds $(CALIBRATE_SEEDS)
