-- Day-7 (age-matched) metrics per account and platform by one post attribute at a time, in long
-- format: `dimension` names the attribute, `level` holds its value; each v_<dimension>_comparison
-- view selects one dimension. One GROUP BY per dimension joined by UNION ALL, rather than a CASE over
-- a cross join with the list of dimensions: SQLite pushes `WHERE dimension = ...` into every arm and
-- skips the arms it rules out, so a one-dimension view costs what its own GROUP BY did (the CASE form
-- measured ~20 % slower). A new dimension is one more arm here and one thin view.
SELECT account_name, platform, 'content_pillar' AS dimension, content_pillar AS level,
       COUNT(*) AS post_count,
       AVG(views) AS avg_views_d7,
       AVG(likes) AS avg_likes_d7,
       AVG(saves) AS avg_saves_d7,
       AVG(shares) AS avg_shares_d7,
       AVG(engagement_rate) AS avg_engagement_rate_d7
FROM v_post_day7 GROUP BY account_name, platform, content_pillar
-- the other arms take their column names from the first, in the same order
UNION ALL
SELECT account_name, platform, 'hook_style', hook_style,
       COUNT(*), AVG(views), AVG(likes), AVG(saves), AVG(shares), AVG(engagement_rate)
FROM v_post_day7 GROUP BY account_name, platform, hook_style
UNION ALL
SELECT account_name, platform, 'cta', cta,
       COUNT(*), AVG(views), AVG(likes), AVG(saves), AVG(shares), AVG(engagement_rate)
FROM v_post_day7 GROUP BY account_name, platform, cta
UNION ALL
SELECT account_name, platform, 'slide_count', slide_count,
       COUNT(*), AVG(views), AVG(likes), AVG(saves), AVG(shares), AVG(engagement_rate)
FROM v_post_day7 GROUP BY account_name, platform, slide_count
