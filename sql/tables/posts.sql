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
    is_collab INTEGER NOT NULL DEFAULT 0, -- 1: a collab (coauthorProducers), at the latest scrape; kept out of
                                         -- the lever comparisons (another account's audience saw it)
    owner_username TEXT,                 -- the item's owner, lower case: another account's for a collab
    duration_s REAL,                     -- video length in seconds (TikTok milliseconds detected per file)
    music_id TEXT,                       -- TikTok musicMeta.musicId, Instagram musicInfo.audio_id
    music_name TEXT,                     -- musicMeta.musicName, musicInfo.song_name
    music_original INTEGER,              -- 1 original sound, 0 not, NULL unknown
    hashtags TEXT,                       -- JSON array of hashtag names; NULL when the item lists none
    product_type TEXT,                   -- Instagram productType (clips, feed, carousel_container)
    is_ad INTEGER,                       -- TikTok isAd; NULL unknown (a missing flag is not false)
    is_sponsored INTEGER,                -- TikTok isSponsored, Instagram isSponsored or paidPartnership
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
