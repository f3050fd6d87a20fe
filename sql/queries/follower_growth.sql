-- title: Follower growth
-- description: Followers at the latest scrape and the change over the previous 7 and 30 days.
-- fragment: g.mark=bar&g.x_column=series&g.x_type=ordinal&g.y_column=change_30d&g.y_type=quantitative&g.color_column=platform
with g as (select * from v_follower_growth
           where followers is not null and (:account = '' or account_name = :account)),
latest as (select account_name, platform, max(scraped_at) as scraped_at from g group by account_name, platform)
select l.account_name, l.platform, l.account_name || ' ' || l.platform as series, substr(l.scraped_at, 1, 10) as latest_scrape,
       (select followers from g where g.account_name = l.account_name and g.platform = l.platform
          and g.scraped_at = l.scraped_at) as followers,
       (select followers from g where g.account_name = l.account_name and g.platform = l.platform
          and g.scraped_at = l.scraped_at)
       - (select followers from g where g.account_name = l.account_name and g.platform = l.platform
          and julianday(g.scraped_at) <= julianday(l.scraped_at) - 7 order by g.scraped_at desc limit 1)
         as change_7d,
       (select followers from g where g.account_name = l.account_name and g.platform = l.platform
          and g.scraped_at = l.scraped_at)
       - (select followers from g where g.account_name = l.account_name and g.platform = l.platform
          and julianday(g.scraped_at) <= julianday(l.scraped_at) - 30 order by g.scraped_at desc limit 1)
         as change_30d
from latest l
order by l.account_name, l.platform
