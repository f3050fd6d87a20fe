-- The design's format comparison, per platform (metrics differ by platform). AVG skips NULLs,
-- so an unpublished metric is never averaged as zero.
SELECT
    account_name, platform, format,
    COUNT(*) AS post_count,
    AVG(views) AS avg_views,
    AVG(likes) AS avg_likes,
    AVG(saves) AS avg_saves,
    AVG(engagement_rate) AS avg_engagement_rate
FROM v_post_performance
GROUP BY account_name, platform, format
