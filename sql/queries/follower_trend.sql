-- title: Follower trend by week
-- description: Followers at each week's last scrape and the growth in percent since the first scrape, so accounts of any size compare.
-- fragment: g.mark=line&g.x_column=day&g.x_type=temporal&g.y_column=growth_pct&g.y_type=quantitative&g.color_column=series
with g as (
  select account_name, platform, scraped_at, followers,
         first_value(followers) over (partition by account_name, platform order by scraped_at) as first_followers,
         row_number() over (partition by account_name, platform, date(scraped_at, '-6 days', 'weekday 1')
                            order by scraped_at desc) as newest_in_week
  from v_follower_growth
  where followers > 0 and (:account = '' or account_name = :account))
select account_name, platform, account_name || ' ' || platform as series, substr(scraped_at, 1, 10) as day, followers,
       round(100.0 * followers / first_followers - 100, 2) as growth_pct
from g
where newest_in_week = 1
order by account_name, platform, scraped_at
