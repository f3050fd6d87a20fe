-- title: 'Timing: weekday and hour'
-- description: Day-7 metrics by local weekday and hour, most day-7 likes first (likes are known on both platforms unless the owner hides them; views only for TikTok and Instagram videos); slots with fewer than 2 posts are left out as noise. These are averages, not the analyzer's adjusted comparison (make report FOCUS=timing shows that below).
-- fragment: g.mark=circle&g.x_column=hour&g.x_type=quantitative&g.y_column=weekday&g.y_type=ordinal&g.size_column=avg_likes_d7&g.color_column=series
select account_name, platform, account_name || ' ' || platform as series, substr('SunMonTueWedThuFriSat', 1 + 3 * weekday, 3) as weekday, hour,
       post_count as posts_d7, cast(round(avg_likes_d7) as int) as avg_likes_d7,
       cast(round(avg_views_d7) as int) as avg_views_d7,
       round(100 * avg_engagement_rate_d7, 2) as engagement_pct_d7
from v_timing
where post_count >= 2 and (:account = '' or account_name = :account)
order by account_name, platform, avg_likes_d7 desc nulls last, avg_views_d7 desc nulls last
