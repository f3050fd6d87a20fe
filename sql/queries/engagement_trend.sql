-- title: Engagement trend by week
-- description: Mean engagement rate at day 7 (interactions per view) by local publishing week (Monday), with the week's average views and likes at day 7; one line per account and platform (series), so every account can be charted at once.
-- fragment: g.mark=line&g.x_column=week&g.x_type=temporal&g.y_column=engagement_pct_d7&g.y_type=quantitative&g.color_column=series
select account_name, platform, account_name || ' ' || platform as series, date(coalesce(published_local, published_at), '-6 days', 'weekday 1') as week,
       count(*) as posts_d7, round(100 * avg(engagement_rate), 2) as engagement_pct_d7,
       cast(round(avg(views)) as int) as avg_views_d7, cast(round(avg(likes)) as int) as avg_likes_d7
from v_post_day7
where :account = '' or account_name = :account
group by account_name, platform, week
order by account_name, platform, week
