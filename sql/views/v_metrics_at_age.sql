-- Metrics at a fixed age (days 1, 3, 7, 14, 21, 30 after publishing): the first snapshot taken at or
-- after that age, if it was taken within 36 hours of it. Posts are compared at the same age.
-- "First" is SQLite's bare-column rule: with one MIN() in a grouped query, the other columns come
-- from the row holding the minimum (https://sqlite.org/lang_select.html#bareagg). Twice as fast
-- as a ROW_NUMBER() window on a year of snapshots, with the same rows (one age_hours per scrape).
WITH ages(age_day) AS (VALUES (1), (3), (7), (14), (21), (30)),
firsts AS (
    SELECT ms.post_id, a.age_day, ms.scraped_at, MIN(ms.age_hours) AS age_hours,
           ms.views, ms.plays, ms.likes, ms.comments, ms.shares, ms.saves, ms.engagement_rate, ms.follower_rate
    FROM metrics_snapshots ms
    JOIN ages a ON ms.age_hours >= a.age_day * 24 AND ms.age_hours < a.age_day * 24 + 36
    GROUP BY ms.post_id, a.age_day
)
SELECT p.account_name, p.platform, p.post_id, f.age_day, f.scraped_at, f.age_hours,
       f.views, f.plays, f.likes, f.comments, f.shares, f.saves, f.engagement_rate, f.follower_rate
FROM firsts f JOIN posts p ON p.post_id = f.post_id
