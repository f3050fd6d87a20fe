-- One row per post per scrape. A metric the platform does not publish is NULL, never 0.
CREATE TABLE IF NOT EXISTS metrics_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id TEXT NOT NULL REFERENCES posts(post_id),
    scraped_at TEXT NOT NULL,            -- UTC ISO-8601
    age_hours REAL,                      -- scraped_at - published_at
    views INTEGER,                       -- TikTok playCount; Instagram videoViewCount (video only)
    plays INTEGER,                       -- Instagram videoPlayCount (video only)
    likes INTEGER,                       -- NULL where hidden (Instagram likesCount -1)
    comments INTEGER,
    shares INTEGER,                      -- TikTok only
    saves INTEGER,                       -- TikTok collectCount only
    engagement_rate REAL,                -- published interactions / views, only where views known
    follower_rate REAL,                  -- published interactions / followers at scrape time
    raw_file TEXT,                       -- the envelope this row came from
    UNIQUE (post_id, scraped_at)
);
-- UNIQUE (post_id, scraped_at) is already the index the views use; a second copy of it only
-- slowed every load (databases made before this line lose it here).
DROP INDEX IF EXISTS idx_snapshots_post_time;
