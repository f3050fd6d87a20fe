-- title: Save vs share, post by post (TikTok)
-- description: Every TikTok post's saves and shares per 1,000 views at day 7.
-- fragment: g.mark=circle&g.x_column=saves_per_1k_views&g.x_type=quantitative&g.y_column=shares_per_1k_views&g.y_type=quantitative&g.color_column=format
select account_name, post_id, substr(published_local, 1, 10) as published, coalesce(format, 'unmatched') as format, cta,
       views as views_d7,
       round(1000.0 * saves / views, 2) as saves_per_1k_views,
       round(1000.0 * shares / views, 2) as shares_per_1k_views, hook_text
from v_post_day7
where platform = 'tiktok' and views > 0 and saves is not null and shares is not null
  and (:account = '' or account_name = :account)
order by account_name, published
