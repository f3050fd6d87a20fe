-- What backfill last did per account. Its fingerprint (output folders, posts, config, backfill
-- code and settings) lets a rerun with nothing new skip the account without reading a folder.
CREATE TABLE IF NOT EXISTS backfill_runs (
    account_name TEXT PRIMARY KEY,
    fingerprint TEXT,                    -- NULL after a run with problems: the next run redoes it
    folders INTEGER NOT NULL,            -- generator folders read
    folders_skipped INTEGER NOT NULL,    -- folders with malformed JSON (reported, not used)
    posts INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    changed INTEGER NOT NULL,            -- posts whose backfill columns this run changed
    run_at TEXT NOT NULL
);
