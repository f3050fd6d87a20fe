-- Follower counts per scrape, so growth is tracked.
CREATE TABLE IF NOT EXISTS profile_snapshots (
    account_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    scraped_at TEXT NOT NULL,
    followers INTEGER,
    following INTEGER,
    likes_total INTEGER,
    posts_total INTEGER,
    PRIMARY KEY (account_name, platform, scraped_at)
);
