-- Every NULL metric of every snapshot with its reason, one row each (from metrics_snapshots.missing):
-- not_published, not_delivered, hidden, unfilled or invalid (scripts/sources/normalize.py).
SELECT p.account_name, p.platform, ms.post_id, ms.scraped_at, m.key AS metric, m.value AS reason
FROM metrics_snapshots ms
JOIN posts p ON p.post_id = ms.post_id
JOIN json_each(ms.missing) m
WHERE ms.missing IS NOT NULL
