-- Day-7 metrics by local weekday (0 = Sunday) and hour of publishing, in the account's timezone.
SELECT account_name, platform,
       CAST(strftime('%w', published_local) AS INTEGER) AS weekday,
       CAST(strftime('%H', published_local) AS INTEGER) AS hour,
       COUNT(*) AS post_count,
       AVG(views) AS avg_views_d7,
       AVG(likes) AS avg_likes_d7,
       AVG(engagement_rate) AS avg_engagement_rate_d7
FROM v_post_day7
GROUP BY account_name, platform, weekday, hour
