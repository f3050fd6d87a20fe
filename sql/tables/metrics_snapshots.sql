-- One row per post per scrape. An unknown metric is NULL, never 0, and `missing` says why
-- (v_missing_metrics lists them one per row).
CREATE TABLE IF NOT EXISTS metrics_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id TEXT NOT NULL REFERENCES posts(post_id),
    scraped_at TEXT NOT NULL,            -- UTC ISO-8601
    age_hours REAL,                      -- scraped_at - published_at
    views INTEGER,                       -- TikTok playCount; Instagram videoViewCount (video only)
    plays INTEGER,                       -- Instagram videoPlayCount (video only)
    likes INTEGER,                       -- NULL where hidden (Instagram likesCount -1)
    comments INTEGER,
    shares INTEGER,                      -- TikTok shareCount; Instagram sharesCount (reel scraper add-on)
    saves INTEGER,                       -- TikTok collectCount only
    reposts INTEGER,                     -- TikTok repostCount (some actors only)
    -- metric -> why it is NULL, a JSON object such as {"views": "not_delivered", "saves": "not_published"}:
    -- not_published (the platform shows none), not_delivered (this source's item did not carry it),
    -- hidden (the owner hid it), unfilled (a field left 0 that cannot be 0), invalid (not a count).
    -- NULL when every metric is known; also NULL on rows loaded before this column (make reload fills it).
    -- One column of the row, not a table: no extra rows or statements per snapshot at load.
    missing TEXT,
    engagement_rate REAL,                -- published interactions / views, only where views known
    follower_rate REAL,                  -- published interactions / followers at scrape time
    raw_file TEXT,                       -- the envelope this row came from
    -- Scrape time first: a raw file's snapshots share it, so each file adds its rows to one or two
    -- pages of this index. Led by post_id, as until issue 18 (and in databases loaded before it, until
    -- make reload), every post of a file touched its own page: 40 of the 87 pages a file's commit
    -- wrote, and load took 1.8 times as long at 50 accounts (docs/bench.md, run 18). A post's latest
    -- snapshot is found through posts.last_seen_at (v_post_performance), its metrics at an age in
    -- metrics_at_age; a post's whole history is read in full only by hand (Datasette).
    UNIQUE (scraped_at, post_id)
);
-- A second index on (post_id, scraped_at) only slowed every load (databases made before this line
-- lose it here).
DROP INDEX IF EXISTS idx_snapshots_post_time;

-- Metrics at fixed ages after publishing: each age's first snapshot taken at or after it, if taken
-- within 36 hours of it, so posts are compared at the same age (v_metrics_at_age, v_post_day7).
-- Kept up to date as snapshots arrive, instead of being searched for among all snapshots on every
-- read: over a year of 50 accounts (a million snapshots) that search was a quarter of the
-- analyzer's time (docs/bench.md).
CREATE TABLE IF NOT EXISTS metric_ages (
    age_day INTEGER PRIMARY KEY          -- days after publishing
);
INSERT OR IGNORE INTO metric_ages (age_day) VALUES (1), (3), (7), (14), (21), (30);

CREATE TABLE IF NOT EXISTS metrics_at_age (
    post_id TEXT NOT NULL,
    age_day INTEGER NOT NULL,            -- one of metric_ages
    scraped_at TEXT NOT NULL,            -- the snapshot's; the columns below are copied from it
    age_hours REAL NOT NULL,
    views INTEGER,
    plays INTEGER,
    likes INTEGER,
    comments INTEGER,
    shares INTEGER,
    saves INTEGER,
    engagement_rate REAL,
    follower_rate REAL,
    PRIMARY KEY (post_id, age_day)
) WITHOUT ROWID;

-- The rule as snapshots arrive: a new snapshot inside an age's window takes that age's row unless an
-- earlier snapshot holds it (snapshots are only ever added: the loader inserts with OR IGNORE and never
-- updates or deletes). The loader applies it once per raw file, to the snapshots that file's transaction
-- inserted, in one statement (scripts/store/load.py, AT_AGE_FROM_NEW_SNAPSHOTS); until issue 18 a trigger
-- applied it once per snapshot, a tenth of the loader's time. Databases made before lose the trigger here.
DROP TRIGGER IF EXISTS metrics_at_age_from_snapshot;

-- A database loaded before this table existed gets it filled once from its snapshots, by the same
-- rule ("first" is SQLite's bare-column rule: with one MIN() in a grouped query, the other columns
-- come from the row holding the minimum, https://sqlite.org/lang_select.html#bareagg).
INSERT INTO metrics_at_age (post_id, age_day, scraped_at, age_hours, views, plays, likes, comments, shares, saves,
                            engagement_rate, follower_rate)
SELECT ms.post_id, a.age_day, ms.scraped_at, MIN(ms.age_hours), ms.views, ms.plays, ms.likes, ms.comments,
       ms.shares, ms.saves, ms.engagement_rate, ms.follower_rate
FROM metrics_snapshots ms
JOIN metric_ages a ON ms.age_hours >= a.age_day * 24 AND ms.age_hours < a.age_day * 24 + 36
WHERE NOT EXISTS (SELECT 1 FROM metrics_at_age)
GROUP BY ms.post_id, a.age_day;
