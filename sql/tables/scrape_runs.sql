-- One row per actor run per account (from each envelope's "source"): cost and audit trail.
CREATE TABLE IF NOT EXISTS scrape_runs (
    raw_file TEXT PRIMARY KEY,
    account_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    scraped_at TEXT NOT NULL,
    actor TEXT,
    run_id TEXT,
    dataset_id TEXT,
    status TEXT,
    item_count INTEGER,
    new_posts INTEGER,
    usage_total_usd REAL,
    charged_events TEXT                  -- JSON object, event name -> count
);
