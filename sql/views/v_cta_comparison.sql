-- Day-7 (age-matched) metrics by cta, per account and platform: one dimension of v_day7_comparison.
SELECT account_name, platform, level AS cta,
       post_count, avg_views_d7, avg_likes_d7, avg_saves_d7, avg_shares_d7, avg_engagement_rate_d7
FROM v_day7_comparison
WHERE dimension = 'cta'
