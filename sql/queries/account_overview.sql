-- title: Account overview
-- description: Posts, average views and engagement (latest snapshots) and followers, per platform. Views are known only for the posts counted in posts_with_views (on Instagram, its videos), so avg_views is the average of those posts, not of every post.
-- fragment: g.mark=bar&g.x_column=series&g.x_type=ordinal&g.y_column=followers&g.y_type=quantitative&g.color_column=platform
select account_name, platform, account_name || ' ' || platform as series, total_posts as posts,
       (select count(pp.views) from v_post_performance pp
         where pp.account_name = s.account_name and pp.platform = s.platform) as posts_with_views,
       cast(round(avg_views) as int) as avg_views,
       round(100 * avg_engagement_rate, 2) as engagement_pct,
       total_views, best_views, followers
from v_account_summary s
where :account = '' or account_name = :account
order by account_name, platform
