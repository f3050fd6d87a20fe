-- title: Save vs share by format (TikTok)
-- description: Saves and shares per 1,000 views at day 7, by format. Instagram publishes neither.
-- fragment: g.mark=circle&g.x_column=saves_per_1k_views&g.x_type=quantitative&g.y_column=shares_per_1k_views&g.y_type=quantitative&g.color_column=format
select account_name, coalesce(format, 'unmatched') as format, count(*) as posts_d7,
       round(1000.0 * sum(saves) / sum(views), 2) as saves_per_1k_views,
       round(1000.0 * sum(shares) / sum(views), 2) as shares_per_1k_views,
       round(1.0 * sum(saves) / nullif(sum(shares), 0), 2) as saves_per_share
from v_post_day7
where platform = 'tiktok' and views > 0 and saves is not null and shares is not null
  and (:account = '' or account_name = :account)
group by account_name, format
order by account_name, saves_per_1k_views desc
