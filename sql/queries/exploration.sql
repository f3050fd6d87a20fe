-- title: 'Exploration: how often each format is used'
-- description: Share of posts per format, posts in the last 30 days and days since the last one (counted from the latest scrape).
-- fragment: g.mark=circle&g.x_column=format&g.x_type=ordinal&g.y_column=pct_of_posts&g.y_type=quantitative&g.color_column=series
with latest as (select account_name, platform, max(scraped_at) as scraped_at
                from v_post_performance group by account_name, platform)
select p.account_name, p.platform, p.account_name || ' ' || p.platform as series, p.format, count(*) as posts,
       round(100.0 * count(*) / sum(count(*)) over (partition by p.account_name, p.platform), 1)
         as pct_of_posts,
       sum(julianday(p.published_at) >= julianday(l.scraped_at) - 30) as posts_last_30d,
       round(julianday(l.scraped_at) - julianday(max(p.published_at)), 1) as days_since_last
from v_post_performance p
join latest l on l.account_name = p.account_name and l.platform = p.platform
where :account = '' or p.account_name = :account
group by p.account_name, p.platform, p.format
order by p.account_name, p.platform, posts desc
