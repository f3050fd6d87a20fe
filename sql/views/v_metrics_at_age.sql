-- Metrics at a fixed age (metric_ages: days 1, 3, 7, 14, 21, 30 after publishing): the first
-- snapshot taken at or after that age, if it was taken within 36 hours of it. Posts are compared
-- at the same age. The rows are kept by a trigger on metrics_snapshots (sql/tables/metrics_snapshots.sql).
SELECT p.account_name, p.platform, m.post_id, m.age_day, m.scraped_at, m.age_hours,
       m.views, m.plays, m.likes, m.comments, m.shares, m.saves, m.engagement_rate, m.follower_rate
FROM metrics_at_age m
JOIN posts p ON p.post_id = m.post_id
