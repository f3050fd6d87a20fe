-- title: Formats
-- description: Per format, the design's averages over the latest snapshots and the average views at day 7 (age-matched).
-- fragment: g.mark=circle&g.x_column=format&g.x_type=ordinal&g.y_column=avg_views_d7&g.y_type=quantitative&g.color_column=series
select f.account_name, f.platform, f.account_name || ' ' || f.platform as series,
       coalesce(f.format, 'unmatched') as format, f.post_count as posts,
       cast(round(f.avg_views) as int) as avg_views,
       cast(round(f.avg_likes) as int) as avg_likes,
       cast(round(f.avg_saves) as int) as avg_saves,
       round(100 * f.avg_engagement_rate, 2) as engagement_pct,
       d.posts_d7, cast(round(d.avg_views_d7) as int) as avg_views_d7
from v_format_comparison f
left join (select account_name, platform, format, count(*) as posts_d7, avg(views) as avg_views_d7
           from v_post_day7 group by account_name, platform, format) d
  on d.account_name = f.account_name and d.platform = f.platform and d.format is f.format
where :account = '' or f.account_name = :account
order by f.account_name, f.platform, d.avg_views_d7 desc
