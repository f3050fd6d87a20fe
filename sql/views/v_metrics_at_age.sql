-- Metrics at a fixed age (days 1, 3, 7, 14, 21, 30 after publishing): the first snapshot taken at or
-- after that age, if it was taken within 36 hours of it. Posts are compared at the same age.
WITH ages(age_day) AS (VALUES (1), (3), (7), (14), (21), (30)),
candidates AS (
    SELECT ms.*, a.age_day,
           ROW_NUMBER() OVER (PARTITION BY ms.post_id, a.age_day ORDER BY ms.age_hours) AS rank
    FROM metrics_snapshots ms
    JOIN ages a ON ms.age_hours >= a.age_day * 24 AND ms.age_hours < a.age_day * 24 + 36
)
SELECT p.account_name, p.platform, p.post_id, c.age_day, c.scraped_at, c.age_hours,
       c.views, c.plays, c.likes, c.comments, c.shares, c.saves, c.engagement_rate, c.follower_rate
FROM candidates c JOIN posts p ON p.post_id = c.post_id
WHERE c.rank = 1
