-- title: 'Timing: weekday and hour'
-- description: Day-7 metrics by local weekday and hour, best first; slots with fewer than 2 posts are left out as noise.
-- fragment: g.mark=circle&g.x_column=hour&g.x_type=quantitative&g.y_column=weekday&g.y_type=ordinal&g.size_column=avg_views_d7
select account_name, platform, substr('SunMonTueWedThuFriSat', 1 + 3 * weekday, 3) as weekday, hour,
       post_count as posts_d7, cast(round(avg_views_d7) as int) as avg_views_d7,
       round(100 * avg_engagement_rate_d7, 2) as engagement_pct_d7
from v_timing
where post_count >= 2 and (:account = '' or account_name = :account)
order by account_name, platform, avg_views_d7 desc
