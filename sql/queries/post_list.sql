-- title: Posts, newest first
-- description: Every post with its day-7 metrics (empty until it is 7 days old) and its latest metrics.
select pp.account_name, pp.platform, replace(substr(pp.published_local, 1, 16), 'T', ' ') as published, pp.format,
       pp.content_pillar, pp.hook_style, coalesce(pp.slide_count, pp.media_slide_count) as slides,
       d.views as views_d7, d.likes as likes_d7, round(100 * d.engagement_rate, 2) as engagement_pct_d7,
       pp.views, pp.likes, pp.saves, pp.shares, pp.age_days,
       coalesce(pp.hook_text, p.caption) as text, p.caption, pp.post_url, pp.post_id
from v_post_performance pp
join posts p on p.post_id = pp.post_id
left join v_metrics_at_age d on d.post_id = pp.post_id and d.age_day = 7
where :account = '' or pp.account_name = :account
order by pp.account_name, pp.published_at desc
