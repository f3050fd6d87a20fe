-- Followers per account and platform per scrape day, with the change since the previous scrape.
SELECT account_name, platform, scraped_at, followers,
       followers - LAG(followers) OVER (PARTITION BY account_name, platform ORDER BY scraped_at)
           AS followers_change
FROM profile_snapshots
