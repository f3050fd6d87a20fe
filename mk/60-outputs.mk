# outputs: terminal reports, Datasette, the self-contained HTML dashboard (issue 7)
.PHONY: report dashboard datasette
report: $(VENV)/.installed  ## terminal report (ACCOUNT=name or all; FOCUS=formats|pillars|failures|hooks|...)
	$(STEP).report --root $(ROOT) $(if $(ACCOUNT),--account $(ACCOUNT),--all) $(if $(FOCUS),--focus $(FOCUS))

dashboard: $(VENV)/.installed  ## data/dashboard/<account>.html and all.html
	$(call PIPELINE,$(DASHBOARD))

$(DASHBOARD): $(INSIGHTS) $(RECOMMEND_STAMP) scripts/dashboard.py
	$(call RUN_STEP,$(STEP).dashboard --root $(ROOT),dashboard)

datasette: $(VENV)/.installed  ## browse data/analytics.db with charts on http://127.0.0.1:8001
	$(VENV)/bin/datasette serve $(DB) --metadata metadata.yml --host 127.0.0.1 --port 8001
