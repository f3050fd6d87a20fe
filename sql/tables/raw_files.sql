-- Which envelopes are loaded; lets load skip unchanged files without reading them.
CREATE TABLE IF NOT EXISTS raw_files (
    path TEXT PRIMARY KEY,               -- relative to the workspace root
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    account_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    scraped_at TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    not_stored TEXT,                     -- JSON object, reason -> items of the file not stored as posts
    loaded_at TEXT NOT NULL
);
-- a second file for the same scrape is refused (load), which looks the scrape up here
CREATE INDEX IF NOT EXISTS raw_files_scrape ON raw_files (account_name, platform, scraped_at);
