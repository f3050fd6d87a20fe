-- The design's view: every post with its latest snapshot. The latest snapshot is the one taken at the
-- post's last_seen_at: load stores a snapshot for every post of a file in the file's transaction and
-- keeps last_seen_at the latest of their scrape times (tests/test_load_at_age.py checks this against
-- the design's MAX(scraped_at) subquery). A lookup in the snapshots' (scraped_at, post_id) index,
-- where the subquery would scan the snapshots once per post; it is kept for a post whose
-- last_seen_at is unknown (a row edited by hand). CROSS JOIN keeps posts the outer loop: left to
-- choose, SQLite scans the million snapshots and looks each one's post up.
SELECT
    p.id, p.account_name, p.platform, p.post_id, p.post_url, p.topic, p.format,
    p.hook_text, p.hook_score, p.hook_style, p.cta, p.slide_count, p.media_slide_count,
    p.content_pillar, p.media_type, p.is_pinned, p.is_collab, p.published_at, p.published_local,
    ms.views, ms.plays, ms.likes, ms.comments, ms.shares, ms.saves, ms.reposts, ms.engagement_rate,
    ms.follower_rate, ms.scraped_at, round(ms.age_hours / 24.0, 2) AS age_days
FROM posts p
CROSS JOIN metrics_snapshots ms ON ms.post_id = p.post_id
    AND ms.scraped_at = coalesce(p.last_seen_at, (SELECT MAX(scraped_at) FROM metrics_snapshots WHERE post_id = p.post_id))
