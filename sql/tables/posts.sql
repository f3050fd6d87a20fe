-- One row per published post. Columns are owned by the step that writes them:
-- load (platform facts), backfill (generation metadata and text classes).
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_name TEXT NOT NULL,
    platform TEXT NOT NULL,              -- tiktok | instagram
    post_id TEXT NOT NULL UNIQUE,        -- TikTok id, Instagram shortCode
    post_url TEXT,
    caption TEXT,
    media_type TEXT,                     -- video | slideshow | image | carousel
    media_slide_count INTEGER,           -- slides seen in the platform item (load)
    is_pinned INTEGER NOT NULL DEFAULT 0,
    published_at TEXT,                   -- UTC ISO-8601, 'YYYY-MM-DDTHH:MM:SSZ'
    published_local TEXT,                -- same instant in the account's timezone, no offset
    first_seen_at TEXT,
    last_seen_at TEXT,
    -- backfill
    topic TEXT,
    format TEXT,
    hook_text TEXT,
    hook_score REAL,
    slide_count INTEGER,
    content_pillar TEXT,
    hook_style TEXT,
    cta TEXT,
    output_folder TEXT,                  -- generator folder matched, relative to the account
    match_score REAL,
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_posts_account ON posts (account_name, platform, published_at);
