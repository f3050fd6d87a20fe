-- The design's view: every post with its latest snapshot.
SELECT
    p.id, p.account_name, p.platform, p.post_id, p.post_url, p.topic, p.format,
    p.hook_text, p.hook_score, p.hook_style, p.cta, p.slide_count, p.media_slide_count,
    p.content_pillar, p.media_type, p.is_pinned, p.is_collab, p.published_at, p.published_local,
    ms.views, ms.plays, ms.likes, ms.comments, ms.shares, ms.saves, ms.reposts, ms.engagement_rate,
    ms.follower_rate, ms.scraped_at, round(ms.age_hours / 24.0, 2) AS age_days
FROM posts p
JOIN metrics_snapshots ms ON p.post_id = ms.post_id
WHERE ms.scraped_at = (
    SELECT MAX(scraped_at) FROM metrics_snapshots WHERE post_id = p.post_id
)
