-- title: Pillar by format at day 7
-- description: Average day-7 views (TikTok) or likes (Instagram, which publishes no views for carousels) for each pillar and format.
-- fragment: g.mark=circle&g.x_column=format&g.x_type=ordinal&g.y_column=content_pillar&g.y_type=ordinal&g.size_column=avg_metric_d7&g.color_column=series
select account_name, platform, account_name || ' ' || platform as series, content_pillar, format, count(*) as posts_d7,
       case platform when 'tiktok' then 'views' else 'likes' end as metric,
       cast(round(avg(case platform when 'tiktok' then views else likes end)) as int) as avg_metric_d7
from v_post_day7
where content_pillar is not null and format is not null and (:account = '' or account_name = :account)
group by account_name, platform, content_pillar, format
order by account_name, platform, content_pillar, format
