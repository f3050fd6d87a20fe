# simulate: the whole learning loop on a simulated world, week by week, with its checks (issue 16,
# docs/followups.md); workspaces under simulate/ (gitignored)
.PHONY: simulate
SIM_WEEKS ?= 26
SIM_SEEDS ?= 1,2,3
simulate: $(VENV)/.installed  ## 26 simulated weeks, planted and null worlds: follow-ups, reverts, exploration checked
	$(STEP).simulate --dir simulate --weeks $(SIM_WEEKS) --seeds $(SIM_SEEDS)
