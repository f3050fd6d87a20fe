-- Every recommendation file's fate, mirrored from recommendations/<state>/ by recommend and apply.
CREATE TABLE IF NOT EXISTS recommendations (
    id TEXT PRIMARY KEY,                 -- the file's "id"
    account_name TEXT NOT NULL,
    created_at TEXT,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | approved | applied | rejected
    category TEXT NOT NULL,
    insight TEXT NOT NULL,
    proposed_change TEXT NOT NULL,       -- the JSON patch
    confidence TEXT DEFAULT 'medium',
    source TEXT,
    finding_id TEXT,
    file TEXT,
    approved_at TEXT
);
