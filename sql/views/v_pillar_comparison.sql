-- Day-7 (age-matched) metrics by content_pillar, per account and platform.
SELECT account_name, platform, content_pillar,
       COUNT(*) AS post_count,
       AVG(views) AS avg_views_d7,
       AVG(likes) AS avg_likes_d7,
       AVG(saves) AS avg_saves_d7,
       AVG(shares) AS avg_shares_d7,
       AVG(engagement_rate) AS avg_engagement_rate_d7
FROM v_post_day7
GROUP BY account_name, platform, content_pillar
