-- title: Account overview
-- description: Posts, average views and engagement (latest snapshots) and followers, per platform.
-- fragment: g.mark=bar&g.x_column=account_name&g.x_type=ordinal&g.y_column=avg_views&g.y_type=quantitative&g.color_column=platform
select account_name, platform, total_posts as posts,
       cast(round(avg_views) as int) as avg_views,
       round(100 * avg_engagement_rate, 2) as engagement_pct,
       total_views, best_views, followers
from v_account_summary
where :account = '' or account_name = :account
order by account_name, platform
