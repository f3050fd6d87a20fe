-- title: Slide count
-- description: Day-7 metrics by number of slides.
-- fragment: g.mark=line&g.x_column=slide_count&g.x_type=quantitative&g.y_column=avg_views_d7&g.y_type=quantitative&g.color_column=series
select account_name, platform, account_name || ' ' || platform as series, slide_count, post_count as posts_d7,
       cast(round(avg_views_d7) as int) as avg_views_d7,
       cast(round(avg_likes_d7) as int) as avg_likes_d7,
       round(avg_saves_d7, 1) as avg_saves_d7, round(avg_shares_d7, 1) as avg_shares_d7,
       round(100 * avg_engagement_rate_d7, 2) as engagement_pct_d7
from v_slide_count_comparison
where :account = '' or account_name = :account
order by account_name, platform, slide_count
