-- Every post that has reached day 7 with its day-7 metrics and its generation metadata:
-- the age-matched table that comparisons across formats, pillars and hooks start from.
SELECT p.account_name, p.platform, p.post_id, p.post_url, p.published_at, p.published_local,
       p.topic, p.format, p.content_pillar, p.hook_style, p.cta, p.hook_text, p.hook_score,
       coalesce(p.slide_count, p.media_slide_count) AS slide_count, p.media_type, p.is_collab,
       m.views, m.plays, m.likes, m.comments, m.shares, m.saves, m.engagement_rate, m.follower_rate
FROM posts p
JOIN metrics_at_age m ON m.post_id = p.post_id AND m.age_day = 7
