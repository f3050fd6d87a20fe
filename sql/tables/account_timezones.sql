-- The timezone each account's posts.published_local was computed in (accounts/<name>/config.yml);
-- when the config's timezone changes, load recomputes that account's local times.
CREATE TABLE IF NOT EXISTS account_timezones (
    account_name TEXT PRIMARY KEY,
    timezone TEXT NOT NULL
);
