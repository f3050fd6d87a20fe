-- title: Save vs share by call to action (TikTok)
-- description: Saves and shares per 1,000 views at day 7, by the caption's call to action.
-- fragment: g.mark=circle&g.x_column=cta&g.x_type=ordinal&g.y_column=saves_per_1k_views&g.y_type=quantitative&g.color_column=account_name
select account_name, cta, post_count as posts_d7,
       round(1000 * avg_saves_d7 / avg_views_d7, 2) as saves_per_1k_views,
       round(1000 * avg_shares_d7 / avg_views_d7, 2) as shares_per_1k_views
from v_cta_comparison
where platform = 'tiktok' and avg_views_d7 > 0 and (:account = '' or account_name = :account)
order by account_name, saves_per_1k_views desc
