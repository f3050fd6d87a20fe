-- One row per applied recommendation and account: did the change work? Written by analyze, a copy
-- of data/insights/<account>.json's followups (the files are the truth; docs/followups.md), so
-- Datasette and the canned query `followups` can show them.
CREATE TABLE IF NOT EXISTS followups (
    account_name TEXT NOT NULL,
    recommendation TEXT NOT NULL,        -- the applied recommendation's id
    category TEXT,
    applied_at TEXT,                     -- UTC ISO-8601: posts generated from then on are "after"
    platform TEXT,
    lever TEXT,                          -- JSON object: what the change touched, e.g. {"format": "step_guide"}
    direction TEXT,                      -- favour | avoid
    metric TEXT,                         -- e.g. views_d7
    status TEXT NOT NULL,                -- waiting | worked | no_change | hurt
    confidence TEXT,                     -- medium at most: before/after is not randomised
    posts_before INTEGER,
    posts_after INTEGER,
    posts_needed INTEGER,                -- more posts since the change needed for a verdict
    effect REAL,                         -- lever posts vs the account's other posts since the change
    ci_low REAL,
    ci_high REAL,
    control TEXT,
    reverted_by TEXT,                    -- the revert that undid it, once applied
    claim TEXT,
    PRIMARY KEY (account_name, recommendation)
);
