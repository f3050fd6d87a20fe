-- The design's account summary, per platform, with the latest follower count.
SELECT
    pp.account_name, pp.platform,
    COUNT(*) AS total_posts,
    AVG(pp.views) AS avg_views,
    AVG(pp.engagement_rate) AS avg_engagement_rate,
    SUM(pp.views) AS total_views,
    MAX(pp.views) AS best_views,
    (SELECT followers FROM profile_snapshots ps
      WHERE ps.account_name = pp.account_name AND ps.platform = pp.platform
      ORDER BY ps.scraped_at DESC LIMIT 1) AS followers
FROM v_post_performance pp
GROUP BY pp.account_name, pp.platform
