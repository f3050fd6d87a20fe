# bench: how the pipeline scales, on a generated world under bench/ (gitignored) (issue 8)
.PHONY: bench
# the scaling curve's points, in accounts; BENCH_SCALE=large adds 100 accounts (not run in CI: a
# 5 GB world, generated once). docs/bench.md says how long each takes.
BENCH_SCALE ?=
BENCH_ACCOUNTS ?= $(if $(filter large,$(BENCH_SCALE)),10$(,)25$(,)50$(,)100,10$(,)25$(,)50)
BENCH_DAYS ?= 365
, := ,
bench: $(VENV)/.installed  ## time every step at 10, 25, 50 accounts (vs a bare loader): growth exponents, .json.gz, memory
	$(STEP).bench --dir bench --accounts $(BENCH_ACCOUNTS) --days $(BENCH_DAYS)

# calibrate: the analyzer's power and honesty on generated signal and null worlds (issue 15)
.PHONY: calibrate
CALIBRATE_SEEDS ?= 10
calibrate: $(VENV)/.installed  ## power on planted 1.5x/2x/0.6x effects and claims in null worlds (docs/calibration.md)
	$(STEP).calibrate --seeds $(CALIBRATE_SEEDS)
