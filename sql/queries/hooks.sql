-- title: Hook styles
-- description: Day-7 metrics by hook style.
-- fragment: g.mark=circle&g.x_column=hook_style&g.x_type=ordinal&g.y_column=avg_views_d7&g.y_type=quantitative&g.color_column=series
select account_name, platform, account_name || ' ' || platform as series, coalesce(hook_style, 'unmatched') as hook_style,
       post_count as posts_d7,
       cast(round(avg_views_d7) as int) as avg_views_d7,
       cast(round(avg_likes_d7) as int) as avg_likes_d7,
       round(avg_saves_d7, 1) as avg_saves_d7, round(avg_shares_d7, 1) as avg_shares_d7,
       round(100 * avg_engagement_rate_d7, 2) as engagement_pct_d7
from v_hook_style_comparison
where :account = '' or account_name = :account
order by account_name, platform, avg_views_d7 desc
